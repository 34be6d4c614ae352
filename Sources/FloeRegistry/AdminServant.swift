import FloeCore
import FloeEncoding
import FloeIce

/// `::FloeAdmin::Admin`: what floe-admin reads and changes. Bad input is refused with an
/// `AdminError` saying why, before anything changes.
struct AdminServant: Admin {
    let state: RegistryState

    func getObjects(current: Current) async throws -> ObjectInfoSeq {
        await objects(current) { _ in true }
    }

    func findObjectsByType(type: String, current: Current) async throws -> ObjectInfoSeq {
        await objects(current) { $0.type == type }
    }

    func findObjectsByTags(tags: Tags, current: Current) async throws -> ObjectInfoSeq {
        await objects(current) { object in tags.allSatisfy { object.tags[$0.key] == $0.value } }
    }

    func addObject(info: ObjectInfo, current: Current) async throws {
        guard let proxy = info.proxy else { throw AdminError(reason: "a well-known object needs a proxy") }
        guard !proxy.ice_getIdentity().name.isEmpty else {
            throw AdminError(reason: "a well-known object's identity needs a name")
        }
        guard !proxy.ice_getEndpoints().isEmpty || !proxy.ice_getAdapterId().isEmpty else {
            throw AdminError(reason: "'\(proxy)' has neither endpoints nor an adapter id: no one could reach it")
        }
        if let problem = StorableProxy.problem(proxy, communicator: current.adapter.communicator) {
            throw AdminError(reason: problem)
        }
        let type = info.type.isEmpty ? "::Ice::Object" : info.type
        guard type.hasPrefix("::") else { throw AdminError(reason: "'\(type)' is not a type id (::Module::Type)") }
        if let problem = StorableProxy.problem(id: type, kind: "type") {
            throw AdminError(reason: problem)
        }
        let tagBytes = info.tags.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        guard tagBytes <= StorableProxy.maxTextBytes else {
            throw AdminError(
                reason: "tags of \(tagBytes) bytes, more than the \(StorableProxy.maxTextBytes) the registry keeps")
        }
        try await refusing {
            try await state.setObject(
                proxy.ice_getIdentity(),
                RegistryState.WellKnownObject(proxy: proxy._reference.data, type: type, tags: info.tags))
        }
    }

    func removeObject(id: Identity, current: Current) async throws {
        guard await state.objects[id] != nil else {
            throw AdminError(reason: "no object '\(current.adapter.communicator.identityToString(id))'")
        }
        try await state.setObject(id, nil)
    }

    func getAdapters(current: Current) async throws -> AdapterInfoSeq {
        let communicator = current.adapter.communicator
        var infos: AdapterInfoSeq = []
        for (id, adapter) in await state.adapters.sorted(by: { $0.key < $1.key }) {
            infos.append(
                AdapterInfo(
                    id: id, replicaGroupId: adapter.replicaGroupId,
                    proxy: ObjectPrxI(_reference: ProxyReference(communicator: communicator, data: adapter.proxy)),
                    live: await state.answeredLastCheck(id)))
        }
        return infos
    }

    func removeAdapter(id: String, current: Current) async throws {
        guard await state.adapters[id] != nil else { throw AdminError(reason: "no adapter '\(id)'") }
        try await state.setAdapter(id, replicaGroupId: "", proxy: nil)
    }

    func getReplicaGroups(current: Current) async throws -> ReplicaGroupInfoSeq {
        await state.groupList.map {
            ReplicaGroupInfo(
                id: $0.id, policy: $0.policy.rawValue, replicas: Int32(clamping: $0.replicas), members: $0.members)
        }
    }

    func setReplicaGroupPolicy(id: String, policy: String, replicas: Int32, current: Current) async throws {
        guard !id.isEmpty else { throw AdminError(reason: "a replica group needs an id") }
        if let problem = StorableProxy.problem(id: id, kind: "replica group") { throw AdminError(reason: problem) }
        guard let parsed = ReplicaGroup.Policy(rawValue: policy) else {
            throw AdminError(
                reason:
                    "unknown policy '\(policy)': expected \(ReplicaGroup.Policy.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        guard replicas >= 0 else { throw AdminError(reason: "replicas must be 0 (all) or more") }
        try await refusing { try await state.setPolicy(parsed, replicas: Int(replicas), group: id) }
    }

    func getServers(current: Current) async throws -> ServerInfoSeq {
        let communicator = current.adapter.communicator
        return await state.processes.sorted(by: { $0.key < $1.key }).map {
            ServerInfo(
                id: $0.key, process: ObjectPrxI(_reference: ProxyReference(communicator: communicator, data: $0.value)))
        }
    }

    func stopServer(id: String, current: Current) async throws {
        guard let process = await state.processes[id] else {
            throw AdminError(reason: "server '\(id)' registered no Process proxy")
        }
        let proxy = uncheckedCast(
            prx: ObjectPrxI(_reference: ProxyReference(communicator: current.adapter.communicator, data: process)),
            type: (any ProcessPrx).self)
        do {
            try await proxy.shutdown()
        } catch {
            throw AdminError(reason: "server '\(id)' did not take the shutdown request: \(error)")
        }
    }

    /// Runs a change; the registry's own refusal (a full table) becomes an `AdminError`.
    private func refusing(_ change: () async throws -> Void) async throws {
        do {
            try await change()
        } catch let error as LocalError {
            throw AdminError(reason: error.message)
        }
    }

    private func objects(_ current: Current, where include: (RegistryState.WellKnownObject) -> Bool) async
        -> ObjectInfoSeq
    {
        let communicator = current.adapter.communicator
        return await state.objects.values.filter(include).map { object in
            ObjectInfo(
                proxy: ObjectPrxI(_reference: ProxyReference(communicator: communicator, data: object.proxy)),
                type: object.type, tags: object.tags)
        }.sorted { ($0.proxy?.description ?? "") < ($1.proxy?.description ?? "") }
    }
}
