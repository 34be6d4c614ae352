import FloeEncoding
import FloeProtocol
import NIOConcurrencyHelpers

/// How calls to a locator or a router go: the settings of the proxy it was configured as
/// (`Ice.Default.Locator` and its `.Context.*`, `.InvocationTimeout`, `.EndpointSelection`…
/// properties, `NAME.Locator`, `setDefaultLocator`; `Ice.Default.Router`, `NAME.Router`,
/// `createObjectAdapterWithRouter`). A proxy keeps only where its locator and router are, so
/// the communicator keeps these per locator and per router address; the calls to them (and
/// `ice_getLocator`, `ice_getRouter`…) apply them, as Ice calls its locator and router through
/// the proxies it was given. Ice keeps settings per proxy; here one address has one set: the
/// default's, unless a later configuration gives that address settings of its own
/// (`setDefaultLocator` always replaces them). A value without the communicator, which holds
/// it: no reference cycle.
struct ProxySettings: Sendable, Equatable {
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

    /// Keeps the settings of `locator`, a proxy configured as a locator, for calls to it: when
    /// they are not a plain proxy's, or `always` (a new default locator).
    func remember(locator: ProxyReference, always: Bool = false) {
        guard locator.fixedConnection == nil, let settings = settings(of: locator, always: always) else { return }
        proxySettings.withLockedValue { $0.locators[withDefaultHost(locator.data)] = settings }
    }

    /// Keeps the settings of `router`, a proxy configured as a router, for calls to it, when
    /// they are not a plain proxy's.
    func remember(router: ProxyReference) {
        guard router.fixedConnection == nil, let settings = settings(of: router, always: false) else { return }
        proxySettings.withLockedValue { $0.routers[withDefaultHost(router.data)] = settings }
    }

    private func settings(of reference: ProxyReference, always: Bool) -> ProxySettings? {
        let settings = ProxySettings(reference)
        guard always || settings != ProxySettings(ProxyReference(communicator: self, data: reference.data)) else {
            return nil
        }
        return settings
    }

    /// The settings `router` was given with.
    func routerSettings(_ router: ProxyData) -> ProxySettings? {
        proxySettings.withLockedValue { $0.routers[router] }
    }
}
