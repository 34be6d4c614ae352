import FloeEncoding

/// Where a registry keeps what it knows, so that a restart forgets nothing. Every change is
/// written before the registry acts on it: a write that fails changes nothing.
protocol RegistryStorage: Sendable {
    /// Everything stored, for the registry's start.
    func load() async throws -> RegistrySnapshot
    func saveAdapter(_ id: String, _ adapter: RegistryState.Adapter?) async throws
    func saveObject(_ id: Identity, _ object: RegistryState.WellKnownObject?) async throws
    func saveGroup(_ id: String, policy: ReplicaGroup.Policy, replicas: Int) async throws
    func saveProcess(_ serverId: String, _ proxy: ProxyData?) async throws
    func close() async
}

/// What a storage holds.
struct RegistrySnapshot: Sendable {
    /// In the order of their latest registration, which the `ordered` policy keeps.
    var adapters: [(id: String, adapter: RegistryState.Adapter)] = []
    var objects: [Identity: RegistryState.WellKnownObject] = [:]
    var groups: [String: (policy: ReplicaGroup.Policy, replicas: Int)] = [:]
    var processes: [String: ProxyData] = [:]
}
