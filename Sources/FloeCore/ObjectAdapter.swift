import NIOConcurrencyHelpers

/// Maps identities (and facets) to servants and dispatches requests to them.
public final class ObjectAdapter: Sendable {
    private struct State {
        var servants: [Identity: [String: any Dispatcher]] = [:]
        var defaultServants: [String: any Dispatcher] = [:]
        var active = false
        var destroyed = false
        var acceptors: [any Acceptor] = []
    }

    public let name: String
    public let communicator: Communicator
    private let state = NIOLockedValueBox(State())

    init(name: String, communicator: Communicator) {
        self.name = name
        self.communicator = communicator
    }

    /// Adds `servant` as the default facet of `id`; returns a proxy for it.
    @discardableResult
    public func add(servant: any Dispatcher, id: Identity) throws -> any ObjectPrx {
        try addFacet(servant: servant, id: id, facet: "")
    }

    @discardableResult
    public func addFacet(servant: any Dispatcher, id: Identity, facet: String) throws -> any ObjectPrx {
        guard !id.name.isEmpty else { throw LocalError(.invalidArgument, "a servant's identity needs a name") }
        try state.withLockedValue { state in
            guard !state.destroyed else {
                throw LocalError(.objectAdapterDeactivated, "adapter '\(name)' is destroyed")
            }
            guard state.servants[id]?[facet] == nil else {
                throw LocalError(.alreadyRegistered, "servant for '\(id.name)' facet '\(facet)' already registered")
            }
            state.servants[id, default: [:]][facet] = servant
        }
        return createProxy(id).ice_facet(facet)
    }

    /// Removes the default facet of `id` and returns it.
    @discardableResult
    public func remove(_ id: Identity) throws -> any Dispatcher {
        try removeFacet(id: id, facet: "")
    }

    @discardableResult
    public func removeFacet(id: Identity, facet: String) throws -> any Dispatcher {
        try state.withLockedValue { state in
            guard let servant = state.servants[id]?.removeValue(forKey: facet) else {
                throw LocalError(.notRegistered, "no servant for '\(id.name)' facet '\(facet)'")
            }
            if state.servants[id]?.isEmpty == true { state.servants[id] = nil }
            return servant
        }
    }

    public func find(_ id: Identity) -> (any Dispatcher)? { findFacet(id: id, facet: "") }

    public func findFacet(id: Identity, facet: String) -> (any Dispatcher)? {
        state.withLockedValue { $0.servants[id]?[facet] }
    }

    /// Serves every identity of `category` (empty: every identity) that has no servant of its own.
    public func addDefaultServant(_ servant: any Dispatcher, category: String) throws {
        try state.withLockedValue { state in
            guard state.defaultServants[category] == nil else {
                throw LocalError(.alreadyRegistered, "default servant for category '\(category)' already registered")
            }
            state.defaultServants[category] = servant
        }
    }

    /// A proxy for `id` carrying this adapter's endpoints (none for a collocated-only adapter).
    public func createProxy(_ id: Identity) -> any ObjectPrx {
        communicator.makeProxy(id).ice_endpoints(publishedEndpoints.map(EndpointData.ip))
    }

    /// The endpoints this adapter listens on, with the ports actually bound.
    public var publishedEndpoints: [IPEndpointData] { state.withLockedValue { $0.acceptors.map(\.endpoint) } }

    func addAcceptor(_ acceptor: any Acceptor) { state.withLockedValue { $0.acceptors.append(acceptor) } }

    public func activate() { state.withLockedValue { $0.active = true } }

    /// Stops listening and removes every servant.
    public func deactivate() async {
        let acceptors = state.withLockedValue { state in
            state.destroyed = true
            state.servants = [:]
            state.defaultServants = [:]
            defer { state.acceptors = [] }
            return state.acceptors
        }
        for acceptor in acceptors { await acceptor.close() }
        communicator.removeAdapter(named: name)
    }

    public func destroy() async { await deactivate() }

    /// Whether this adapter serves the object a proxy designates: a servant (or default
    /// servant) for its identity, reached without endpoints or through this adapter's id.
    func isCollocated(with data: ProxyData) -> Bool {
        state.withLockedValue { state in
            guard !state.destroyed else { return false }
            // A direct proxy is collocated only if it names one of this adapter's endpoints.
            if !data.endpoints.isEmpty {
                let mine = Set(state.acceptors.map { "\($0.endpoint.host):\($0.endpoint.port)" })
                let named = data.endpoints.contains { endpoint in
                    guard case .ip(let ip) = endpoint else { return false }
                    return mine.contains("\(ip.host):\(ip.port)")
                }
                guard named else { return false }
            }
            return state.servants[data.identity] != nil || state.defaultServants[data.identity.category] != nil
                || state.defaultServants[""] != nil
        }
    }

    /// Finds the servant for a request and dispatches to it; a missing object or facet becomes
    /// the matching `DispatchError`.
    public func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        let current = request.current
        let servant: (any Dispatcher)? = state.withLockedValue { state in
            if let facets = state.servants[current.id] { return facets[current.facet] }
            return state.defaultServants[current.id.category] ?? state.defaultServants[""]
        }
        guard let servant else {
            let known = state.withLockedValue { $0.servants[current.id] != nil }
            throw known ? DispatchError.facetNotExist(current) : DispatchError.objectNotExist(current)
        }
        return try await servant.dispatch(request)
    }
}
