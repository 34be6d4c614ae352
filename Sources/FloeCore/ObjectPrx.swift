public import FloeEncoding
public import FloeProtocol

/// A proxy: a typed, immutable handle to an Ice object, possibly in another process.
/// Generated `XPrx` protocols refine it; their implementations hold only a `ProxyReference`.
public protocol ObjectPrx: Sendable, CustomStringConvertible {
    var _reference: ProxyReference { get }
    init(_reference: ProxyReference)
}

extension ObjectPrx {
    public var description: String { _reference.communicator.proxyToString(self) }

    public func ice_getCommunicator() -> Communicator { _reference.communicator }
    public func ice_getIdentity() -> Identity { _reference.data.identity }
    public func ice_getFacet() -> String { _reference.data.facet }
    public func ice_getContext() -> Context { _reference.context }
    public func ice_getAdapterId() -> String { _reference.data.adapterId }
    public func ice_getEndpoints() -> [EndpointData] { _reference.data.endpoints }
    public func ice_getEncodingVersion() -> EncodingVersion { _reference.data.encodingVersion }
    /// The invocation timeout in milliseconds (the communicator's default unless set); -1: none.
    public func ice_getInvocationTimeout() -> Int {
        _reference.invocationTimeout ?? _reference.communicator.defaultInvocationTimeout
    }
    public var ice_isTwoway: Bool { _reference.data.mode == .twoway }
    public var ice_isOneway: Bool { _reference.data.mode == .oneway }
    public var ice_isBatchOneway: Bool { _reference.data.mode == .batchOneway }
    public var ice_isSecure: Bool { _reference.data.secure }
    public var ice_isDatagram: Bool { _reference.data.mode == .datagram }
    public var ice_isBatchDatagram: Bool { _reference.data.mode == .batchDatagram }
    /// The compression `ice_compress` set; nil when it did not (the endpoints' `-z` decides).
    public func ice_getCompress() -> Bool? { _reference.compress }
    /// The stringified proxy, as `description` (Ice's name for it).
    public func ice_toString() -> String { description }

    private func with(_ change: (inout ProxyReference) -> Void) -> Self {
        var reference = _reference
        change(&reference)
        return Self(_reference: reference)
    }

    /// A proxy for another object with the same settings; a typed proxy becomes `ObjectPrx`.
    public func ice_identity(_ identity: Identity) -> any ObjectPrx {
        ObjectPrxI(_reference: with { $0.data.identity = identity }._reference)
    }
    /// The same object's `facet`; a typed proxy becomes `ObjectPrx` (cast it again).
    public func ice_facet(_ facet: String) -> any ObjectPrx {
        ObjectPrxI(_reference: with { $0.data.facet = facet }._reference)
    }
    public func ice_context(_ context: Context) -> Self { with { $0.context = context } }
    /// A proxy whose invocations also run through `interceptors`, after the communicator's.
    public func ice_interceptors(_ interceptors: [any ClientInterceptor]) -> Self {
        with { $0.interceptors = interceptors }
    }
    public func ice_twoway() -> Self { with { $0.data.mode = .twoway } }
    public func ice_oneway() -> Self { with { $0.data.mode = .oneway } }
    public func ice_batchOneway() -> Self { with { $0.data.mode = .batchOneway } }
    public func ice_datagram() -> Self { with { $0.data.mode = .datagram } }
    public func ice_batchDatagram() -> Self { with { $0.data.mode = .batchDatagram } }
    public func ice_secure(_ secure: Bool) -> Self { with { $0.data.secure = secure } }
    public func ice_compress(_ compress: Bool) -> Self { with { $0.compress = compress } }
    public func ice_encodingVersion(_ version: EncodingVersion) -> Self { with { $0.data.encodingVersion = version } }
    /// A proxy whose calls fail with `invocationTimeout` after `milliseconds`; -1 (or any value
    /// below 1) waits forever, whatever the communicator's default.
    public func ice_invocationTimeout(_ milliseconds: Int) -> Self {
        with { $0.invocationTimeout = milliseconds > 0 ? milliseconds : -1 }
    }
    /// The same as a `Duration` (rounded up to whole milliseconds); nil waits forever.
    public func ice_invocationTimeout(_ timeout: Duration?) -> Self {
        guard let timeout, timeout > .zero else { return ice_invocationTimeout(-1) }
        return ice_invocationTimeout(Int(clamping: timeout.roundedUpMilliseconds))
    }
    /// An indirect proxy resolved through the locator by adapter id.
    public func ice_adapterId(_ id: String) -> Self {
        with {
            $0.data.adapterId = id
            $0.data.endpoints = []
        }
    }
    /// The locator that resolves this proxy when it is indirect; nil restores the default.
    /// Calls to the locator go with the settings configured for it (`Ice.Default.Locator.*`,
    /// `NAME.Locator.*`, `setDefaultLocator`), not `locator`'s own: a proxy keeps where its
    /// locator is, not how to call it (ZeroC keeps both).
    public func ice_locator(_ locator: (any ObjectPrx)?) -> Self { with { $0.locator = locator?._reference.data } }
    /// Seconds this proxy reuses what the locator answered: -1 forever, 0 never (each call asks).
    public func ice_locatorCacheTimeout(_ seconds: Int) -> Self { with { $0.locatorCacheTimeout = seconds } }
    public func ice_getLocatorCacheTimeout() -> Int {
        _reference.locatorCacheTimeout ?? _reference.communicator.defaultLocatorCacheTimeout
    }
    public func ice_getLocator() -> (any ObjectPrx)? {
        _reference.locator.map { ObjectPrxI(_reference: _reference.communicator.locatorReference($0)) }
    }

