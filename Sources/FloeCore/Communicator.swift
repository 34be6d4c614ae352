public import FloeEncoding
import FloeProtocol
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import Synchronization

/// The root of a Floe runtime: creates object adapters and proxies, and carries invocations.
///
/// Until the TCP transport lands, invocations reach only objects hosted by this
/// communicator's own adapters (collocated calls), encoded exactly as on the wire.
public final class Communicator: Sendable {
    struct State {
        var adapters: [String: ObjectAdapter] = [:]
        var destroyed = false
        /// Connections by endpoint, shared by every proxy that reaches that endpoint; a
        /// pending connect is shared too.
        var connections: [ConnectionKey: ConnectTask] = [:]
        var isShutdown = false
        /// Set once shutdown has deactivated every adapter (or destroy ran): waiters return then.
        var shutdownDone = false
        /// Callers of `waitForShutdown()`, by token; the tokens of those cancelled before they
        /// could wait (see `ObjectAdapter.waitForDeactivate()`).
        var shutdownWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var cancelledShutdownWaiters: Set<Int> = []
        var nextShutdownWaiter = 0
        /// The one destruction every `destroy()` awaits.
        var destruction: Task<Void, Never>?
        /// Endpoints that refused a connection, and when (see `recentlyFailed`).
        var failedEndpoints: [IPEndpointData: ContinuousClock.Instant] = [:]
        /// Batch oneway requests of closed connections, for the next connection to the same
        /// place (see `Connection.takeUnsentBatch`).
        var unsentBatches: [ConnectionKey: (batch: UnsentBatch, since: ContinuousClock.Instant)] = [:]
        /// How long a kept batch waits for the next connection to its place, and how many
        /// places may have one (state, not constants, so that tests can shorten them).
        var unsentBatchLifetime: Duration = .seconds(300)
        var unsentBatchPlaces = 64
        /// The admin object, created once (see `getAdmin`), and its Process registration.
        var admin: Task<AdminObject?, any Error>?
        var processRegistration: Task<Void, any Error>?
        var processRegistered = false
    }

    let state = NIOLockedValueBox(State())
    /// Every open connection, for `abortConnections()`.
    package let liveConnections = LiveConnections()
    /// Whether `state.unsentBatches` has any: read without the lock on every connection lookup.
    let hasUnsentBatches = Atomic<Bool>(false)
    /// The admin object's category when `Ice.Admin.InstanceName` is not set: one per communicator.
    let adminInstanceName = ObjectAdapter.uuid()
    /// Creates the class instances and user exceptions that replies and requests carry.
    public let sliceLoader: any SliceLoader
    /// How deeply class graphs may nest when decoding (`Ice.ClassGraphDepthMax`); chains of
    /// references between instances may be ten times as long.
    public let classGraphDepthMax: Int

    /// The network transport; nil keeps this communicator to collocated calls.
    public let transport: (any Transport)?
    /// The largest message accepted from a peer, in bytes (`Ice.MessageSizeMax`, 1 MiB; 0 or
    /// less given: no limit, `Int32.max`).
    public let messageSizeMax: Int
    /// Milliseconds to wait for a reply when the proxy sets no timeout; -1 waits forever
    /// (`Ice.Default.InvocationTimeout`).
    public let defaultInvocationTimeout: Int
    /// Pauses before each automatic retry, in milliseconds (`Ice.RetryIntervals`, default one
    /// immediate retry; empty disables retries).
    public let retryIntervals: [Int]
    /// Idle handling, dispatch limits, connection establishment and tracing.
    public let connectionOptions: ConnectionOptions
    public var defaultEndpointSelection: EndpointSelection { connectionOptions.endpointSelection }
    /// The configuration this communicator was created from (empty when created directly), with
    /// the changes `setProperties` (or the `Properties` admin facet) made since.
    public var properties: Properties { liveProperties.withLockedValue { $0 } }
    private let liveProperties: NIOLockedValueBox<Properties>
    /// The configuration as given at creation. What Ice reads once, at start-up (IceSSL's
    /// settings), is read from this: through `setProperties` (the `Properties` admin facet, which
    /// a remote admin may call) it could otherwise be weakened before the first ssl connection.
    package let initialProperties: Properties
    private let propertiesUpdateCallbacks = NIOLockedValueBox<[@Sendable ([String: String]) -> Void]>([])
    /// Bounds the dispatches of all this communicator's connections together.
    public let dispatchGate: DispatchGate
    /// Caps the warnings peers cause (`Floe.Warn.PerSecond`).
    package let peerWarnings: WarningLimiter
    /// Where the communicator reports what the application should know (swift-log).
    public let logger: Logger
    /// Run around every invocation through this communicator, in order (see `ClientInterceptor`);
    /// with a tracer, a `TracingInterceptor` comes first.
    public let interceptors: [any ClientInterceptor]
    /// Where metrics and spans go (`Floe.Metrics`, `Floe.Tracing`).
    public let observability: Observability
    /// The transport's connection instruments, when metrics are on.
    public let connectionMetrics: ConnectionMetrics?
    /// The dispatch timers of all this communicator's adapters, when metrics are on (measured
    /// in `dispatchToReply`).
    let dispatchMetrics: CallMetrics?
    /// The invocation timers, when metrics are on (measured in `ProxyReference.send`'s caller).
    let invocationMetrics: CallMetrics?
    /// Entries added to every request (`Ice.ImplicitContext=Shared`), else nil.
    let implicitContext: ImplicitContext?
    /// The host of endpoints that name none, in proxies and adapters (`Ice.Default.Host`).
    /// Without it such a proxy reaches this machine and such an adapter listens everywhere.
    public let defaultHost: String?
    /// The `-t` of endpoints that give none, in proxies and adapters (`Ice.Default.Timeout`, ms;
    /// 60,000; -1 infinite): how long Floe waits to connect to them.
    public let defaultEndpointTimeout: Int32
    /// The local IP address outgoing connections bind to when their endpoint names none
    /// (`Ice.Default.SourceAddress`, as `--sourceAddress` does for one endpoint).
    public let defaultSourceAddress: String?
    /// The locator that resolves indirect proxies without one of their own (`Ice.Default.Locator`,
    /// or `setDefaultLocator`).
    public var defaultLocator: ProxyData? { liveDefaultLocator.withLockedValue { $0 } }
    private let liveDefaultLocator: NIOLockedValueBox<ProxyData?>
    /// The router of every proxy this communicator makes, unless the proxy says otherwise
    /// (`Ice.Default.Router`, `ice_router`).
    public var defaultRouter: ProxyData? { defaultRouterInfo?.router }
    let defaultRouterInfo: RouterInfo?
    /// What each router used so far said (see `RouterInfo`); the default router's from the start.
    let routers: NIOLockedValueBox<[ProxyData: RouterInfo]>
    /// Seconds a locator's answer is reused (`Ice.Default.LocatorCacheTimeout`): -1 forever, 0 never.
    public let defaultLocatorCacheTimeout: Int
    let locatorCache = LocatorCache()
    /// How calls to each locator and router go (see `ProxySettings`).
    let proxySettings = NIOLockedValueBox<(locators: [ProxyData: ProxySettings], routers: [ProxyData: ProxySettings])>(
        ([:], [:]))
    /// Whether an expired locator-cache entry is used while a lookup refreshes it
    /// (`Ice.BackgroundLocatorCacheUpdates`; adapter ids only).
    public let backgroundLocatorCacheUpdates: Bool
    /// The exception type ids no loader knew, each reported once.
    private let unknownTypeIds = NIOLockedValueBox<Set<String>>([])

