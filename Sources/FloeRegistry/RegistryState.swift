import FloeCore
import FloeEncoding

/// What a registry knows: adapters and their endpoints, replica groups and their policies,
/// well-known objects, and servers' Process proxies. An actor: registrations and lookups
/// come from many connections at once. With a storage, every change is written there first,
/// and changes run one at a time (see `oneAtATime`).
actor RegistryState {
    private let storage: (any RegistryStorage)?
    /// How many adapters, objects and replica groups each it keeps at most: registrations come
    /// from the network (`LocatorRegistry` serves anyone, as IceGrid's dynamic registration
    /// does), so no peer may make it grow without bound. A full table refuses new entries;
    /// existing ones still change.
    let limit: Int

    init(storage: (any RegistryStorage)? = nil, limit: Int = 100_000) async throws {
        self.storage = storage
        self.limit = limit
        guard let snapshot = try await storage?.load() else { return }
        objects = snapshot.objects
        processes = snapshot.processes
        for (id, settings) in snapshot.groups {
            var group = ReplicaGroup()
            (group.policy, group.replicas, group.configured) = (settings.policy, settings.replicas, true)
            groups[id] = group
        }
        for (id, adapter) in snapshot.adapters {
            adapters[id] = adapter
            if !adapter.replicaGroupId.isEmpty {
                groups[adapter.replicaGroupId, default: ReplicaGroup()].members.append(id)
            }
        }
    }

    func close() async { await storage?.close() }

    /// Whether a change is being written, and the changes waiting for it, in arrival order.
    private var changing = false
    private var waitingChanges: [CheckedContinuation<Void, Never>] = []

    /// Runs a change alone. The actor lets other calls in while a change awaits its storage
    /// write: without this, concurrent registrations all pass the limit's check before any is
    /// counted, and two of one id could leave memory and storage holding different ones.
    /// Lookups never wait for it. The waiting changes are dispatches, so `Floe.MaxDispatches`
    /// bounds how many a flood of registrations can queue here.
    private func oneAtATime<T>(_ change: () async throws -> T) async throws -> T {
        if changing {
            await withCheckedContinuation { waitingChanges.append($0) }
        } else {
            changing = true
        }
        defer {
            // Hand over to the next change directly: `changing` stays set for it.
            if waitingChanges.isEmpty { changing = false } else { waitingChanges.removeFirst().resume() }
        }
        return try await change()
    }

    struct Adapter: Sendable {
        /// The direct proxy the server registered (identity `dummy`, its published endpoints).
        var proxy: ProxyData
        var replicaGroupId: String
    }

    struct WellKnownObject: Sendable {
        var proxy: ProxyData
        var type: String
        var tags: [String: String]
    }

    private(set) var adapters: [String: Adapter] = [:]
    private(set) var groups: [String: ReplicaGroup] = [:]
    private(set) var objects: [Identity: WellKnownObject] = [:]
    private(set) var processes: [String: ProxyData] = [:]
    /// Adapters that did not answer the liveness check, since when (not stored: a restarted
    /// registry checks again).
    var silentSince: [String: ContinuousClock.Instant] = [:]
    /// How long an adapter may stay silent before lookups leave it out (nil: never).
    var grace: Duration?

    func setGrace(_ grace: Duration?) { self.grace = grace }

    /// Whether adapter `id` answered its last liveness check (true before any check).
    func answeredLastCheck(_ id: String) -> Bool { silentSince[id] == nil }

    /// Replica groups with members or a policy, for the admin interface.
    var groupList: [(id: String, policy: ReplicaGroup.Policy, replicas: Int, members: [String])] {
        groups.map { ($0.key, $0.value.policy, $0.value.replicas, $0.value.members) }.sorted { $0.id < $1.id }
    }

    /// Whether lookups may return adapter `id`: not silent for longer than the grace period.
    private func isLive(_ id: String, now: ContinuousClock.Instant) -> Bool {
        guard let grace, let since = silentSince[id] else { return true }
        return now - since < grace
    }

    /// Registers (or, with nil, unregisters) an adapter, in a replica group when
    /// `replicaGroupId` is not empty. A second registration of an id replaces the first, as
    /// IceGrid's dynamic registration does.
    func setAdapter(_ id: String, replicaGroupId: String, proxy: ProxyData?) async throws {
        try await oneAtATime { try await storeAdapter(id, replicaGroupId: replicaGroupId, proxy: proxy) }
    }

    /// As `setAdapter`, unless the registration it would replace is no longer `seen` (what
    /// `conflictingRegistration` answered before the caller checked that registration's
    /// server): then nothing changes and the answer is false, for the caller to check again.
    /// Two servers registering one id at once would otherwise both pass the check.
    func setAdapter(_ id: String, replicaGroupId: String, proxy: ProxyData, replacing seen: ProxyData?) async throws
        -> Bool
    {
        try await oneAtATime {
            guard conflictingRegistration(id, proxy: proxy) == seen else { return false }
            try await storeAdapter(id, replicaGroupId: replicaGroupId, proxy: proxy)
            return true
        }
    }

    private func storeAdapter(_ id: String, replicaGroupId: String, proxy: ProxyData?) async throws {
        // What is registered already is not written again (nor is unregistering what is not):
        // a server registering once more, or a peer repeating one registration, cost a storage
        // write each, and every change waits its turn. The adapter keeps its place in its group.
        let old = adapters[id]
        if let proxy, old?.proxy == proxy, old?.replicaGroupId == replicaGroupId {
            silentSince[id] = nil
            return
        }
        if proxy == nil, old == nil { return }
        if proxy != nil, adapters[id] == nil { try checkRoom(adapters.count, "adapters") }
        if proxy != nil, !replicaGroupId.isEmpty, groups[replicaGroupId] == nil {
            // Moving from a group it alone made frees that group's place.
            let frees = adapters[id].map { old in
                old.replicaGroupId != replicaGroupId
                    && groups[old.replicaGroupId].map { $0.members == [id] && !$0.configured } ?? false
            }
            try checkRoom(groups.count - (frees == true ? 1 : 0), "replica groups")
        }
        try await storage?.saveAdapter(id, proxy.map { Adapter(proxy: $0, replicaGroupId: replicaGroupId) })
        if let old = adapters[id], !old.replicaGroupId.isEmpty {
            groups[old.replicaGroupId]?.members.removeAll { $0 == id }
            // A group made by its members goes with the last of them; one with a policy set
            // stays. (Kept, one adapter could fill the table by joining group after group.)
            if let group = groups[old.replicaGroupId], group.members.isEmpty, !group.configured {
                groups[old.replicaGroupId] = nil
            }
        }
        silentSince[id] = nil
        guard let proxy else {
            adapters[id] = nil
            return
        }
        adapters[id] = Adapter(proxy: proxy, replicaGroupId: replicaGroupId)
        if !replicaGroupId.isEmpty {
            groups[replicaGroupId, default: ReplicaGroup()].members.append(id)
        }
    }

    /// The endpoints a lookup of `id` answers with: the adapter's, or its replica group's as the
    /// group's policy orders and counts them; nil when neither exists.
    func lookUpAdapter(_ id: String) -> LookUp {
        let now = ContinuousClock.now
        if let adapter = adapters[id] { return isLive(id, now: now) ? .found(adapter.proxy) : .inactive }
        guard var group = groups[id], !group.members.isEmpty else { return .unknown }
        // Bounded, as anyone admitted may add members: past this, a lookup would answer with
        // more than any client reads (Ice.MessageSizeMax), and build it every time.
        var endpointCount = 0
        let members = group.select({ isLive($0, now: now) }) { member in
            endpointCount += self.adapters[member]?.proxy.endpoints.count ?? 0
            return endpointCount < Self.maxGroupEndpoints
        }
        groups[id] = group
        guard !members.isEmpty else { return .inactive }
        let endpoints = Array(
            members.lazy.flatMap { self.adapters[$0]?.proxy.endpoints ?? [] }.prefix(Self.maxGroupEndpoints))
        return .found(ProxyData(identity: Identity(name: "dummy"), endpoints: endpoints))
    }

    /// The most endpoints a replica group's lookup answers with, its members taken in the
    /// policy's order.
    static let maxGroupEndpoints = 1_024

    enum LookUp {
        case found(ProxyData)
        /// Registered, but not answering: the locator answers with a null proxy, as for an
        /// adapter that is not active.
        case inactive
        case unknown
    }

    /// The registration another server would replace by registering `id` with `proxy`, if any.
    /// One with other endpoints but the same identity in a category of its own comes from the
    /// same adapter (Floe's adapters register `<unique category>/dummy`), as after
    /// `setPublishedEndpoints`; ZeroC's register a plain `dummy`.
    func conflictingRegistration(_ id: String, proxy: ProxyData?) -> ProxyData? {
        guard let proxy, let existing = adapters[id]?.proxy, existing.endpoints != proxy.endpoints,
            existing.identity.category.isEmpty || existing.identity != proxy.identity
        else { return nil }
        return existing
    }

    /// Refuses a new entry for a table of `count` entries, once it holds `limit`.
    private func checkRoom(_ count: Int, _ table: String) throws {
        guard count < limit else {
            throw LocalError(.invalidArgument, "the registry holds \(limit) \(table), its limit; nothing was added")
        }
    }

    func setPolicy(_ policy: ReplicaGroup.Policy, replicas: Int, group id: String) async throws {
        try await oneAtATime {
            if groups[id] == nil { try checkRoom(groups.count, "replica groups") }
            try await storage?.saveGroup(id, policy: policy, replicas: max(0, replicas))
            groups[id, default: ReplicaGroup()].policy = policy
            groups[id, default: ReplicaGroup()].replicas = max(0, replicas)
            groups[id, default: ReplicaGroup()].configured = true
        }
    }

    func setObject(_ id: Identity, _ object: WellKnownObject?) async throws {
        try await oneAtATime {
            if object != nil, objects[id] == nil { try checkRoom(objects.count, "objects") }
            try await storage?.saveObject(id, object)
            objects[id] = object
        }
    }

    func setProcess(_ serverId: String, _ proxy: ProxyData?) async throws {
        try await oneAtATime { try await storeProcess(serverId, proxy) }
    }

    /// As `setProcess`, unless the registered proxy is no longer `seen` (compare-and-set, as
    /// `setAdapter(_:replicaGroupId:proxy:replacing:)`).
    func setProcess(_ serverId: String, _ proxy: ProxyData?, replacing seen: ProxyData?) async throws -> Bool {
        try await oneAtATime {
            guard processes[serverId] == seen else { return false }
            try await storeProcess(serverId, proxy)
            return true
        }
    }

    private func storeProcess(_ serverId: String, _ proxy: ProxyData?) async throws {
        guard processes[serverId] != proxy else { return }  // (no write for nothing new)
        if proxy != nil, processes[serverId] == nil { try checkRoom(processes.count, "server processes") }
        try await storage?.saveProcess(serverId, proxy)
        processes[serverId] = proxy
    }
}