    /// A proxy whose invocations go through `router` (Glacier2's, for instance), which forwards
    /// them to this proxy's object; nil: straight to its endpoints. Ice's `ice_router`.
    /// Calls to the router go with the settings configured for it (`Ice.Default.Router.*`,
    /// `NAME.Router.*`, `createObjectAdapterWithRouter`), not `router`'s own, as `ice_locator`.
    public func ice_router(_ router: (any ObjectPrx)?) -> Self { with { $0.router = router?._reference.data } }
    public func ice_getRouter() -> (any ObjectPrx)? {
        _reference.router.map { ObjectPrxI(_reference: .unrouted($0, _reference.communicator)) }
    }

    /// A proxy whose invocations all go over `connection` (e.g. a callback to a client).
    public func ice_fixed(_ connection: any Connection) -> Self { with { $0.fixedConnection = connection } }
    public func ice_getFixedConnection() -> (any Connection)? { _reference.fixedConnection }
    /// Whether the proxy's invocations all go over one connection (`ice_fixed`).
    public var ice_isFixed: Bool { _reference.fixedConnection != nil }
    /// How a connection is chosen among several endpoints (`Ice.Default.EndpointSelection`).
    public func ice_endpointSelection(_ selection: EndpointSelection) -> Self {
        with { $0.endpointSelection = selection }
    }
    public func ice_getEndpointSelection() -> EndpointSelection { _reference.endpointSelection }
    /// true: a proxy that is not secure tries its ssl and wss endpoints before its tcp and ws
    /// ones, still falling back to them (`Ice.Default.PreferSecure`); a secure proxy uses only
    /// secure endpoints whatever this says.
    public func ice_preferSecure(_ prefer: Bool) -> Self { with { $0.preferSecure = prefer } }
    public var ice_isPreferSecure: Bool { _reference.preferSecure }
    /// false: each invocation chooses among the endpoints again (in the endpoint-selection
    /// order), reusing the communicator's connection to the one chosen, instead of staying on
    /// whichever endpoint already has a connection.
    public func ice_connectionCached(_ cached: Bool) -> Self { with { $0.connectionCached = cached } }
    public var ice_isConnectionCached: Bool { _reference.connectionCached }
    /// A proxy whose invocations use connections of their own, shared only with proxies of the
    /// same connection id (Ice's `ice_connectionId`): to keep one kind of traffic off another's
    /// connection, or to open several connections to one server.
    public func ice_connectionId(_ id: String) -> Self { with { $0.connectionId = id } }
    public func ice_getConnectionId() -> String { _reference.connectionId }