    public init(
        sliceLoader: any SliceLoader = SliceRegistry(), transport: (any Transport)? = nil,
        messageSizeMax: Int = 1 << 20, classGraphDepthMax: Int = 100, defaultInvocationTimeout: Int = -1,
        retryIntervals: [Int] = [0], connectionOptions: ConnectionOptions = ConnectionOptions(),
        properties: Properties = Properties(), logger: Logger = Logger(label: "floe"),
        interceptors: [any ClientInterceptor] = [], observability: Observability = .off
    ) {
        var builtIn: [any ClientInterceptor] = []
        if let tracer = observability.tracer { builtIn.append(TracingInterceptor(tracer: tracer)) }
        self.interceptors = builtIn + interceptors
        self.observability = observability
        self.connectionMetrics = observability.metrics.map { ConnectionMetrics(factory: $0) }
        self.dispatchMetrics = observability.metrics.map { CallMetrics(side: "server", factory: $0) }
        self.invocationMetrics = observability.metrics.map { CallMetrics(side: "client", factory: $0) }
        // Checked by `init(properties:)`, which reports what does not parse.
        self.implicitContext = properties["Ice.ImplicitContext"] == "Shared" ? ImplicitContext() : nil
        let defaultHost = properties["Ice.Default.Host"].flatMap { $0.isEmpty ? nil : $0 }
        self.defaultHost = defaultHost
        // Checked by `init(properties:)` too.
        let timeout = Int32(clamping: (try? properties.int("Ice.Default.Timeout", default: 60000)) ?? 60000)
        let defaultEndpointTimeout = timeout > 0 || timeout == -1 ? timeout : 60000
        self.defaultEndpointTimeout = defaultEndpointTimeout
        self.defaultSourceAddress = properties["Ice.Default.SourceAddress"].flatMap { $0.isEmpty ? nil : $0 }
        self.liveDefaultLocator = NIOLockedValueBox(
            properties["Ice.Default.Locator"].flatMap {
                try? ProxyStringParser.parseProxy($0, defaultTimeout: defaultEndpointTimeout)
            }
            .map { Self.withHost(defaultHost, $0) })
        let defaultRouter = properties["Ice.Default.Router"]
            .flatMap { try? ProxyStringParser.parseProxy($0, defaultTimeout: defaultEndpointTimeout) }
            .map { Self.withHost(defaultHost, $0) }
        let defaultRouterInfo = defaultRouter.map { RouterInfo(router: $0) }
        self.defaultRouterInfo = defaultRouterInfo
        self.routers = NIOLockedValueBox(defaultRouterInfo.map { [$0.router: $0] } ?? [:])
        self.defaultLocatorCacheTimeout = (try? properties.int("Ice.Default.LocatorCacheTimeout", default: -1)) ?? -1
        self.backgroundLocatorCacheUpdates =
            ((try? properties.int("Ice.BackgroundLocatorCacheUpdates", default: 0)) ?? 0) != 0
        self.logger = logger
        self.liveProperties = NIOLockedValueBox(properties)
        self.initialProperties = properties
        self.connectionOptions = connectionOptions
        self.dispatchGate = DispatchGate(limit: connectionOptions.maxCommunicatorDispatches)
        self.peerWarnings = WarningLimiter(perSecond: connectionOptions.warningsPerSecond)
        self.sliceLoader = sliceLoader
        self.transport = transport
        // As `Ice.MessageSizeMax` below 1: no limit (a 0 here refused every message).
        self.messageSizeMax = messageSizeMax > 0 ? messageSizeMax : Int(Int32.max)
        self.classGraphDepthMax = classGraphDepthMax
        self.defaultInvocationTimeout = defaultInvocationTimeout
        self.retryIntervals = retryIntervals
        // The default locator's settings (`Ice.Default.Locator.*`); `init(properties:)` reports
        // what does not parse.
        if let locator = try? propertyToProxy("Ice.Default.Locator") { remember(locator: locator._reference) }
        if let router = try? propertyToProxy("Ice.Default.Router") { remember(router: router._reference) }
    }

    /// An object adapter configured as Ice configures one: it listens on `NAME.Endpoints`
    /// (tcp, ssl, ws, wss) and publishes `NAME.PublishedEndpoints` when they are set; without
    /// `NAME.Endpoints` it serves collocated calls and bidirectional connections only. It also
    /// reads `NAME.MaxConnections`, and `NAME.AdapterId`, `NAME.ReplicaGroupId` and
    /// `NAME.Locator` for registering with a locator on `activate()`. With `NAME.Router` set it
    /// is `createObjectAdapterWithRouter`'s. It holds requests until `activate()`: add servants
    /// first.
    public func createObjectAdapter(name: String) async throws -> ObjectAdapter {
        if !name.isEmpty, let router = try propertyToProxy("\(name).Router") {
            return try await createObjectAdapterWithRouter(name: name, router: router)
        }
        let endpoints = name.isEmpty ? nil : properties["\(name).Endpoints"].flatMap { $0.isEmpty ? nil : $0 }
        return try await createObjectAdapter(name: name, endpoints: endpoints, source: "\(name).Endpoints")
    }

