import FloeEncoding
import FloeProtocol

extension Communicator {
    /// The proxy the property `name` holds in its string form, with the settings of the
    /// properties under it, as Ice reads them: `NAME.EndpointSelection` (Random, Ordered),
    /// `NAME.InvocationTimeout` (milliseconds), `NAME.Context.KEY` (a context entry) and
    /// `NAME.Locator` (itself a proxy property). nil when `name` is not set (or is empty).
    ///
    /// `NAME.LocatorCacheTimeout`, `NAME.Router` and `NAME.PreferSecure` too. Settings Floe cannot
    /// honour yet (`CollocationOptimized=0`) fail with
    /// `unsupported`; names Ice does not know fail with `invalidArgument`, so a misspelt
    /// setting is not ignored.
    public func propertyToProxy(_ name: String) throws -> (any ObjectPrx)? {
        guard let text = properties[name], var proxy = try stringToProxy(text) else { return nil }
        let prefix = name + "."
        var context = proxy.ice_getContext()
        for (key, value) in properties.withPrefix(prefix).sorted(by: { $0.key < $1.key }) {
            let setting = String(key.dropFirst(prefix.count))
            if setting.hasPrefix("Context.") {
                context[String(setting.dropFirst("Context.".count))] = value
                continue
            }
            // The locator's and router's own settings.
            if setting.hasPrefix("Locator.") || setting.hasPrefix("Router.") { continue }
            switch setting {
            case "EndpointSelection":
                guard let selection = EndpointSelection(rawValue: value) else {
                    throw LocalError(.invalidArgument, "\(key)=\(value): expected Random or Ordered")
                }
                proxy = proxy.ice_endpointSelection(selection)
            case "InvocationTimeout":
                proxy = proxy.ice_invocationTimeout(try properties.int(key, default: -1))
            case "Locator":
                proxy = proxy.ice_locator(try propertyToProxy(key))
            case "ConnectionCached":
                proxy = proxy.ice_connectionCached(try properties.int(key, default: 1) != 0)
            case "CollocationOptimized":
                guard try properties.int(key, default: 1) != 0 else { throw Self.unsupported(key, value) }
            case "PreferSecure":
                proxy = proxy.ice_preferSecure(try properties.int(key, default: 0) != 0)
            case "LocatorCacheTimeout":
                proxy = proxy.ice_locatorCacheTimeout(try properties.int(key, default: -1))
            case "Router":
                proxy = proxy.ice_router(try propertyToProxy(key))
            default:
                throw LocalError(.invalidArgument, "\(key): not a proxy property Ice knows")
            }
        }
        return context.isEmpty ? proxy : proxy.ice_context(context)
    }

    /// The properties `propertyToProxy(property)` reads back as `proxy`, as Ice's
    /// `proxyToProperty`: the proxy's string under `property`, its settings under
    /// `property.Setting`, and its own locator and router (if it has them) under
    /// `property.Locator` and `property.Router` in the same way. (Its context, which Ice leaves
    /// out, goes under `property.Context.KEY`.) A fixed proxy has no such form: it throws, as
    /// Ice's `FixedProxyException`.
    public func proxyToProperty(_ proxy: any ObjectPrx, _ property: String) throws -> [String: String] {
        guard !proxy.ice_isFixed else {
            throw LocalError(.invalidArgument, "a fixed proxy (bound to a connection) has no property form")
        }
        var properties = [
            property: proxyToString(proxy),
            property + ".CollocationOptimized": "1",
            property + ".ConnectionCached": proxy.ice_isConnectionCached ? "1" : "0",
            property + ".PreferSecure": proxy.ice_isPreferSecure ? "1" : "0",
            property + ".EndpointSelection": proxy.ice_getEndpointSelection().rawValue,
            property + ".LocatorCacheTimeout": String(proxy.ice_getLocatorCacheTimeout()),
            property + ".InvocationTimeout": String(proxy.ice_getInvocationTimeout()),
        ]
        for (key, value) in proxy.ice_getContext() { properties["\(property).Context.\(key)"] = value }
        for (name, related) in [("Locator", proxy.ice_getLocator()), ("Router", proxy.ice_getRouter())] {
            guard let related else { continue }
            properties.merge(try proxyToProperty(related, "\(property).\(name)")) { $1 }
        }
        return properties
    }

    private static func unsupported(_ key: String, _ value: String) -> LocalError {
        LocalError(.unsupported, "\(key)=\(value): Floe does not support this proxy setting yet")
    }
}
