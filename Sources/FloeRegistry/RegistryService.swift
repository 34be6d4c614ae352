public import FloeCore
import FloeEncoding
public import FloeIce

/// A locator registry that ZeroC peers and Floe use alike: `::Ice::Locator` at
/// `<instance>/Locator`, `::Ice::LocatorRegistry` at `<instance>/LocatorRegistry` and
/// `Ice/LocatorFinder`, all on one object adapter, with floe-admin's `<instance>/Admin` (for the
/// callers `CallerAccess` allows).
///
/// ```swift
/// let registry = try await RegistryService(communicator: communicator, endpoints: "tcp -h 127.0.0.1 -p 4061")
/// // clients and servers: Ice.Default.Locator=FloeRegistry/Locator:tcp -h 127.0.0.1 -p 4061
/// ```
public final class RegistryService: Sendable {
    public let instanceName: String
    public let adapter: ObjectAdapter
    /// The locator proxy clients and servers name in `Ice.Default.Locator`.
    public let locator: any LocatorPrx
    let state: RegistryState
    private let checker: Task<Void, Never>?

    /// Serves on `endpoints`, keeping what it learns in `dataDirectory` (an SQLite database,
    /// `registry.sqlite`; nil: in memory only), and at most `limit` adapters, objects and replica
    /// groups each. `middleware` (see `ObjectAdapter.use`) runs before the servants, in order.
    /// The admin interface (`<instance>/Admin`) serves the callers `adminAccess` allows, and
    /// the locator registry takes registrations from those `registrationAccess` allows.
    public init(
        communicator: Communicator, instanceName: String = "FloeRegistry", endpoints: String,
        dataDirectory: String? = nil, liveness: Liveness? = Liveness(), allowOverwrite: Bool = false,
        limit: Int = 100_000, adminAccess: CallerAccess = .local, registrationAccess: CallerAccess = .local,
        adapterName: String = "FloeRegistry", middleware: [@Sendable (any Dispatcher) -> any Dispatcher] = []
    ) async throws {
        self.instanceName = instanceName
        var storage: SQLiteRegistryStorage?
        if let dataDirectory {
            storage = try await SQLiteRegistryStorage(directory: dataDirectory, communicator: communicator)
        }
        do {
            state = try await RegistryState(storage: storage, limit: limit)
        } catch {
            await storage?.close()
            throw error
        }
        do {
            adapter = try await communicator.createObjectAdapterWithEndpoints(name: adapterName, endpoints: endpoints)
        } catch {
            await state.close()
            throw error
        }
        do {
            for wrap in middleware { try adapter.use(wrap) }
            let registryProxy = try adapter.add(
                servant: LocatorRegistryServant(
                    state: state, allowOverwrite: allowOverwrite, pingTimeout: liveness?.timeout ?? .seconds(2),
                    access: registrationAccess),
                id: Identity(name: "LocatorRegistry", category: instanceName))
            let registry = uncheckedCast(prx: registryProxy, type: (any LocatorRegistryPrx).self)
            let locatorProxy = try adapter.add(
                servant: LocatorServant(state: state, registry: registry),
                id: Identity(name: "Locator", category: instanceName))
            locator = uncheckedCast(prx: locatorProxy, type: (any LocatorPrx).self)
            try adapter.add(
                servant: LocatorFinderServant(locator: locator), id: Identity(name: "LocatorFinder", category: "Ice"))
            try adapter.add(
                servant: AdminAccessCheck(next: AdminServant(state: state), access: adminAccess),
                id: Identity(name: "Admin", category: instanceName))
            try await adapter.activate()
        } catch {
            await adapter.destroy()
            await state.close()
            throw error
        }
        await state.setGrace(liveness?.grace)
        let state = state
        checker = liveness.map { liveness in
            Task { await Self.checkLiveness(state, communicator: communicator, every: liveness) }
        }
    }

    /// Stops serving and closes the storage.
    public func close() async {
        checker?.cancel()
        await adapter.destroy()
        await state.close()
    }

    /// Adds (or replaces) a well-known object: `findObjectById(proxy's identity)` answers `proxy`.
    /// Throws `invalidArgument` for a proxy the registry could not store (see `StorableProxy`).
    public func addObject(
        _ proxy: any ObjectPrx, type: String = "::Ice::Object", tags: [String: String] = [:]
    ) async throws {
        if let problem = StorableProxy.problem(proxy, communicator: adapter.communicator) {
            throw LocalError(.invalidArgument, problem)
        }
        try await state.setObject(
            proxy.ice_getIdentity(), RegistryState.WellKnownObject(proxy: proxy._reference.data, type: type, tags: tags)
        )
    }

    public func removeObject(_ id: Identity) async throws { try await state.setObject(id, nil) }

    /// How lookups of replica group `id` choose among its members: `random` (the default),
    /// `ordered` or `round-robin`, returning `replicas` members' endpoints (0: all).
    public func setReplicaGroupPolicy(_ policy: String, replicas: Int = 0, group id: String) async throws {
        guard let parsed = ReplicaGroup.Policy(rawValue: policy) else {
            throw LocalError(
                .invalidArgument,
                "unknown replica-group policy '\(policy)': expected \(ReplicaGroup.Policy.allCases.map(\.rawValue))")
        }
        try await state.setPolicy(parsed, replicas: replicas, group: id)
    }

    /// The adapters registered now, by id, with their endpoints' proxy.
    public func adapters() async -> [String: any ObjectPrx] {
        let communicator = adapter.communicator
        return await state.adapters.mapValues {
            ObjectPrxI(_reference: ProxyReference(communicator: communicator, data: $0.proxy)) as any ObjectPrx
        }
    }
}