/// Adapters that register under one replica group id, and how lookups of the group choose among
/// them.
struct ReplicaGroup: Sendable {
    enum Policy: String, Sendable, CaseIterable {
        /// A random order for every lookup (the default, as in IceGrid).
        case random
        /// Registration order, so clients fail over in that order.
        case ordered
        /// Each lookup starts one member further.
        case roundRobin = "round-robin"
    }

    var members: [String] = []
    var policy = Policy.random
    /// How many members' endpoints a lookup returns; 0 means all.
    var replicas = 0
    /// Whether the group's policy was set (and stored); otherwise it exists while it has members.
    var configured = false
    private var next = 0

    /// The members one lookup answers with, in order, among those `isLive` accepts, as many as
    /// `replicas` says and as long as `more` (told each one taken) agrees. Members are visited
    /// in the policy's order only as far as the answer needs: a lookup shuffled and checked the
    /// whole group, on the registry's actor, however few it answered with (anyone admitted may
    /// add members, up to the adapters' limit).
    mutating func select(_ isLive: (String) -> Bool, while more: (String) -> Bool = { _ in true }) -> [String] {
        guard !members.isEmpty else { return [] }
        let count = members.count
        let start: Int
        switch policy {
        case .random, .ordered: start = 0
        case .roundRobin:
            start = next % count
            next = (start + 1) % count
        }
        // The random order is a Fisher–Yates shuffle done one step per member taken, its swaps
        // kept aside: the members themselves are not copied.
        var swapped: [Int: Int] = [:]
        var chosen: [String] = []
        for step in 0..<count {
            let index: Int
            switch policy {
            case .ordered: index = step
            case .roundRobin: index = (start + step) % count
            case .random:
                let other = Int.random(in: step..<count)
                index = swapped[other] ?? other
                swapped[other] = swapped[step] ?? step
            }
            let member = members[index]
            guard isLive(member) else { continue }
            chosen.append(member)
            if (replicas > 0 && chosen.count == replicas) || !more(member) { break }
        }
        return chosen
    }
}