    /// An adapter listening on `endpoints` (e.g. `tcp -h 127.0.0.1 -p 0`) instead of
    /// `NAME.Endpoints`, otherwise configured as `createObjectAdapter(name:)` says.
    public func createObjectAdapterWithEndpoints(name: String, endpoints: String) async throws -> ObjectAdapter {
        try await createObjectAdapter(name: name, endpoints: endpoints, source: nil)
    }

    private func createObjectAdapter(name: String, endpoints: String?, source: String?) async throws -> ObjectAdapter {
        if endpoints != nil && transport == nil {
            throw LocalError(.noEndpoint, "this communicator has no transport")
        }
        let adapter = try makeObjectAdapter(name: name)
        do {
            if let endpoints, let transport {
                for endpoint in try Self.servedEndpoints(
                    endpoints, source: source, defaultTimeout: defaultEndpointTimeout
                )
                .map(withDefaultHost) {
                    do {
                        try await adapter.addAcceptor(try await transport.listen(on: endpoint, adapter: adapter))
                    } catch var error as LocalError where error.code == .socket && source != nil {
                        error.message += " (\(source ?? ""))"
                        throw error
                    }
                }
            }
            if let published = try configuredPublishedEndpoints(adapter: name) {
                adapter.storePublishedEndpoints(published)
            }
            return adapter
        } catch {
            await adapter.destroy()
            throw error
        }
    }

    /// `NAME.PublishedEndpoints` of adapter `name`, nil when not set.
    func configuredPublishedEndpoints(adapter name: String) throws -> [IPEndpointData]? {
        guard !name.isEmpty, let published = properties["\(name).PublishedEndpoints"] else { return nil }
        return try Self.ipEndpoints(
            published, source: "\(name).PublishedEndpoints", defaultTimeout: defaultEndpointTimeout
        ).map(withDefaultHost)
    }

    /// `Ice.Default.Host` for endpoints that name no host.
    func withDefaultHost(_ endpoint: IPEndpointData) -> IPEndpointData {
        guard endpoint.host.isEmpty, let defaultHost else { return endpoint }
        var endpoint = endpoint
        endpoint.host = defaultHost
        return endpoint
    }

    /// `Ice.Default.Host` for a proxy's endpoints that name no host.
    func withDefaultHost(_ data: ProxyData) -> ProxyData { Self.withHost(defaultHost, data) }

    private static func withHost(_ host: String?, _ data: ProxyData) -> ProxyData {
        guard let host else { return data }
        var data = data
        data.endpoints = data.endpoints.map { endpoint in
            switch endpoint {
            case .ip(var ip) where ip.host.isEmpty:
                ip.host = host
                return .ip(ip)
            case .udp(var udp) where udp.host.isEmpty:
                udp.host = host
                return .udp(udp)
            default:
                return endpoint
            }
        }
        return data
    }

    /// The endpoints an adapter listens on: tcp, ssl, ws, wss and udp (not multicast: Floe
    /// joins no group, and says so rather than listen where no datagram arrives).
    private static func servedEndpoints(_ text: String, source: String?, defaultTimeout: Int32) throws
        -> [IPEndpointData]
    {
        try ProxyStringParser.parseEndpoints(text, source: source, defaultTimeout: defaultTimeout).map { endpoint in
            let origin = source.map { " (\($0))" } ?? ""
            switch endpoint {
            case .ip(let ip):
                return ip
            case .udp(let udp) where !isMulticast(udp.host):
                return udp.ipEndpoint
            case .udp:
                throw LocalError(
                    .invalidArgument,
                    "cannot serve '\(ProxyStringFormatter.format(endpoint))'\(origin): Floe does not serve multicast udp endpoints"
                )
            case .opaque:
                throw LocalError(
                    .invalidArgument,
                    "cannot serve '\(ProxyStringFormatter.format(endpoint))'\(origin): Floe serves tcp, ssl, ws, wss and udp endpoints"
                )
            }
        }
    }

    /// Whether a host is an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address.
    private static func isMulticast(_ host: String) -> Bool {
        if host.lowercased().hasPrefix("ff") && host.contains(":") { return true }
        guard let first = host.split(separator: ".").first.flatMap({ Int($0) }), host.split(separator: ".").count == 4
        else { return false }
        return (224...239).contains(first)
    }

    /// `tcp -h H -p P:udp …` as the endpoints an adapter publishes.
    private static func ipEndpoints(_ text: String, source: String, defaultTimeout: Int32) throws -> [IPEndpointData] {
        try ProxyStringParser.parseEndpoints(text, source: source, defaultTimeout: defaultTimeout).map { endpoint in
            switch endpoint {
            case .ip(let ip): return ip
            case .udp(let udp): return udp.ipEndpoint
            case .opaque: throw LocalError(.invalidArgument, "\(source): not an IP endpoint list: '\(text)'")
            }
        }
    }

    /// The connection a proxy's invocations use: its fixed connection, else an open connection
    /// to one of its endpoints, else a new one, trying the endpoints in the proxy's
    /// endpoint-selection order until one accepts.
    func connection(for reference: ProxyReference) async throws -> any Connection {
        try await route(for: reference).connection
    }

    /// An open connection this proxy's invocations would use, if any: its fixed connection, or
    /// one to its endpoints (or to the locator's cached answer) with its connection id.
    func cachedConnection(for reference: ProxyReference) -> (any Connection)? {
        if let fixed = reference.fixedConnection { return fixed.isClosed ? nil : fixed }
        if let router = reference.routerInfo {
            return openConnection(among: router.knownClientEndpoints ?? [], reference)?.connection
        }
        let endpoints = reference.data.endpoints.isEmpty ? cachedEndpoints(reference) ?? [] : reference.data.endpoints
        return openConnection(among: endpoints, reference)?.connection
    }

