import FloeEncoding
import NIOConcurrencyHelpers

extension Communicator {
    /// The default router (`Ice.Default.Router`), nil without one.
    public func getDefaultRouter() -> (any ObjectPrx)? {
        defaultRouter.map { ObjectPrxI(_reference: .unrouted($0, self)) }
    }

    /// What this communicator knows of `router`, created on first use.
    func routerInfo(_ router: ProxyData) -> RouterInfo {
        routers.withLockedValue { routers in
            if let known = routers[router] { return known }
            let info = RouterInfo(router: router)
            routers[router] = info
            return info
        }
    }

    /// A routed proxy's connection: to the router's client endpoints, whatever the proxy's own
    /// endpoints or adapter id (the router resolves those), once the proxy is in the router's
    /// routing table.
    func routedRoute(_ reference: ProxyReference, through info: RouterInfo) async throws -> Route {
        let endpoints = try await info.clientEndpoints(self)
        // The connection first: a new one is a new session, whose routing table is empty
        // (`RouterInfo.connectionOpened`), so the proxy is added to that one.
        let route = try await connection(to: endpoints, reference)
        try await info.addIfNeeded(reference.data, self)
        return route
    }

    /// An adapter that receives its requests through `router` (Glacier2's callbacks): it
    /// listens nowhere, its proxies carry the router's server endpoints, and the connections
    /// to the router — the one open now and any opened later — dispatch the requests the
    /// router forwards over them. With Glacier2, give its objects identities in the category
    /// `getCategoryForClient()` returns, and create the adapter after the session. One adapter
    /// per router, as in Ice.
    public func createObjectAdapterWithRouter(name: String, router: any ObjectPrx) async throws -> ObjectAdapter {
        let routerData = router._reference.data
        remember(router: router._reference)
        let info = routerInfo(routerData)
        let adapter = try makeObjectAdapter(name: name)
        // Claimed before any await, so that two adapters made at once cannot both take it.
        if let existing = info.claim(adapter) {
            await adapter.destroy()
            throw LocalError(
                .alreadyRegistered,
                "the router '\(ProxyStringFormatter.format(routerData))' has an object adapter already ('\(existing.name)')"
            )
        }
        do {
            let calls = RouterCalls(router: routerData, communicator: self)
            let server = try await calls.getServerProxy().map(withDefaultHost)
            let published = (server?.endpoints ?? []).compactMap { endpoint -> IPEndpointData? in
                if case .ip(let ip) = endpoint { return ip }
                return nil
            }
            guard !published.isEmpty else {
                throw LocalError(
                    .noEndpoint,
                    "the router '\(ProxyStringFormatter.format(routerData))' has no server endpoints for callbacks")
            }
            adapter.storePublishedEndpoints(published)
            _ = try await info.clientEndpoints(self)
            for connection in openConnections(where: info.isClientEndpoint) { await connection.setAdapter(adapter) }
            return adapter
        } catch {
            await adapter.destroy()  // (deactivated: the router is free for another)
            throw error
        }
    }

    /// Sets up a new connection to `endpoint` when that is a router's client endpoint: it
    /// keeps the session (`keepAlive`) and takes callbacks for the router's adapter, if any
    /// (see `createObjectAdapterWithRouter`).
    /// Several records may share the connection (proxies of one router that differ in a
    /// setting, such as an endpoint's timeout): it is a new session for each of them.
    func setUpIfRouted(_ connection: any Connection, to endpoint: IPEndpointData) async {
        let infos = routers.withLockedValue { $0.isEmpty ? [] : Array($0.values) }.filter {
            $0.isClientEndpoint(endpoint)
        }
        guard !infos.isEmpty else { return }
        for info in infos { info.connectionOpened() }
        let told = infos.compactMap(\.keepAlive).min()
        await keepAlive([connection], for: infos)
        // The router's answer may have come meanwhile, and gone only to connections already open.
        if infos.compactMap(\.keepAlive).min() != told { await keepAlive([connection], for: infos) }
        if let adapter = infos.lazy.compactMap(\.adapter).first(where: { !$0.isDeactivated }) {
            await connection.setAdapter(adapter)
        }
    }

    /// A Glacier2 session ends with its connection: a router's client connections are never
    /// closed for idleness, and heartbeat often enough for the router's timeout (what ZeroC's
    /// `SessionHelper` sets with `setACM`), the shortest one said when several records share
    /// them.
    func keepAlive(_ connections: [any Connection], for infos: [RouterInfo]) async {
        let timeout = infos.compactMap(\.keepAlive).min()
        for connection in connections { await connection.setACM(timeout: timeout, close: .off, heartbeats: true) }
    }

    /// The open outgoing connections whose endpoint satisfies `matches`.
    func openConnections(where matches: (IPEndpointData) -> Bool) -> [any Connection] {
        state.withLockedValue { state in
            state.connections.compactMap { key, task in
                guard matches(key.endpoint), let open = task.settledConnection, !open.isClosed else { return nil }
                return open
            }
        }
    }
}

extension ProxyReference {
    /// A reference to a router: never itself routed, whatever `Ice.Default.Router` says.
    static func unrouted(_ router: ProxyData, _ communicator: Communicator) -> ProxyReference {
        var reference = ProxyReference(communicator: communicator, data: router)
        reference.routerInfo = nil
        return communicator.routerSettings(router)?.applied(to: reference) ?? reference
    }
}
