import FloeEncoding
import Logging

extension ObjectAdapter {
    /// Registers this adapter's published endpoints under its adapter id (and replica group)
    /// with its locator's registry, as a ZeroC server does on activation: a direct proxy with
    /// identity `dummy` (in a category of this adapter's own, see `registrationIdentity`); or,
    /// when `registering` is false, clears the registration (null proxy). (The server's Process
    /// proxy is registered with the admin object, which `activate` makes first; see `getAdmin`.)
    func updateLocatorRegistry(registering: Bool) async throws {
        guard let locator else {
            throw LocalError(
                .invalidArgument,
                "adapter '\(name)' has adapter id '\(adapterId)' but no locator (\(name).Locator, Ice.Default.Locator)")
        }
        let calls = LocatorCalls(target: communicator.locatorReference(locator))
        guard let registryData = try await calls.getRegistry() else {
            communicator.logger.warning(
                "adapter '\(name)': the locator offers no registry; '\(adapterId)' is not registered")
            return
        }
        let registry = LocatorCalls(target: ProxyReference(communicator: communicator, data: registryData))
        let proxy =
            registering
            ? ProxyData(identity: registrationIdentity, endpoints: publishedEndpoints.map(EndpointData.init)) : nil
        do {
            if replicaGroupId.isEmpty {
                try await registry.setAdapterDirectProxy(adapterId, proxy)
            } else {
                try await registry.setReplicatedAdapterDirectProxy(adapterId, group: replicaGroupId, proxy)
            }
        } catch let error as LocatorCalls.FailureError {
            switch error.failure {
            case .adapterNotFound:
                throw LocalError(
                    .notRegistered,
                    "the registry refused adapter id '\(adapterId)' (IceGrid takes unknown ids only with IceGrid.Registry.DynamicRegistration=1; floe-registry takes registrations from other hosts only with Floe.Registry.Registration.Access=any or a Floe.Registry.Registration.TrustOnly list)"
                )
            case .adapterAlreadyActive:
                throw LocalError(.alreadyRegistered, "adapter id '\(adapterId)' is in use by another live server")
            case .invalidReplicaGroupId:
                throw LocalError(.notRegistered, "the registry refuses replica group '\(replicaGroupId)'")
            default:
                throw LocalError(.unknownUserException, "the registry refused '\(adapterId)': \(error.failure)")
            }
        }
    }
}
