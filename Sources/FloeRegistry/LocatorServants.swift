import FloeCore
import FloeEncoding
import FloeIce

/// `::Ice::Locator`: resolves adapter ids and well-known objects from the registry's state.
struct LocatorServant: Locator {
    let state: RegistryState
    let registry: any LocatorRegistryPrx

    func findObjectById(id: Identity, current: Current) async throws -> (any ObjectPrx)? {
        guard let object = await state.objects[id] else { throw ObjectNotFoundException() }
        return ObjectPrxI(_reference: ProxyReference(communicator: current.adapter.communicator, data: object.proxy))
    }

    func findAdapterById(id: String, current: Current) async throws -> (any ObjectPrx)? {
        guard let proxy = await state.lookUpAdapter(id) else { throw AdapterNotFoundException() }
        return ObjectPrxI(_reference: ProxyReference(communicator: current.adapter.communicator, data: proxy))
    }

    func getRegistry(current: Current) async throws -> (any LocatorRegistryPrx)? { registry }
}

/// `::Ice::LocatorRegistry`: where servers register their adapters' endpoints on activation.
struct LocatorRegistryServant: LocatorRegistry {
    let state: RegistryState

    func setAdapterDirectProxy(id: String, proxy: (any ObjectPrx)?, current: Current) async throws {
        try Self.check(id)
        await state.setAdapter(id, replicaGroupId: "", proxy: proxy?._reference.data)
    }

    func setReplicatedAdapterDirectProxy(
        adapterId: String, replicaGroupId: String, proxy: (any ObjectPrx)?, current: Current
    ) async throws {
        try Self.check(adapterId)
        guard !replicaGroupId.isEmpty, replicaGroupId != adapterId else { throw InvalidReplicaGroupIdException() }
        await state.setAdapter(adapterId, replicaGroupId: replicaGroupId, proxy: proxy?._reference.data)
    }

    func setServerProcessProxy(id: String, proxy: (any ProcessPrx)?, current: Current) async throws {
        guard !id.isEmpty else { throw ServerNotFoundException() }
        await state.setProcess(id, proxy?._reference.data)
    }

    /// An empty adapter id names nothing: refused, and nothing changes.
    private static func check(_ id: String) throws {
        guard !id.isEmpty else { throw AdapterNotFoundException() }
    }
}

/// `Ice/LocatorFinder`: a client that knows only the registry's endpoint gets its locator.
struct LocatorFinderServant: LocatorFinder {
    let locator: any LocatorPrx

    func getLocator(current: Current) async throws -> (any LocatorPrx)? { locator }
}