    /// An open connection to one of `endpoints` that `reference` may use (its connection id,
    /// ssl only when secure), without building lists: the common case of every call.
    func openConnection(among endpoints: [EndpointData], _ reference: ProxyReference) -> (
        endpoint: IPEndpointData, connection: any Connection
    )? {
        // (Endpoint by endpoint, not `candidates`: every call comes here, and that builds an array.)
        if reference.preferSecure && !reference.data.secure && !reference.isDatagram {
            // Secure endpoints' connections first, as the endpoints are tried.
            for data in endpoints {
                guard case .ip(let ip) = data, ip.transport.isSecure else { continue }
                if let open = openConnection(to: ip, reference) { return (ip, open) }
            }
        }
        for data in endpoints {
            guard let endpoint = Self.candidate(data, reference) else { continue }
            if let open = openConnection(to: endpoint, reference) { return (endpoint, open) }
        }
        return nil
    }

    /// Queues on `connection` the batch closed connections to `key` left unsent, if any.
    func queueUnsentBatch(on connection: any Connection, _ key: ConnectionKey) async {
        guard let unsent = takeUnsentBatch(for: key) else { return }
        if !(await connection.queue(unsent.batch)) { park(unsent.batch, key, since: unsent.since) }
    }

    private func openConnection(to endpoint: IPEndpointData, _ reference: ProxyReference) -> (any Connection)? {
        let key = ConnectionKey(endpoint, reference.connectionId)
        guard let open = state.withLockedValue({ $0.connections[key] })?.settledConnection, !open.isClosed else {
            return nil
        }
        return open
    }

    /// A proxy's connection (see `connection(for:)`), and whether its requests are compressed:
    /// as `Ice.Override.Compress` says, else as the proxy's `ice_compress`, else as the endpoint
    /// connected to (`-z`).
    func route(for reference: ProxyReference) async throws -> Route {
        if let fixed = reference.fixedConnection {
            guard !fixed.isClosed else { throw LocalError(.connectionLost, "the fixed connection is closed") }
            // As Ice checks a fixed proxy: its mode must suit the connection (datagram modes
            // only over udp, the others never), and a secure proxy needs a secure connection.
            if reference.isDatagram != fixed.isDatagram {
                throw LocalError(
                    .noEndpoint,
                    reference.isDatagram
                        ? "a datagram proxy fixed to a \(fixed.info.type) connection"
                        : "a \(reference.data.mode) proxy fixed to a udp connection")
            }
            if reference.data.secure, !fixed.isSecure {
                throw LocalError(.noEndpoint, "a secure proxy fixed to a \(fixed.info.type) connection, which is not")
            }
            return Route(connection: fixed, compress: connectionOptions.overrideCompress ?? reference.compress ?? false)
        }
        if let router = reference.routerInfo { return try await routedRoute(reference, through: router) }
        guard reference.data.endpoints.isEmpty else {
            return try await connection(to: reference.data.endpoints, reference)
        }
        // Indirect: the locator (or its cache) says where the object is.
        let endpoints: [EndpointData]
        let fresh: Bool
        if let cached = cachedEndpoints(reference) {
            (endpoints, fresh) = (cached, false)
        } else if let expired = expiredEndpointsStillConnected(reference) {
            (endpoints, fresh) = (expired, false)
        } else {
            (endpoints, fresh) = try await resolve(reference)
        }
        do {
            return try await connection(to: endpoints, reference)
        } catch let error as LocalError where fresh && Self.peerFailure(error) {
            // Endpoints just looked up that nobody answers on: forgotten, as Ice clears its
            // cache after any connection error, so the retry asks again (kept, it tried them
            // once more, a whole connect timeout for a silent address).
            forgetLocation(of: reference)
            throw error
        } catch let error as LocalError where !fresh && Self.peerFailure(error) {
            // Cached endpoints nobody answers on (or not as the server did): the server moved.
            // Ask the locator again, once, as Ice clears its cache after any connection error
            // (unless the call has ended meanwhile).
            try Task.checkCancellation()
            let (current, _) = try await resolve(reference, refresh: true)
            return try await connection(to: current, reference)
        }
    }

    /// A connection to one of `endpoints`, as `connection(for:)` describes.
    func connection(to endpoints: [EndpointData], _ reference: ProxyReference) async throws -> Route {
        if reference.connectionCached, let (endpoint, open) = openConnection(among: endpoints, reference) {
            if hasUnsentBatches.load(ordering: .relaxed) {
                await queueUnsentBatch(on: open, ConnectionKey(endpoint, reference.connectionId))
            }
            return route(open, endpoint, reference)
        }
        let secure = reference.data.secure
        var ipEndpoints = Self.candidates(endpoints, reference)
        guard !ipEndpoints.isEmpty else {
            let name = reference.data.identity.name
            throw LocalError(
                .noEndpoint,
                reference.isDatagram
                    ? "no udp endpoint to reach '\(name)' (datagram proxies use udp endpoints only\(secure ? ", and a secure proxy none" : ""))"
                    : secure
                        ? "'\(name)' is secure (ice_secure, -s) but has no ssl or wss endpoint"
                        : "no tcp, ssl, ws or wss endpoint to reach '\(name)'")
        }
        if reference.endpointSelection == .random { ipEndpoints.shuffle() }
        if !secure {
            // Non-secure endpoints first, as Ice does by default, unless the proxy prefers
            // secure ones (Ice.Default.PreferSecure, ice_preferSecure).
            let first = ipEndpoints.filter { $0.transport.isSecure == reference.preferSecure }
            ipEndpoints = first + ipEndpoints.filter { $0.transport.isSecure != reference.preferSecure }
        }
        if ipEndpoints.count > 1 {
            // Endpoints that just refused go last: a retry does not return to a replica that failed.
            let failed = recentlyFailed()
            if !failed.isEmpty {
                ipEndpoints =
                    ipEndpoints.filter { !failed.contains(Self.key($0)) }
                    + ipEndpoints.filter { failed.contains(Self.key($0)) }
            }
        }
        var failure: (any Error)?
        for endpoint in ipEndpoints {
            // A call that ended meanwhile (its invocation timeout, its caller cancelled) goes no
            // further: each endpoint could take its whole connect timeout, for nobody.
            if failure != nil, Task.isCancelled { throw CancellationError() }
            do {
                let connection = try await connection(to: endpoint, connectionId: reference.connectionId)
                state.withLockedValue { state in
                    if !state.failedEndpoints.isEmpty { state.failedEndpoints[Self.key(endpoint)] = nil }
                }
                return route(connection, endpoint, reference)
            } catch let error as LocalError where Self.peerFailure(error) {
                // As in Ice, any failure to connect (refused, timed out, lost while validating,
                // refused by TLS) moves on to the next endpoint.
                rememberRefused(endpoint)
                failure = error
            }
        }
        throw failure ?? LocalError(.connectionRefused, "no endpoint accepted a connection")
    }

