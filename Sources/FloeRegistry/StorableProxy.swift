import FloeCore

/// What the registry refuses to keep, whoever registers it: a server through
/// `LocatorRegistry`, an administrator through floe-admin, or the embedding application.
enum StorableProxy {
    /// The most endpoints one registration may publish. Anyone may register, and a replica
    /// group's lookup answers with all its members' endpoints: without a bound, a few large
    /// registrations make every lookup of their group a reply of any size.
    /// (An adapter listening on every interface publishes one endpoint per address and
    /// transport: a host with many interfaces and four transports stays well within it.)
    static let maxEndpoints = 256

    /// Why `proxy` cannot be stored, or nil: more than `maxEndpoints` endpoints, or a string
    /// form (what the data directory stores) that does not read back as the same proxy, such as
    /// a port out of range or a negative timeout other than -1. Stored, such a proxy would stop
    /// the registry at its next start.
    /// `communicator` is the registry's, which writes and reads the stored strings.
    static func problem(_ proxy: any ObjectPrx, communicator: Communicator) -> String? {
        let count = proxy.ice_getEndpoints().count
        guard count <= maxEndpoints else {
            return
                "\(count) endpoints, more than the \(maxEndpoints) a registration may publish (set the adapter's PublishedEndpoints)"
        }
        let text = proxy.description
        guard let again = try? communicator.stringToProxy(text),
            again._reference.data == proxy._reference.data
        else {
            return
                "the proxy '\(text.prefix(200))' does not read back from its string form (a port out of range? a negative timeout?), so the registry cannot store it"
        }
        return nil
    }
}
