import FloeCore
import FloeEncoding
import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import FloeRegistry

/// Registrations that arrive together: each waits for its storage write, and the registry's
/// state must come out as if they had arrived one after the other.
@Suite("Registry state under concurrent changes", .timeLimit(.minutes(1)))
struct RegistryStateTests {
    /// A storage whose writes take long, the earlier ones longest: changes that ran side by
    /// side would finish in the reverse of the order they were written in.
    private final class SlowStorage: RegistryStorage {
        private let saved = NIOLockedValueBox<(calls: Int, adapters: [String: RegistryState.Adapter])>((0, [:]))

        var adapters: [String: RegistryState.Adapter] { saved.withLockedValue { $0.adapters } }
        var calls: Int { saved.withLockedValue { $0.calls } }

        func saveAdapter(_ id: String, _ adapter: RegistryState.Adapter?) async throws {
            let call = saved.withLockedValue {
                $0.adapters[id] = adapter
                $0.calls += 1
                return $0.calls
            }
            try await Task.sleep(for: .milliseconds(max(1, 60 - 10 * call)))
        }

        func load() async throws -> RegistrySnapshot { RegistrySnapshot() }
        func saveObject(_ id: Identity, _ object: RegistryState.WellKnownObject?) async throws {}
        func saveGroup(_ id: String, policy: ReplicaGroup.Policy, replicas: Int) async throws {}
        func saveProcess(_ serverId: String, _ proxy: ProxyData?) async throws {}
        func close() async {}
    }

    private static func proxy(port: Int32) -> ProxyData {
        ProxyData(identity: Identity(name: "dummy"), endpoints: [.ip(IPEndpointData(host: "127.0.0.1", port: port))])
    }

    /// Registering what is registered already writes nothing (nor does unregistering what is
    /// not): each cost a storage write, an fsync, and a flood of one repeated registration
    /// queued them all behind each other (every change waits its turn).
    @Test func aRegistrationThatChangesNothingIsNotWritten() async throws {
        let storage = SlowStorage()
        let state = try await RegistryState(storage: storage)
        for _ in 0..<5 { try await state.setAdapter("A", replicaGroupId: "G", proxy: Self.proxy(port: 4000)) }
        try await state.setAdapter("Unknown", replicaGroupId: "", proxy: nil)
        #expect(storage.calls == 1)
        // Changes are written: another group, then another endpoint.
        try await state.setAdapter("A", replicaGroupId: "", proxy: Self.proxy(port: 4000))
        try await state.setAdapter("A", replicaGroupId: "", proxy: Self.proxy(port: 4001))
        #expect(storage.calls == 3)
        #expect(await state.groups["G"] == nil)
        #expect(await state.adapters["A"]?.proxy == Self.proxy(port: 4001))
    }