    /// Whether a failure to connect came from the peer or the way to it (refused, timed out,
    /// lost, refused by TLS), not from this side: a destroyed communicator, or a setting that
    /// fails whatever the endpoint (IceSSL files that do not load, an unsupported option),
    /// which must not be hidden behind the next endpoint's answer.
    static func peerFailure(_ error: LocalError) -> Bool {
        switch error.code {
        case .communicatorDestroyed, .invalidArgument, .unsupported, .noEndpoint: false
        default: true
        }
    }

    private func route(_ connection: any Connection, _ endpoint: IPEndpointData, _ reference: ProxyReference)
        -> Route
    {
        Route(
            connection: connection,
            compress: connectionOptions.overrideCompress ?? reference.compress ?? endpoint.compress)
    }

    /// The endpoints a proxy may use, as Ice filters them: a datagram proxy udp ones only (and
    /// none when secure); others never udp, and ssl and wss only when secure (never a plain
    /// fallback).
    private static func candidates(_ endpoints: [EndpointData], _ reference: ProxyReference) -> [IPEndpointData] {
        endpoints.compactMap { candidate($0, reference) }
    }

    /// An endpoint as `candidates` keeps it, or nil.
    private static func candidate(_ endpoint: EndpointData, _ reference: ProxyReference) -> IPEndpointData? {
        let datagram = reference.isDatagram
        let secure = reference.data.secure
        switch endpoint {
        case .ip(let ip) where !datagram && (ip.transport.isSecure || !secure): return ip
        case .udp(let udp) where datagram && !secure: return udp.ipEndpoint
        default: return nil
        }
    }

    /// The most refused endpoints remembered at once: they only order a proxy's endpoints.
    static let failedEndpointsKept = 1_024

    /// Records that `endpoint` refused a connection just now (see `recentlyFailed`).
    func rememberRefused(_ endpoint: IPEndpointData) {
        state.withLockedValue { state in
            let now = ContinuousClock.now
            state.failedEndpoints[Self.key(endpoint)] = now
            // Only proxies of several endpoints read these back and drop the old ones; a
            // registry pinging thousands of single-endpoint adapters must not keep them all.
            if state.failedEndpoints.count > Self.failedEndpointsKept {
                state.failedEndpoints = state.failedEndpoints.filter { now - $0.value < .seconds(10) }
                if state.failedEndpoints.count > Self.failedEndpointsKept { state.failedEndpoints = [:] }
            }
        }
    }

    /// Endpoints that refused a connection in the last 10 seconds (older records are dropped).
    private func recentlyFailed() -> Set<IPEndpointData> {
        let now = ContinuousClock.now
        return state.withLockedValue { state in
            guard !state.failedEndpoints.isEmpty else { return [] }
            state.failedEndpoints = state.failedEndpoints.filter { now - $0.value < .seconds(10) }
            return Set(state.failedEndpoints.keys)
        }
    }

    /// Connections are shared per address: the timeout and compression flags do not matter.
    private static func key(_ endpoint: IPEndpointData) -> IPEndpointData {
        var key = endpoint
        key.timeout = 0
        key.compress = false
        return key
    }

    /// What a cached connection is shared by: proxies to the same address (whatever their
    /// timeout and compression flags) with the same `ice_connectionId`.
    struct ConnectionKey: Hashable {
        var endpoint: IPEndpointData
        var connectionId: String

        init(_ endpoint: IPEndpointData, _ connectionId: String) {
            self.endpoint = Communicator.key(endpoint)
            self.connectionId = connectionId
        }

        /// Hashed on every call through a direct proxy: the fields that tell connections apart
        /// in practice, and the strings that are usually empty only when they are not.
        func hash(into hasher: inout Hasher) {
            hasher.combine(endpoint.host)
            hasher.combine(endpoint.port)
            hasher.combine(endpoint.transport)
            if !connectionId.isEmpty { hasher.combine(connectionId) }
            if !endpoint.sourceAddress.isEmpty { hasher.combine(endpoint.sourceAddress) }
        }
    }

    /// The connection for `endpoint` and `connectionId`, connecting when there is none (or the
    /// last one closed). `again`: this is the second connection of this call.
    func connection(to endpoint: IPEndpointData, connectionId: String = "", again: Bool = false) async throws
        -> any Connection
    {
        guard let transport else { throw LocalError(.noEndpoint, "this communicator has no transport") }
        let key = ConnectionKey(endpoint, connectionId)
        let task: ConnectTask = try state.withLockedValue { state in
            guard !state.destroyed else { throw LocalError(.communicatorDestroyed, "communicator destroyed") }
            if let existing = state.connections[key] { return existing }
            let task = ConnectTask { id in
                let connection: any Connection
                do {
                    connection = try await transport.connect(to: endpoint, communicator: self)
                } catch {
                    self.state.withLockedValue { if $0.connections[key]?.id == id { $0.connections[key] = nil } }
                    // Only `destroy` cancels an attempt: its callers hear that, not a cancellation
                    // they did not ask for.
                    if error is CancellationError { throw LocalError(.communicatorDestroyed, "communicator destroyed") }
                    throw error
                }
                // Forgotten once closed: a client that talks to servers that come and go (new
                // ports at each restart) would otherwise keep every closed connection.
                connection.onClose { [weak self] in self?.forget(connection, key) }
                // A router's client connection keeps its session and carries its callbacks.
                await self.setUpIfRouted(connection, to: endpoint)
                return connection
            }
            state.connections[key] = task
            return task
        }
        do {
            let connection = try await task.value
            if !connection.isClosed {
                if hasUnsentBatches.load(ordering: .relaxed) { await queueUnsentBatch(on: connection, key) }
                return connection
            }
        } catch is CancellationError where Task.isCancelled {
            throw CancellationError()  // This caller stopped waiting; the attempt goes on for others.
        } catch {
            state.withLockedValue { if $0.connections[key] === task { $0.connections[key] = nil } }
            throw error
        }
        // A closed connection: forget it and connect again, once. (A server that closes each
        // connection as soon as it is open would otherwise be connected to without end; the
        // call's retries, Ice.RetryIntervals, decide what happens next.)
        state.withLockedValue { if $0.connections[key] === task { $0.connections[key] = nil } }
        guard !again else {
            throw LocalError.notSent(
                .connectionLost,
                "the server at \(endpoint.host):\(endpoint.port) closed the connection as soon as it was open")
        }
        return try await connection(to: endpoint, connectionId: connectionId, again: true)
    }

