import NIOConcurrencyHelpers
public import NIOCore

/// The root of a Floe runtime: creates object adapters and proxies, and carries invocations.
///
/// Until the TCP transport lands, invocations reach only objects hosted by this
/// communicator's own adapters (collocated calls), encoded exactly as on the wire.
public final class Communicator: Sendable {
    private struct State {
        var adapters: [String: ObjectAdapter] = [:]
        var destroyed = false
        /// Connections by endpoint, shared by every proxy that reaches that endpoint; a
        /// pending connect is shared too.
        var connections: [IPEndpointData: Task<any Connection, any Error>] = [:]
        var isShutdown = false
        var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())
    /// Creates the class instances and user exceptions that replies and requests carry.
    public let sliceLoader: any SliceLoader
    /// How deeply class graphs may nest when decoding (`Ice.ClassGraphDepthMax`).
    public let classGraphDepthMax: Int

    /// The network transport; nil keeps this communicator to collocated calls.
    public let transport: (any Transport)?
    /// The largest message accepted from a peer, in bytes (`Ice.MessageSizeMax`, 1 MiB).
    public let messageSizeMax: Int
    /// Milliseconds to wait for a reply when the proxy sets no timeout; -1 waits forever
    /// (`Ice.Default.InvocationTimeout`).
    public let defaultInvocationTimeout: Int
    /// Pauses before each automatic retry, in milliseconds (`Ice.RetryIntervals`, default one
    /// immediate retry; empty disables retries).
    public let retryIntervals: [Int]
    /// Seconds of silence after which a connection counts as idle (`Ice.Connection.IdleTimeout`,
    /// 60): every connection sends a heartbeat when it has written nothing for half of it, which
    /// keeps Ice 3.8 peers' idle checks satisfied and is harmless to 3.7 peers. 0 disables.
    public let idleTimeout: Int
    /// The configuration this communicator was created from (empty when created directly).
    public let properties: Properties

    public init(
        sliceLoader: any SliceLoader = SliceRegistry(), transport: (any Transport)? = nil,
        messageSizeMax: Int = 1 << 20, classGraphDepthMax: Int = 100, defaultInvocationTimeout: Int = -1,
        retryIntervals: [Int] = [0], idleTimeout: Int = 60, properties: Properties = Properties()
    ) {
        self.properties = properties
        self.idleTimeout = idleTimeout
        self.sliceLoader = sliceLoader
        self.transport = transport
        self.messageSizeMax = messageSizeMax
        self.classGraphDepthMax = classGraphDepthMax
        self.defaultInvocationTimeout = defaultInvocationTimeout
        self.retryIntervals = retryIntervals
    }

    /// An adapter configured by the properties `NAME.Endpoints` (listening, already active);
    /// without that property, a collocated-only adapter.
    public func createConfiguredObjectAdapter(name: String) async throws -> ObjectAdapter {
        guard let endpoints = properties["\(name).Endpoints"] else { return try createObjectAdapter(name: name) }
        return try await createObjectAdapterWithEndpoints(name: name, endpoints: endpoints)
    }

    /// An adapter listening on `endpoints` (e.g. `tcp -h 127.0.0.1 -p 0`), already active.
    public func createObjectAdapterWithEndpoints(name: String, endpoints: String) async throws -> ObjectAdapter {
        guard let transport else { throw LocalError(.noEndpoint, "this communicator has no transport") }
        let adapter = try createObjectAdapter(name: name)
        do {
            let groups = endpoints.split(separator: ":").map {
                $0.split(whereSeparator: \.isWhitespace).map(String.init)
            }
            for words in groups where !words.isEmpty {
                guard case .ip(let endpoint)? = try ProxyStringParser.parseEndpoint(words, in: endpoints),
                    endpoint.transport == .tcp
                else { throw LocalError(.invalidArgument, "only tcp endpoints can be served: '\(endpoints)'") }
                let acceptor = try await transport.listen(on: endpoint, adapter: adapter)
                adapter.addAcceptor(acceptor)
            }
            adapter.activate()
            return adapter
        } catch {
            await adapter.deactivate()
            throw error
        }
    }

    /// The connection for `endpoint`, connecting when there is none (or the last one closed).
    func connection(to endpoint: IPEndpointData) async throws -> any Connection {
        guard let transport else { throw LocalError(.noEndpoint, "this communicator has no transport") }
        var key = endpoint
        key.timeout = 0
        key.compress = false
        let task: Task<any Connection, any Error> = try state.withLockedValue { state in
            guard !state.destroyed else { throw LocalError(.communicatorDestroyed, "communicator destroyed") }
            if let existing = state.connections[key] { return existing }
            let task = Task { try await transport.connect(to: endpoint, communicator: self) }
            state.connections[key] = task
            return task
        }
        do {
            let connection = try await task.value
            if !connection.isClosed { return connection }
        } catch {
            state.withLockedValue { if $0.connections[key] == task { $0.connections[key] = nil } }
            throw error
        }
        // A closed connection: forget it and connect again.
        state.withLockedValue { if $0.connections[key] == task { $0.connections[key] = nil } }
        return try await connection(to: endpoint)
    }

    /// An adapter that dispatches requests to the servants added to it.
    public func createObjectAdapter(name: String) throws -> ObjectAdapter {
        try state.withLockedValue { state in
            guard !state.destroyed else { throw LocalError(.communicatorDestroyed, "communicator destroyed") }
            guard state.adapters[name] == nil else {
                throw LocalError(.alreadyRegistered, "an object adapter named '\(name)' already exists")
            }
            let adapter = ObjectAdapter(name: name, communicator: self)
            state.adapters[name] = adapter
            return adapter
        }
    }

    /// Destroys every adapter and closes every connection; later invocations fail with
    /// `communicatorDestroyed`.
    public func destroy() async {
        let (adapters, connections) = state.withLockedValue { state in
            state.destroyed = true
            defer {
                state.adapters = [:]
                state.connections = [:]
            }
            return (Array(state.adapters.values), Array(state.connections.values))
        }
        for adapter in adapters { await adapter.deactivate() }
        for task in connections { await (try? task.value)?.close() }
    }

    public var isDestroyed: Bool { state.withLockedValue { $0.destroyed } }

    /// Stops serving: deactivates every object adapter and releases `waitForShutdown()`.
    /// Client-side connections stay usable until `destroy()`.
    public func shutdown() async {
        let (adapters, waiters) = state.withLockedValue { state in
            state.isShutdown = true
            defer { state.shutdownWaiters = [] }
            return (Array(state.adapters.values), state.shutdownWaiters)
        }
        for adapter in adapters { await adapter.deactivate() }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `shutdown()` has been called (a server's `main` waits here).
    public func waitForShutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLockedValue { state in
                if state.isShutdown { return true }
                state.shutdownWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    public var isShutdown: Bool { state.withLockedValue { $0.isShutdown } }

    func removeAdapter(named name: String) {
        _ = state.withLockedValue { $0.adapters.removeValue(forKey: name) }
    }

    /// The adapter of this communicator that hosts the proxy's object, if any.
    func collocatedAdapter(for reference: ProxyReference) -> ObjectAdapter? {
        let adapters = state.withLockedValue { Array($0.adapters.values) }
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
