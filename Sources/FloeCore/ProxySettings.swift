import FloeEncoding
import FloeProtocol
import NIOConcurrencyHelpers

/// How calls to a locator or a router go: the settings of the proxy it was given as
/// (`Ice.Default.Locator` and its `.Context.*`, `.InvocationTimeout`, `.EndpointSelection`…
/// properties, `NAME.Locator`, `ice_locator`, `setDefaultLocator`; `Ice.Default.Router`,
/// `NAME.Router`, `ice_router`, `createObjectAdapterWithRouter`). A proxy keeps only where its
/// locator and router are, so the communicator keeps these per locator and per router, the last
/// given for each; the calls to them (and `ice_getLocator`, `ice_getRouter`…) apply them, as
/// Ice calls its locator and router through the proxies it was given. A value without the
/// communicator, which holds it: no reference cycle.
struct ProxySettings: Sendable {
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
    /// A reference to `locator` with the settings it was given with.
    func locatorReference(_ locator: ProxyData) -> ProxyReference {
        let plain = ProxyReference(communicator: self, data: locator)
        return proxySettings.withLockedValue { $0.locators[locator] }?.applied(to: plain) ?? plain
    }

    /// Keeps the settings of `locator`, a proxy given as a locator, for calls to it.
    func remember(locator: ProxyReference) {
        guard locator.fixedConnection == nil else { return }
        let settings = ProxySettings(locator)
        proxySettings.withLockedValue { $0.locators[locator.data] = settings }
    }

    /// Keeps the settings of `router`, a proxy given as a router, for calls to it.
    func remember(router: ProxyReference) {
        guard router.fixedConnection == nil else { return }
        let settings = ProxySettings(router)
        proxySettings.withLockedValue { $0.routers[router.data] = settings }
    }

    /// The settings `router` was given with.
    func routerSettings(_ router: ProxyData) -> ProxySettings? {
        proxySettings.withLockedValue { $0.routers[router] }
    }
}