    /// Removes `connection`, closed, from the table, unless another has taken its place, and
    /// keeps the batch it never sent for the next connection to `key`.
    private func forget(_ connection: any Connection, _ key: ConnectionKey) {
        let unsent = connection.takeUnsentBatch()
        state.withLockedValue { state in
            if let settled = state.connections[key]?.settledConnection, settled === connection {
                state.connections[key] = nil
            }
        }
        guard let unsent else { return }
        // A router's connection is a Glacier2 session: a new one would not route requests to
        // proxies added in this one (their batch stays lost, but not silently).
        let routerInfos = routers.withLockedValue { Array($0.values) }
        if routerInfos.contains(where: { $0.isClientEndpoint(key.endpoint) }) {
            logger.warning(
                "\(unsent.requests.count) batched requests were lost with the router connection to \(key.endpoint.host):\(key.endpoint.port)"
            )
            return
        }
        park(unsent, key, since: .now)
    }

    /// Keeps `unsent`, left unsent `since`, for the next connection to `key`, in order with
    /// what was kept for it already (a batch handed back is older than one kept meanwhile).
    /// What waited too long, or for too many places, is dropped with a warning.
    private func park(_ unsent: UnsentBatch, _ key: ConnectionKey, since: ContinuousClock.Instant) {
        let now = ContinuousClock.now
        let dropped = state.withLockedValue { state -> [(ConnectionKey, Int)] in
            guard !state.destroyed else { return [] }
            if let kept = state.unsentBatches[key] {
                // (The later time: the younger requests get their whole wait.)
                state.unsentBatches[key] =
                    kept.since <= since
                    ? (kept.batch.followed(by: unsent), since) : (unsent.followed(by: kept.batch), kept.since)
            } else {
                state.unsentBatches[key] = (unsent, since)
            }
            var dropped = Self.dropExpiredBatches(&state, now: now)
            while state.unsentBatches.count > state.unsentBatchPlaces,
                let oldest = state.unsentBatches.min(by: { $0.value.since < $1.value.since })
            {
                dropped.append((oldest.key, oldest.value.batch.requests.count))
                state.unsentBatches[oldest.key] = nil
            }
            hasUnsentBatches.store(!state.unsentBatches.isEmpty, ordering: .relaxed)
            return dropped
        }
        warnDropped(dropped)
    }

    /// Removes the batches kept longer than `state.unsentBatchLifetime`: where, and how many requests.
    private static func dropExpiredBatches(_ state: inout State, now: ContinuousClock.Instant) -> [(
        ConnectionKey, Int
    )] {
        var dropped: [(ConnectionKey, Int)] = []
        for (place, entry) in state.unsentBatches where now - entry.since > state.unsentBatchLifetime {
            dropped.append((place, entry.batch.requests.count))
            state.unsentBatches[place] = nil
        }
        return dropped
    }

    private func warnDropped(_ dropped: [(ConnectionKey, Int)]) {
        for (place, count) in dropped {
            logger.warning(
                "\(count) batched requests to \(place.endpoint.host):\(place.endpoint.port) were dropped: no connection to it took them"
            )
        }
    }

    /// The batch closed connections to `key` left unsent, taken, unless it waited too long
    /// (then dropped with a warning).
    private func takeUnsentBatch(for key: ConnectionKey) -> (batch: UnsentBatch, since: ContinuousClock.Instant)? {
        let now = ContinuousClock.now
        let (taken, expired) = state.withLockedValue { state in
            defer { hasUnsentBatches.store(!state.unsentBatches.isEmpty, ordering: .relaxed) }
            // Every place's expired batch goes here too: one for a server gone for good is
            // otherwise kept until another batch is kept.
            let expired = Self.dropExpiredBatches(&state, now: now)
            return (state.unsentBatches.removeValue(forKey: key), expired)
        }
        warnDropped(expired)
        return taken
    }

    /// Queues each kept batch on the open connection to its place, if there is one (see
    /// `flushBatchRequests()`).
    func queueUnsentBatchesOnOpenConnections() async {
        guard hasUnsentBatches.load(ordering: .relaxed) else { return }
        let open = state.withLockedValue { state in
            state.unsentBatches.keys.compactMap { key -> (ConnectionKey, any Connection)? in
                guard let connection = state.connections[key]?.settledConnection, !connection.isClosed else {
                    return nil
                }
                return (key, connection)
            }
        }
        for (key, connection) in open { await queueUnsentBatch(on: connection, key) }
    }

    /// A registered adapter with no endpoints yet (see `createObjectAdapter(name:)`). Names are
    /// unique, except the empty one: as in Ice, any number of unnamed adapters (for callbacks
    /// over bidirectional connections) can exist, and no property configures them.
    func makeObjectAdapter(name: String) throws -> ObjectAdapter {
        let configured = name.isEmpty ? Properties() : properties
        if try properties.int("Ice.Warn.UnknownProperties", default: 1) > 0 {
            for warning in AdapterProperties.warnings(adapter: name, configured) { logger.warning("\(warning)") }
        }
        let maxConnections = try configured.int("\(name).MaxConnections", default: 10_000)
        // (With its settings, `NAME.Locator.*`, for the calls to it.)
        let locator = try name.isEmpty ? nil : propertyToProxy("\(name).Locator")?._reference
        if let locator { remember(locator: locator) }
        return try state.withLockedValue { state in
            // After `shutdown()` too, as in Ice: nothing would deactivate an adapter made then,
            // and it would serve on after `waitForShutdown()` returned.
            guard !state.isShutdown else {
                throw LocalError(
                    .communicatorDestroyed,
                    state.destroyed ? "communicator destroyed" : "the communicator is shut down")
            }
            guard name.isEmpty || state.adapters[name] == nil else {
                throw LocalError(.alreadyRegistered, "an object adapter named '\(name)' already exists")
            }
            let adapter = ObjectAdapter(
                name: name, communicator: self, maxConnections: maxConnections,
                adapterId: configured["\(name).AdapterId"] ?? "",
                replicaGroupId: configured["\(name).ReplicaGroupId"] ?? "",
                locator: locator?.data)
            state.adapters[name.isEmpty ? "\u{0}\(ObjectIdentifier(adapter).hashValue)" : name] = adapter
            return adapter
        }
    }

