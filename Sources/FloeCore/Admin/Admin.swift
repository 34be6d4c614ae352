import FloeEncoding
import Logging
import NIOConcurrencyHelpers

extension Communicator {
    /// The admin object, as Ice's `Communicator.getAdmin()`: created on the first call (and at
    /// the first adapter activation) when `Ice.Admin.Endpoints` is set and `Ice.Admin.Enabled`
    /// is not 0. It is `<Ice.Admin.InstanceName, else a UUID>/admin` on the `Ice.Admin`
    /// adapter, with the facets `Process` (shutdown, `writeMessage`) and `Properties` (read
    /// and change this communicator's properties), or those `Ice.Admin.Facets` lists. nil when
    /// admin is not configured.
    ///
    /// The admin endpoints give whoever reaches them control of the process: listen on
    /// loopback, or on ssl with `IceSSL.TrustOnly.Server` listing the operators.
    public func getAdmin() async throws -> (any ObjectPrx)? {
        let task = try state.withLockedValue { state in
            if state.destroyed { throw LocalError(.communicatorDestroyed, "the communicator is destroyed") }
            if let task = state.admin { return task }
            let task = Task { try await self.createAdmin() }
            state.admin = task
            return task
        }
        let created: AdminObject?
        do {
            created = try await task.value
        } catch {
            // Tried again at the next call or activation: an admin port busy for a moment
            // failed every later activation when the failure was kept.
            state.withLockedValue { if $0.admin == task { $0.admin = nil } }
            throw error
        }
        guard let admin = created else { return nil }
        try await registerProcessOnce(admin)
        return admin.proxy
    }

    /// Registers the Process facet (see `registerProcessIfConfigured`) until it has been, once:
    /// a registry unreachable for a moment fails this call, and the next one tries again (a
    /// failure kept with the admin object failed every later activation).
    private func registerProcessOnce(_ admin: AdminObject) async throws {
        let task = state.withLockedValue { state -> Task<Void, any Error>? in
            if state.processRegistered { return nil }
            if let task = state.processRegistration { return task }
            let task = Task { try await self.registerProcessIfConfigured(admin.proxy, locator: admin.locator) }
            state.processRegistration = task
            return task
        }
        guard let task else { return }
        do {
            try await task.value
            state.withLockedValue { $0.processRegistered = true }
        } catch {
            state.withLockedValue { if $0.processRegistration == task { $0.processRegistration = nil } }
            throw error
        }
    }

    private func createAdmin() async throws -> AdminObject? {
        let properties = properties
        guard let endpoints = properties["Ice.Admin.Endpoints"], !endpoints.isEmpty,
            try properties.int("Ice.Admin.Enabled", default: 1) > 0
        else { return nil }
        let all: [String: any Dispatcher] = [
            "Process": ProcessFacet(communicator: self), "Properties": PropertiesFacet(communicator: self),
        ]
        var facets = all
        if let listed = properties["Ice.Admin.Facets"] {
            let names = Set(listed.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init))
            // As in Ice, a name without a facet adds nothing (ZeroC's Metrics and Logger are
            // common in configurations); said once, so that a misspelt one is noticed.
            for unknown in names.subtracting(all.keys).sorted() {
                logger.warning("Ice.Admin.Facets: Floe has no admin facet '\(unknown)' (it has Process and Properties)")
            }
            facets = all.filter { names.contains($0.key) }
        }
        let adapter = try await createObjectAdapterWithEndpoints(name: "Ice.Admin", endpoints: endpoints)
        do {
            for (facet, servant) in facets { try adapter.addFacet(servant: servant, id: adminIdentity, facet: facet) }
            try await adapter.activate()
        } catch {
            await adapter.destroy()  // (its name is free again for the next try)
            throw error
        }
        logger.info(
            "admin object '\(identityToString(adminIdentity))' with facets \(facets.keys.sorted().joined(separator: ", "))"
        )
        return AdminObject(proxy: adapter.createDirectProxy(adminIdentity), locator: adapter.locator)
    }

    /// The admin object's identity: `<Ice.Admin.InstanceName>/admin`.
    var adminIdentity: Identity {
        Identity(name: "admin", category: properties["Ice.Admin.InstanceName"] ?? adminInstanceName)
    }
}

/// The admin object, and the locator its adapter registers with.
struct AdminObject: Sendable {
    let proxy: any ObjectPrx
    let locator: ProxyData?
}
