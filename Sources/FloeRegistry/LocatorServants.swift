import FloeCore
import FloeEncoding
import FloeIce
import Logging
import Synchronization

/// `::Ice::Locator`: resolves adapter ids and well-known objects from the registry's state.
struct LocatorServant: Locator {
    let state: RegistryState
    let registry: any LocatorRegistryPrx

    /// Well-known objects, the registry's own Locator and LocatorRegistry among them (as
    /// IceGrid answers: a client given only one finds the other).
    func findObjectById(id: Identity, current: Current) async throws -> (any ObjectPrx)? {
        if id == current.id { return current.adapter.createProxy(id) }
        if id == registry.ice_getIdentity() { return registry }
        guard let object = await state.objects[id] else { throw ObjectNotFoundException() }
        return ObjectPrxI(_reference: ProxyReference(communicator: current.adapter.communicator, data: object.proxy))
    }

    func findAdapterById(id: String, current: Current) async throws -> (any ObjectPrx)? {
        switch await state.lookUpAdapter(id) {
        case .found(let proxy):
            return ObjectPrxI(_reference: ProxyReference(communicator: current.adapter.communicator, data: proxy))
        case .inactive: return nil
        case .unknown: throw AdapterNotFoundException()
        }
    }

    func getRegistry(current: Current) async throws -> (any LocatorRegistryPrx)? { registry }
}

/// `::Ice::LocatorRegistry`: where servers register their adapters' endpoints on activation.
struct LocatorRegistryServant: LocatorRegistry {
    let state: RegistryState
    /// Whether a registration may replace one whose server still answers (IceGrid's
    /// behaviour); by default that is refused: an adapter with `AdapterAlreadyActiveException`,
    /// a server's process proxy with `ServerNotFoundException`.
    let allowOverwrite: Bool
    let pingTimeout: Duration
    /// Who may register (and unregister): a registration decides where clients are sent.
    let access: CallerAccess
    let refusals = RefusalLog()

    func setAdapterDirectProxy(id: String, proxy: (any ObjectPrx)?, current: Current) async throws {
        guard admits(current, "adapter '\(id)'") else { throw AdapterNotFoundException() }
        try Self.check(id, proxy, current)
        try await register(id, replicaGroupId: "", proxy, current)
    }

    func setReplicatedAdapterDirectProxy(
        adapterId: String, replicaGroupId: String, p proxy: (any ObjectPrx)?, current: Current
    ) async throws {
        guard admits(current, "adapter '\(adapterId)'") else { throw AdapterNotFoundException() }
        try Self.check(adapterId, proxy, current)
        // As IceGrid: an empty group id registers a plain adapter; a group named as its adapter
        // is a group, but the adapter's own entry answers lookups of that id.
        if proxy != nil, !replicaGroupId.isEmpty,
            let problem = StorableProxy.problem(id: replicaGroupId, kind: "replica group")
        {
            throw DispatchError(status: .unknownLocalException, message: problem)
        }
        try await register(adapterId, replicaGroupId: replicaGroupId, proxy, current)
    }

    func setServerProcessProxy(id: String, proxy: (any ProcessPrx)?, current: Current) async throws {
        guard admits(current, "server '\(id)'") else { throw ServerNotFoundException() }
        guard !id.isEmpty else { throw ServerNotFoundException() }
        if proxy != nil, let problem = StorableProxy.problem(id: id, kind: "server") {
            throw DispatchError(status: .unknownLocalException, message: problem)
        }
        if let proxy, let problem = StorableProxy.problem(proxy, communicator: current.adapter.communicator) {
            throw DispatchError(status: .unknownLocalException, message: "server '\(id)': \(problem)")
        }
        let data = proxy?._reference.data
        guard !allowOverwrite else { return try await state.setProcess(id, data) }
        // As for adapters: a server id whose registered process still answers belongs to a
        // running server; another taking it (or removing it first) would get its stop requests.
        for _ in 0..<3 {
            let existing = await state.processes[id]
            if existing == data { return }
            if let existing,
                await Liveness.processAnswers(
                    existing, communicator: current.adapter.communicator, timeout: pingTimeout)
            {
                current.adapter.communicator.logger.warning(
                    "refused \(data == nil ? "to remove" : "another") process for server '\(id)' from \(current.con?.info.remoteAddress ?? "?"): the one registered still answers (Floe.Registry.AllowOverwrite=1 lets a new one take it)"
                )
                throw ServerNotFoundException()
            }
            if try await state.setProcess(id, data, replacing: existing) { return }
        }
        throw ServerNotFoundException()  // registered again and again meanwhile
    }