    /// Destroys every adapter and closes every connection; later invocations fail with
    /// `communicatorDestroyed`.
    /// Every caller returns once the destruction is over, as in Ice (a second caller returned
    /// while the first still closed the connections gracefully); cancelling a caller does not cut
    /// it short. A servant must not call it (it would wait for its own dispatch, for ever, as
    /// in Ice): it calls `shutdown()`, and the program destroys the communicator once
    /// `waitForShutdown()` returns.
    public func destroy() async {
        let destruction = state.withLockedValue { state in
            if let destruction = state.destruction { return destruction }
            // (Created under the lock, so that every caller awaits the same task.)
            let destruction = Task { await self.destroyOnce() }
            state.destruction = destruction
            return destruction
        }
        await destruction.value
    }

    private func destroyOnce() async {
        // In Ice's order: the adapters deactivate, and once they have unregistered from their
        // locators and closed their listeners (which may still call out), the outgoing calls
        // fail with `communicatorDestroyed` and the client connections close; then the
        // deactivations are waited for. A dispatch waiting on an outgoing call ends that way:
        // with the client connections closed last, such a dispatch held `destroy()` for ever
        // (a callback to a client that never answers).
        await shutdown()
        let adapters = state.withLockedValue { Array($0.adapters.values) }
        for adapter in adapters { await adapter.listenersClosed() }
        let connections = state.withLockedValue { state in
            state.destroyed = true
            defer {
                state.connections = [:]
                state.unsentBatches = [:]
            }
            return Array(state.connections.values)
        }
        let deadline = closeDeadline()
        // Connections still being opened are given up: a server that never validates held
        // `destroy` for the whole connect timeout.
        for task in connections where task.settledConnection == nil { task.cancel() }
        let destroyed = LocalError(.communicatorDestroyed, "communicator destroyed")
        // All at once: each graceful close may wait for its dispatches (callbacks over a
        // bidirectional connection) and for the peer to close (Ice.Connection.CloseTimeout).
        await withTaskGroup(of: Void.self) { group in
            for task in connections {
                group.addTask { await (try? await task.outcome)?.close(failingCalls: destroyed) }
            }
            for adapter in adapters { group.addTask { await adapter.destroy() } }
        }
        let waiters = state.withLockedValue { state in
            state.shutdownDone = true  // (`waitForShutdown()` returns after `destroy()`)
            defer {
                state.adapters = [:]
                state.shutdownWaiters = [:]
                state.cancelledShutdownWaiters = []
            }
            return Array(state.shutdownWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
        // Callbacks dispatched over these (bidirectional) connections that outlived them count
        // with their adapters, deactivated already: waited for here.
        for adapter in adapters { await adapter.unconnectedDispatchesEnded(by: deadline) }
    }

    public var isDestroyed: Bool { state.withLockedValue { $0.destroyed } }

    /// The implicit context, when `Ice.ImplicitContext` is `Shared`; nil otherwise, as in Ice.
    public func getImplicitContext() -> ImplicitContext? { implicitContext }

    /// Stops serving, as Ice's `shutdown` does: every adapter deactivates (see
    /// `ObjectAdapter.deactivate()`) — unregistering from its locator, closing its connections
    /// once their running dispatches have replied — without this waiting for it.
    /// So a servant may call it and still reply (waiting here would wait for that very
    /// dispatch). `waitForShutdown()` returns when the deactivation is done; later calls do
    /// nothing. Client-side connections stay usable until `destroy()`.
    public func shutdown() async {
        let adapters: [ObjectAdapter]? = state.withLockedValue { state in
            guard !state.isShutdown else { return nil }
            state.isShutdown = true
            return Array(state.adapters.values)
        }
        guard let adapters else { return }
        let deactivations = adapters.map { $0.startDeactivation() }
        Task {
            for deactivation in deactivations { await deactivation.value }
            let waiters = state.withLockedValue { state in
                state.shutdownDone = true
                defer {
                    state.shutdownWaiters = [:]
                    state.cancelledShutdownWaiters = []
                }
                return Array(state.shutdownWaiters.values)
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Returns once `shutdown()` has deactivated the adapters and their dispatches have
    /// replied, as Ice's `waitForShutdown` does (so that destroying the communicator next
    /// cannot cut an adapter's unregistration short), or once the communicator is destroyed.
    /// Cancelling the caller ends the wait at once, whether or not a shutdown has started.
    public func waitForShutdown() async {
        let token = state.withLockedValue { state in
            state.nextShutdownWaiter &+= 1
            return state.nextShutdownWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLockedValue { state in
                    if state.shutdownDone || state.cancelledShutdownWaiters.remove(token) != nil { return true }
                    state.shutdownWaiters[token] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.shutdownWaiters.removeValue(forKey: token) { return waiter }
                if !state.shutdownDone { state.cancelledShutdownWaiters.insert(token) }
                return nil
            }
            waiter?.resume()
        }
    }

    public var isShutdown: Bool { state.withLockedValue { $0.isShutdown } }

    func removeAdapter(_ adapter: ObjectAdapter) {
        state.withLockedValue { state in
            if let key = state.adapters.first(where: { $0.value === adapter })?.key {
                state.adapters.removeValue(forKey: key)
            }
        }
    }

    /// The adapter of this communicator that hosts the proxy's object, if any.
    func collocatedAdapter(for reference: ProxyReference) -> ObjectAdapter? {
        let adapters = state.withLockedValue { $0.adapters.isEmpty ? [] : Array($0.adapters.values) }
        return adapters.first { $0.isCollocated(with: reference.data) }
    }

    /// A proxy for `identity` with no endpoints (a well-known proxy).
    public func makeProxy(_ identity: Identity, facet: String = "") -> any ObjectPrx {
        ObjectPrxI(_reference: ProxyReference(communicator: self, data: ProxyData(identity: identity, facet: facet)))
    }

    /// The stringified form of a proxy, as ZeroC prints it.
    public func proxyToString(_ proxy: any ObjectPrx) -> String {
        ProxyStringFormatter.format(proxy._reference.data)
    }

    /// A stream for decoding data that belongs to this communicator.
    public func makeInputStream(_ buffer: ByteBuffer, encoding: EncodingVersion) -> InputStream {
        var stream = InputStream(
            buffer: buffer, encoding: encoding, sliceLoader: sliceLoader, classGraphDepthMax: classGraphDepthMax)
        stream.owner = self
        return stream
    }
}

/// A connection being established, shared by every caller that needs it meanwhile. A caller
/// cancelled while it waits stops waiting at once (the attempt goes on for the others): an
/// untimed call waited out the whole connect timeout after its caller had gone.
final class ConnectTask: Sendable {
    private enum State {
        case connecting(waiters: [UInt64: CheckedContinuation<any Connection, any Error>], next: UInt64)
        case done(Result<any Connection, any Error>)
    }
    private let state = NIOLockedValueBox(State.connecting(waiters: [:], next: 0))
    private let task: Task<any Connection, any Error>
    /// Tells this attempt from a later one for the same key (see `connect`'s argument).
    let id: UInt64
    private static let ids = Atomic<UInt64>(0)

    /// `connect` gets this attempt's `id`: a failed attempt removes itself from the table
    /// before its waiters hear of it (with every caller cancelled, none is left to do it, and
    /// the failure would be handed to every later call).
    init(_ connect: @escaping @Sendable (UInt64) async throws -> any Connection) {
        let state = state
        let id = Self.ids.add(1, ordering: .relaxed).newValue
        self.id = id
        task = Task {
            let result: Result<any Connection, any Error>
            do { result = .success(try await connect(id)) } catch { result = .failure(error) }
            let waiters = state.withLockedValue {
                state -> [UInt64: CheckedContinuation<any Connection, any Error>] in
                defer { state = .done(result) }
                guard case .connecting(let waiters, _) = state else { return [:] }
                return waiters
            }
            for waiter in waiters.values { waiter.resume(with: result) }
            return try result.get()
        }
    }

    /// The outcome, waited for whatever the caller's cancellation (the communicator's
    /// `destroy` closes connections still being opened).
    var outcome: any Connection { get async throws { try await task.value } }

    /// Gives up opening the connection (the transport closes its channel).
    func cancel() { task.cancel() }

    var value: any Connection {
        get async throws {
            let id = NIOLockedValueBox<UInt64?>(nil)
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let done: Result<any Connection, any Error>? = state.withLockedValue { state in
                        switch state {
                        case .done(let result): return result
                        case .connecting(var waiters, let next):
                            if Task.isCancelled { return .failure(CancellationError()) }
                            waiters[next] = continuation
                            state = .connecting(waiters: waiters, next: next + 1)
                            id.withLockedValue { $0 = next }
                            return nil
                        }
                    }
                    if let done { continuation.resume(with: done) }
                }
            } onCancel: {
                let waiter = state.withLockedValue { state -> CheckedContinuation<any Connection, any Error>? in
                    guard case .connecting(var waiters, let next) = state,
                        let key = id.withLockedValue({ $0 }), let waiter = waiters.removeValue(forKey: key)
                    else { return nil }
                    state = .connecting(waiters: waiters, next: next)
                    return waiter
                }
                waiter?.resume(throwing: CancellationError())
            }
        }
    }

    /// The connection once established, without waiting.
    var settledConnection: (any Connection)? {
        state.withLockedValue { state in
            guard case .done(.success(let connection)) = state else { return nil }
            return connection
        }
    }
}

extension Communicator {
    /// A reply carried a user exception none of the slice loaders knows: the call fails with
    /// `unknownUserException`, and the log says once which type id was missing, so that a
    /// forgotten loader does not pass for a server error.
    ///
    /// A peer chooses the type ids: at most `unknownTypeIdsReported` are remembered and
    /// reported, and each is cut to 200 characters in the log.
    func reportUnknownException(_ typeId: String) {
        let report = unknownTypeIds.withLockedValue { ids in
            ids.count < Self.unknownTypeIdsReported && ids.insert(String(typeId.prefix(200))).inserted
        }
        guard report else { return }
        logger.warning(
            "no slice loader knows the exception \(typeId.prefix(200)): calls that raise it fail with unknownUserException; give the communicator the loader of the Slice file that defines it"
        )
    }

    static let unknownTypeIdsReported = 100
}

/// Where a proxy's requests go: a connection, and whether they are compressed.
struct Route {
    let connection: any Connection
    let compress: Bool
}

extension Communicator {
    /// Changes properties, as Ice's `PropertiesAdmin.setProperties` does: an empty value
    /// removes the property. The callbacks registered with `onPropertiesUpdate` are then told
    /// what changed. What was read when something was created keeps its value: adapters,
    /// connection options and this communicator's settings are not rebuilt, and the IceSSL
    /// properties are always those given at creation (`initialProperties`), as Ice reads them
    /// once at start-up: give new certificate files to `NIOTransport.reloadTLS(_:)`.
    public func setProperties(_ changes: [String: String]) {
        let changed = liveProperties.withLockedValue { properties in
            var changed: [String: String] = [:]
            for (name, value) in changes where (properties[name] ?? "") != value {
                properties[name] = value
                changed[name] = value
            }
            return changed
        }
        guard !changed.isEmpty else { return }
        for callback in propertiesUpdateCallbacks.withLockedValue({ $0 }) { callback(changed) }
    }

    /// Calls `callback` after each `setProperties` that changed something, with the changed
    /// properties (an empty value for one removed).
    public func onPropertiesUpdate(_ callback: @escaping @Sendable ([String: String]) -> Void) {
        propertiesUpdateCallbacks.withLockedValue { $0.append(callback) }
    }
}

extension Communicator {
    /// `setDefaultLocator`, in this file because the box it changes is private to it.
    func replaceDefaultLocator(_ locator: ProxyData?) {
        liveDefaultLocator.withLockedValue { $0 = locator.map(withDefaultHost) }
        locatorCache.removeDefaultLocatorEntries()
    }
}