    /// A lookup of a large replica group looks at the members it answers with, not at the whole
    /// group: each lookup shuffled and checked every member (for two replicas of 20,000 members,
    /// 20,000 liveness checks), on the registry's actor that every lookup waits for.
    @Test(arguments: ReplicaGroup.Policy.allCases)
    func aGroupLookupVisitsOnlyTheMembersItAnswersWith(policy: ReplicaGroup.Policy) {
        var group = ReplicaGroup()
        group.members = (0..<20_000).map { "A\($0)" }
        group.policy = policy
        group.replicas = 2
        var checked = 0
        let chosen = group.select { _ in
            checked += 1
            return true
        }
        #expect(chosen.count == 2 && Set(chosen).count == 2)
        #expect(checked == 2)
        // Silent members are left out, and every order still reaches every other member once.
        group.replicas = 0
        let all = group.select { $0 != "A5" }
        #expect(all.count == 19_999 && Set(all).count == 19_999 && !all.contains("A5"))
        if policy == .ordered { #expect(all.first == "A0" && all.last == "A19999") }
    }

    @Test func aFullRegistryTakesNoMoreThanItsLimitFromConcurrentRegistrations() async throws {
        let storage = SlowStorage()
        let state = try await RegistryState(storage: storage, limit: 3)
        let accepted = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<8 {
                group.addTask {
                    (try? await state.setAdapter("A\(index)", replicaGroupId: "", proxy: Self.proxy(port: 4000)))
                        != nil
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(accepted == 3)
        #expect(await state.adapters.count == 3)
        #expect(storage.adapters.count == 3)
    }

    @Test func concurrentRegistrationsOfOneIdLeaveMemoryAndStorageAgreeing() async throws {
        let storage = SlowStorage()
        let state = try await RegistryState(storage: storage)
        await withTaskGroup(of: Void.self) { group in
            for port in Int32(4000)..<4005 {
                group.addTask {
                    try? await state.setAdapter(
                        "A", replicaGroupId: port % 2 == 0 ? "G" : "", proxy: Self.proxy(port: port))
                }
            }
        }
        let inMemory = try #require(await state.adapters["A"])
        let stored = try #require(storage.adapters["A"])
        #expect(inMemory.proxy == stored.proxy)
        #expect(inMemory.replicaGroupId == stored.replicaGroupId)
        // The group lists the adapter exactly when its registration says so.
        let members = await state.groups["G"]?.members ?? []
        #expect(members == (inMemory.replicaGroupId == "G" ? ["A"] : []))
    }

    /// The `ordered` policy answers in registration order, after a restart too (the stored
    /// adapters were read back sorted by id: B then A came back as A then B).
    @Test func anOrderedGroupKeepsItsOrderAcrossARestart() async throws {
        let directory = NSTemporaryDirectory() + "floe-ordered-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let communicator = Communicator()
        let storage = try await SQLiteRegistryStorage(directory: directory, communicator: communicator)
        let state = try await RegistryState(storage: storage)
        try await state.setPolicy(.ordered, replicas: 0, group: "G")
        for (id, port) in [("B", Int32(4001)), ("A", 4002), ("C", 4003)] {
            try await state.setAdapter(id, replicaGroupId: "G", proxy: Self.proxy(port: port))
        }
        try await state.setAdapter("B", replicaGroupId: "G", proxy: Self.proxy(port: 4004))  // re-registered: last
        let before = await state.lookUpAdapter("G")
        await state.close()
        let restarted = try await RegistryState(
            storage: try await SQLiteRegistryStorage(directory: directory, communicator: communicator))
        let after = await restarted.lookUpAdapter("G")
        for lookUp in [before, after] {
            guard case .found(let proxy) = lookUp else {
                Issue.record("group G not found")
                continue
            }
            #expect(
                proxy.endpoints.compactMap { if case .ip(let ip) = $0 { ip.port } else { nil } } == [
                    Int32(4002), 4003, 4004,
                ])
        }
        await restarted.close()
        await communicator.destroy()
    }

    /// A group made by its members goes with the last of them, so one adapter joining group
    /// after group cannot fill the table (it did: with room for 3 groups, the fourth was refused
    /// to everyone); a group with a policy stays. Unregistering never needs room.
    @Test func emptyGroupsGoUnlessTheyHaveAPolicy() async throws {
        let state = try await RegistryState(limit: 3)
        try await state.setPolicy(.ordered, replicas: 0, group: "Kept")
        for index in 0..<10 {
            try await state.setAdapter("Roamer", replicaGroupId: "G\(index)", proxy: Self.proxy(port: 4000))
        }
        try await state.setAdapter("Other", replicaGroupId: "Fresh", proxy: Self.proxy(port: 4001))
        #expect(await Set(state.groups.keys) == ["Kept", "G9", "Fresh"])
        // The table is full, but moving from a group it alone made frees a place.
        try await state.setAdapter("Roamer", replicaGroupId: "G10", proxy: Self.proxy(port: 4000))
        #expect(await Set(state.groups.keys) == ["Kept", "G10", "Fresh"])
        try await state.setAdapter("Roamer", replicaGroupId: "Unknown", proxy: nil)
        try await state.setAdapter("Other", replicaGroupId: "Fresh", proxy: nil)
        #expect(await Set(state.groups.keys) == ["Kept"])
        #expect(await state.adapters.isEmpty)
    }
}
