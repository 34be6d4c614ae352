/// The `NAME.*` properties of an object adapter, checked as Ice checks them when it creates
/// the adapter: each one Floe does not read is reported, so a misspelt name or a setting that
/// does nothing here is noticed.
enum AdapterProperties {
    /// The suffixes Floe reads (`NAME.Router.*` and `NAME.Locator.*` as any proxy property's
    /// settings).
    static let read: Set<String> = [
        "Endpoints", "PublishedEndpoints", "MaxConnections", "AdapterId", "ReplicaGroupId", "Locator", "Router",
    ]

    /// Why a suffix ZeroC knows does nothing in Floe, or nil for one it reads or does not know.
    static func whyIgnored(_ suffix: String) -> String? {
        if suffix.hasPrefix("ThreadPool.") {
            return
                "Floe has no thread pools; dispatches run as Swift tasks, bounded by Ice.Connection.MaxDispatches and Floe.MaxDispatches"
        }
        if suffix == "MessageSizeMax" { return "Floe applies Ice.MessageSizeMax to every connection" }
        if suffix == "ACM" || suffix.hasPrefix("ACM.") {
            return "Floe applies Ice.ACM.Server.* (else Ice.ACM.*) to every incoming connection"
        }
        if suffix == "ProxyOptions" || suffix == "PublishedHost" { return "Floe does not support it" }
        return nil
    }

    /// A warning for each `NAME.*` property in `properties` that Floe does not read, sorted.
    static func warnings(adapter name: String, _ properties: Properties) -> [String] {
        // As in Ice, adapters named in a reserved namespace (Ice.Admin) are not checked: their
        // prefix holds the runtime's own properties.
        let reserved = ["Ice", "IceSSL", "IceGrid", "IceGridAdmin", "IceStorm", "IceBox", "IcePatch2", "Glacier2"]
        guard !name.isEmpty, !reserved.contains(where: { name == $0 || name.hasPrefix($0 + ".") }) else { return [] }
        let prefix = name + "."
        return properties.withPrefix(prefix).keys.sorted().compactMap { key in
            let suffix = String(key.dropFirst(prefix.count))
            if read.contains(suffix) || suffix.hasPrefix("Router.") || suffix.hasPrefix("Locator.") { return nil }
            if let reason = whyIgnored(suffix) { return "property \(key) has no effect: \(reason)" }
            return "unknown property \(key): Floe does not read it for adapter '\(name)'"
        }
    }
}
