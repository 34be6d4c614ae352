import FloeEncoding
import NIOConcurrencyHelpers

/// What a communicator knows of one router (Ice's `RouterInfo`): where routed requests go, the
/// identities already in its routing table, and the adapter that receives callbacks through it.
final class RouterInfo: Sendable {
    let router: ProxyData

    private struct State {
        var clientEndpoints: [EndpointData]?
        var hasRoutingTable = true
        /// Seconds the router's client connections may stay silent (Glacier2's ACM or session
        /// timeout), nil when the router does not say.
        var keepAlive: Int?
        /// Identities added to the routing table (Ice keys the table by identity too).
        var added: Set<Identity> = []
        /// The router calls under way: every call that needs one waits for it rather than
        /// asking again (a thousand first calls at once make one `getClientProxy`, and one
        /// `addProxies` per identity).
        var asking: Task<[EndpointData], any Error>?
        var adding: [Identity: Task<Void, any Error>] = [:]
        /// Weak: the adapter is the user's, and a destroyed one must not stay attached to new
        /// connections.
        weak var adapter: ObjectAdapter?
    }

    private let state = NIOLockedValueBox(State())

    init(router: ProxyData) { self.router = router }

    /// The endpoints routed requests go to: the router's client proxy's, asked once.
    func clientEndpoints(_ communicator: Communicator) async throws -> [EndpointData] {
        let lookup = state.withLockedValue { state -> Lookup in
            if let known = state.clientEndpoints { return .known(known) }
            if let asking = state.asking { return .asking(asking) }
            let asking = Task { try await self.askClientEndpoints(communicator) }
            state.asking = asking
            return .asking(asking)
        }
        switch lookup {
        case .known(let endpoints): return endpoints
        case .asking(let asking): return try await asking.value
        }
    }

    private enum Lookup {
        case known([EndpointData])
        case asking(Task<[EndpointData], any Error>)
    }

    private func askClientEndpoints(_ communicator: Communicator) async throws -> [EndpointData] {
        defer { state.withLockedValue { $0.asking = nil } }
        let (proxy, hasRoutingTable) = try await RouterCalls(router: router, communicator: communicator)
            .getClientProxy()
        // No client proxy, or one without endpoints: the router takes requests itself, as in Ice.
        var endpoints = proxy.map { communicator.withDefaultHost($0).endpoints } ?? []
        if endpoints.isEmpty { endpoints = router.endpoints }
        guard !endpoints.isEmpty else {
            throw LocalError(.noEndpoint, "the router '\(ProxyStringFormatter.format(router))' has no endpoints")
        }
        state.withLockedValue { state in
            state.clientEndpoints = endpoints
            state.hasRoutingTable = hasRoutingTable
        }
        // The connection that asked (usually the one routed calls use) keeps the session: never
        // closed for idleness, from now on. How long the session may stay silent is asked on
        // the side: routed calls need not wait for it, and a router that never answers (these
        // are Glacier2's operations, which Ice's own router client does not call) held every
        // one of them.
        await communicator.keepAlive(communicator.openConnections(where: isClientEndpoint), for: [self])
        Task { await self.askKeepAlive(communicator) }
        return endpoints
    }

    private func askKeepAlive(_ communicator: Communicator) async {
        let keepAlive = await RouterCalls(router: router, communicator: communicator).keepAliveSeconds()
        guard let keepAlive else { return }
        state.withLockedValue { $0.keepAlive = keepAlive }
        // The router's connections opened so far heartbeat that often (those opening now read
        // it again once set up: `setUpIfRouted`).
        await communicator.keepAlive(communicator.openConnections(where: isClientEndpoint), for: [self])
    }

    var keepAlive: Int? { state.withLockedValue { $0.keepAlive } }

    /// The cached client endpoints, or nil before the first routed call.
    var knownClientEndpoints: [EndpointData]? { state.withLockedValue { $0.clientEndpoints } }

    /// Adds `proxy` to the router's routing table unless its identity is there already (or the
    /// router keeps none): Glacier2 forwards a request only to a proxy the client added, and
    /// answers `ObjectNotExist` for any other identity.
    func addIfNeeded(_ proxy: ProxyData, _ communicator: Communicator) async throws {
        let identity = proxy.identity
        let adding = state.withLockedValue { state -> Task<Void, any Error>? in
            guard state.hasRoutingTable, !state.added.contains(identity) else { return nil }
            if let adding = state.adding[identity] { return adding }
            let adding = Task { try await self.add(proxy, communicator) }
            state.adding[identity] = adding
            return adding
        }
        try await adding?.value
    }

    private func add(_ proxy: ProxyData, _ communicator: Communicator) async throws {
        defer { state.withLockedValue { _ = $0.adding.removeValue(forKey: proxy.identity) } }
        let evicted = try await RouterCalls(router: router, communicator: communicator).addProxies([proxy])
        state.withLockedValue { state in
            state.added.insert(proxy.identity)
            for proxy in evicted { state.added.remove(proxy.identity) }
        }
    }

    /// A new connection to the router is a new session (Glacier2 keeps a routing table per
    /// session, and a session ends with its connection): nothing is in its table yet. Without
    /// this, a oneway request to a proxy added in an earlier session was never added again:
    /// Glacier2 refuses it with ObjectNotExist, which only a twoway call hears.
    func connectionOpened() { state.withLockedValue { $0.added = [] } }

    /// Forgets that `identity` was added: the router said it does not have it.
    func forget(_ identity: Identity) { state.withLockedValue { _ = $0.added.remove(identity) } }

    /// Makes `adapter` the router's, unless a live one is already: that one is returned.
    func claim(_ adapter: ObjectAdapter) -> ObjectAdapter? {
        state.withLockedValue { state in
            if let existing = state.adapter, !existing.isDeactivated { return existing }
            state.adapter = adapter
            return nil
        }
    }

    var adapter: ObjectAdapter? {
        get { state.withLockedValue { $0.adapter } }
        set { state.withLockedValue { $0.adapter = newValue } }
    }

    /// Whether a connection to `endpoint` is one of this router's client connections.
    func isClientEndpoint(_ endpoint: IPEndpointData) -> Bool {
        guard let endpoints = knownClientEndpoints else { return false }
        let key = Communicator.ConnectionKey(endpoint, "").endpoint
        return endpoints.contains { candidate in
            guard case .ip(let ip) = candidate else { return false }
            return Communicator.ConnectionKey(ip, "").endpoint == key
        }
    }
}
