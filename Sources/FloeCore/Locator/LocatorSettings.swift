import FloeEncoding
import FloeProtocol
import NIOConcurrencyHelpers

/// How calls to a locator go: the settings of the proxy it was given as (`Ice.Default.Locator`
/// and its `.Context.*`, `.InvocationTimeout`, `.EndpointSelection`… properties, `NAME.Locator`,
/// `ice_locator`, `setDefaultLocator`). A proxy keeps only where its locator is, so the
/// communicator keeps these per locator, the last given for each; lookups, registrations and
/// `ice_getLocator` apply them, as Ice calls its locator through the proxy it was given.
struct LocatorSettings: Sendable {
    var context: Context
    var invocationTimeout: Int?
    var compress: Bool?
    var endpointSelection: EndpointSelection
    var preferSecure: Bool
    var connectionCached: Bool
    var connectionId: String
    var locatorCacheTimeout: Int?

    init(_ reference: ProxyReference) {
        context = reference.context
        invocationTimeout = reference.invocationTimeout
        compress = reference.compress
        endpointSelection = reference.endpointSelection
        preferSecure = reference.preferSecure
        connectionCached = reference.connectionCached
        connectionId = reference.connectionId
        locatorCacheTimeout = reference.locatorCacheTimeout
    }

    func applied(to reference: ProxyReference) -> ProxyReference {
        var reference = reference
        reference.context = context
        reference.invocationTimeout = invocationTimeout
        reference.compress = compress
        reference.endpointSelection = endpointSelection
        reference.preferSecure = preferSecure
        reference.connectionCached = connectionCached
        reference.connectionId = connectionId
        reference.locatorCacheTimeout = locatorCacheTimeout
        return reference
    }
}

extension Communicator {
    /// A reference to `locator` with the settings it was given with (see `LocatorSettings`).
    func locatorReference(_ locator: ProxyData) -> ProxyReference {
        let plain = ProxyReference(communicator: self, data: locator)
        return locatorSettings.withLockedValue { $0[locator] }?.applied(to: plain) ?? plain
    }

    /// Keeps the settings of `locator`, a proxy given as a locator, for calls to it.
    func remember(locator: ProxyReference) {
        guard locator.fixedConnection == nil else { return }
        let settings = LocatorSettings(locator)
        locatorSettings.withLockedValue { $0[locator.data] = settings }
    }
}