    /// The connection invocations on this proxy use, connecting if needed; within the proxy's
    /// invocation timeout, as a call.
    public func ice_getConnection() async throws -> any Connection {
        try await _reference.connectionWithinInvocationTimeout()
    }

    /// The connection this proxy's invocations would use now, without connecting; nil when
    /// there is none yet (or it closed).
    public func ice_getCachedConnection() -> (any Connection)? {
        _reference.communicator.cachedConnection(for: _reference)
    }

    /// A direct proxy with these endpoints.
    public func ice_endpoints(_ endpoints: [EndpointData]) -> Self {
        with {
            $0.data.endpoints = endpoints
            if !endpoints.isEmpty { $0.data.adapterId = "" }
        }
    }
    /// Sets the endpoint timeout on every tcp/ssl endpoint (milliseconds; Ice 3.7 peers honour it).
    public func ice_timeout(_ milliseconds: Int32) -> Self {
        with {
            $0.data.endpoints = $0.data.endpoints.map { endpoint in
                guard case .ip(var ip) = endpoint else { return endpoint }
                ip.timeout = milliseconds
                return .ip(ip)
            }
        }
    }

    public static func == (a: Self, b: Self) -> Bool { a._reference == b._reference }
}

/// The implementation behind untyped `ObjectPrx` values.
public struct ObjectPrxI: ObjectPrx {
    public let _reference: ProxyReference
    public init(_reference: ProxyReference) { self._reference = _reference }
}

/// Whether two proxies of any type designate the same object with the same settings.
public func == (a: any ObjectPrx, b: any ObjectPrx) -> Bool { a._reference == b._reference }
public func != (a: any ObjectPrx, b: any ObjectPrx) -> Bool { a._reference != b._reference }

extension OutputStream {
    /// Writes a proxy of any type, or the null proxy.
    public mutating func write(_ proxy: (any ObjectPrx)?) {
        write(proxy?._reference.data)
    }

    /// Writes an optional proxy with `tag` (FSize framing) when it is set.
    public mutating func write(tag: Int, _ proxy: (any ObjectPrx)?) {
        write(tag: tag, proxy?._reference.data)
    }
}

extension InputStream {
    /// Reads a proxy and binds it to the communicator this stream belongs to.
    public mutating func read<P: ObjectPrx>(proxy type: P.Type) throws -> P? {
        guard let data = try read(ProxyData.self) else { return nil }
        guard let communicator = owner as? Communicator else {
            throw LocalError(.marshal, "cannot decode a proxy: the stream has no communicator")
        }
        return P(_reference: ProxyReference(communicator: communicator, data: data))
    }

    /// Reads an optional proxy with `tag`.
    public mutating func read<P: ObjectPrx>(tag: Int, proxy type: P.Type) throws -> P? {
        guard try readOptional(tag: tag, format: .fSize) else { return nil }
        try skip(4)
        return try read(proxy: type)
    }

    /// Reads an `Object*`.
    public mutating func read(_: (any ObjectPrx).Type) throws -> (any ObjectPrx)? {
        try read(proxy: ObjectPrxI.self)
    }

    /// Reads an optional `Object*` with `tag`.
    public mutating func read(tag: Int, _: (any ObjectPrx).Type) throws -> (any ObjectPrx)? {
        try read(tag: tag, proxy: ObjectPrxI.self)
    }
}

extension Duration {
    /// Whole milliseconds, rounded up (a positive duration never becomes 0), clamped to
    /// `Int64.max` rather than overflowing.
    var roundedUpMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, overflowed) = whole.addingReportingOverflow(
            (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
        return overflowed ? .max : total
    }
}
