public import FloeEncoding
public import FloeProtocol

/// Everything a proxy is: where its object lives and how to call it. A value; the `ice_*`
/// factories return modified copies.
public struct ProxyReference: Sendable, Hashable {
    /// The communicator that invocations go through (not part of equality).
    public let communicator: Communicator
    public var data: ProxyData
    /// Added to every request, under the per-call context.
    public var context: Context
    /// Milliseconds; -1 waits forever; nil takes the communicator's default
    /// (`Ice.Default.InvocationTimeout`).
    public var invocationTimeout: Int?
    /// Overrides the endpoints' compression flag when set.
    public var compress: Bool?
    /// The locator that resolves this proxy when it is indirect (nil: the communicator's default).
    public var locator: ProxyData?
    /// The router every invocation goes through (`ice_router`; Glacier2's, for instance), which
    /// forwards it to the proxy's object; nil: none. Starts as the communicator's
    /// `Ice.Default.Router`, as in Ice.
    public var router: ProxyData? {
        get { routerInfo?.router }
        set { routerInfo = newValue.map { communicator.routerInfo($0) } }
    }
    /// The router as the communicator knows it: one reference, so that copying a proxy's
    /// reference (every call does) retains one object more, not a proxy's worth of fields.
    var routerInfo: RouterInfo?
    /// Whether invocations go as udp datagrams (`ice_datagram`, `ice_batchDatagram`).
    var isDatagram: Bool { data.mode == .datagram || data.mode == .batchDatagram }
    /// Seconds this proxy reuses a locator's answer (nil: `Ice.Default.LocatorCacheTimeout`).
    public var locatorCacheTimeout: Int?
    /// The connection every invocation uses (`ice_fixed`): no endpoints, no reconnection.
    public var fixedConnection: (any Connection)?
    public var endpointSelection: EndpointSelection
    /// Whether a proxy that is not secure tries ssl and wss endpoints before the others
    /// (`ice_preferSecure`; `Ice.Default.PreferSecure`, false: plain ones first, as in Ice).
    public var preferSecure: Bool
    /// False: every invocation chooses an endpoint anew (`ice_connectionCached(false)`), so
    /// calls spread over a replica group's endpoints instead of staying on one connection.
    public var connectionCached = true
    /// Proxies with different connection ids never share a connection (`ice_connectionId`).
    public var connectionId = ""
    /// Run around this proxy's invocations, after the communicator's (not part of equality).
    public var interceptors: [any ClientInterceptor] = []

    public init(
        communicator: Communicator, data: ProxyData, context: Context = [:], invocationTimeout: Int? = nil,
        compress: Bool? = nil, fixedConnection: (any Connection)? = nil
    ) {
        self.fixedConnection = fixedConnection
        self.endpointSelection = communicator.defaultEndpointSelection
        self.preferSecure = communicator.connectionOptions.preferSecure
        self.communicator = communicator
        self.data = data
        self.context = context
        self.invocationTimeout = invocationTimeout
        self.compress = compress
        self.routerInfo = communicator.defaultRouterInfo
    }

    public static func == (a: ProxyReference, b: ProxyReference) -> Bool {
        a.communicator === b.communicator && a.data == b.data && a.context == b.context
            && a.invocationTimeout == b.invocationTimeout && a.compress == b.compress && a.locator == b.locator
            && a.fixedConnection === b.fixedConnection && a.endpointSelection == b.endpointSelection
            && a.preferSecure == b.preferSecure
            && a.locatorCacheTimeout == b.locatorCacheTimeout && a.connectionCached == b.connectionCached
            && a.connectionId == b.connectionId && a.routerInfo === b.routerInfo
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(data)
        hasher.combine(context)
    }
}

/// The order in which a proxy tries its endpoints when it needs a new connection.
public enum EndpointSelection: String, Sendable {
    /// A random order for every new connection, spreading clients over replicas.
    case random = "Random"
    /// The order of the proxy's endpoints, for fail-over to backups.
    case ordered = "Ordered"
}

extension ProxyReference {
    /// The context a request carries, as Ice builds it: the per-call context when the call
    /// gives one (it replaces the proxy's, not merged with it), else the proxy's; the
    /// communicator's implicit context fills in keys that has none of.
    func requestContext(_ perCall: Context?) -> Context {
        let explicit = perCall ?? context
        guard let implicit = communicator.implicitContext else { return explicit }
        return implicit.combined(with: explicit)
    }
}