    /// Whether `access` admits the caller; a refused one gets the answer IceGrid gives with
    /// dynamic registration off (the id is not found), and the registry's log says why, once
    /// in a while (a peer may repeat the call as often as it likes).
    private func admits(_ current: Current, _ what: String) -> Bool {
        guard !access.allows(current.con) else { return true }
        let prefix = "Floe.Registry.Registration"
        refusals.note(current.adapter.communicator.logger) { suppressed in
            "refused to register \(what) from \(current.con?.info.remoteAddress ?? "?")"
                + (suppressed > 0 ? " (and \(suppressed) other registrations since the last warning)" : "")
                + ": \(access.refusal(of: "registration", prefix: prefix))"
        }
        return false
    }

    /// Registers (nil: unregisters) `id`. Another server registering an id whose current
    /// server still answers is refused: it is a configuration mistake (two servers, one adapter
    /// id), not a restart. The server is checked outside the state's one-at-a-time changes (a
    /// check may take `pingTimeout`), so a registration that changed meanwhile is checked again.
    private func register(_ id: String, replicaGroupId: String, _ proxy: (any ObjectPrx)?, _ current: Current)
        async throws
    {
        guard !allowOverwrite, let data = proxy?._reference.data else {
            return try await state.setAdapter(id, replicaGroupId: replicaGroupId, proxy: proxy?._reference.data)
        }
        for _ in 0..<3 {
            let existing = await state.conflictingRegistration(id, proxy: data)
            if let existing,
                await Liveness.answers(existing, communicator: current.adapter.communicator, timeout: pingTimeout)
            {
                throw AdapterAlreadyActiveException()
            }
            if try await state.setAdapter(id, replicaGroupId: replicaGroupId, proxy: data, replacing: existing) {
                return
            }
        }
        throw AdapterAlreadyActiveException()  // registered again and again meanwhile
    }

    /// Refused, changing nothing: an empty adapter id (it names nothing), one longer than
    /// `StorableProxy.maxIdBytes` for a registration, a proxy without
    /// endpoints (clients would get an adapter they cannot reach; IceGrid accepts those), and
    /// one that `StorableProxy` refuses.
    private static func check(_ id: String, _ proxy: (any ObjectPrx)?, _ current: Current) throws {
        guard !id.isEmpty else { throw AdapterNotFoundException() }
        guard let proxy else { return }  // (unregistering: an id stored before the bound still goes)
        if let problem = StorableProxy.problem(id: id, kind: "adapter") {
            throw DispatchError(status: .unknownLocalException, message: problem)
        }
        if proxy.ice_getEndpoints().isEmpty {
            throw DispatchError(
                status: .unknownLocalException,
                message: "adapter '\(id)': a registration needs a direct proxy with endpoints, not '\(proxy)'")
        }
        if let problem = StorableProxy.problem(proxy, communicator: current.adapter.communicator) {
            throw DispatchError(status: .unknownLocalException, message: "adapter '\(id)': \(problem)")
        }
    }
}

/// `Ice/LocatorFinder`: a client that knows only the registry's endpoint gets its locator.
struct LocatorFinderServant: LocatorFinder {
    let locator: any LocatorPrx

    func getLocator(current: Current) async throws -> (any LocatorPrx)? { locator }
}

/// Warns of refused callers at most once every 10 s, counting the others.
final class RefusalLog: Sendable {
    private let state = Mutex<(last: ContinuousClock.Instant?, suppressed: Int)>((nil, 0))

    func note(_ logger: Logger, _ message: (Int) -> String) {
        let now = ContinuousClock.now
        let suppressed = state.withLock { state -> Int? in
            if let last = state.last, now - last < .seconds(10) {
                state.suppressed += 1
                return nil
            }
            defer { state = (now, 0) }
            return state.suppressed
        }
        if let suppressed { logger.warning("\(message(suppressed))") }
    }
}
