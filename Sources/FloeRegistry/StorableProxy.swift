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

    /// The longest string form of a proxy the registry keeps (and the most bytes of an object's
    /// tags), and the longest adapter, replica group or server id (and object type), in UTF-8
    /// bytes. A registration is otherwise bounded only by `Ice.MessageSizeMax`: twenty
    /// registrations with ids of 900 KB each cost the registry 36 MB of disk and 27 MB of
    /// memory, and `Floe.Registry.MaxEntries` (100,000) of them would cost 90 GB. With these
    /// bounds, full adapter and server tables hold about 7 GB at most, and a real proxy (256
    /// endpoints of 60 characters, say) or id is far below them.
    static let maxTextBytes = 32_768
    static let maxIdBytes = 1_024

    /// Why `id`, the id of a `kind` ("adapter", "replica group", "server", "type"), cannot be
    /// stored, or nil.
    static func problem(id: String, kind: String) -> String? {
        let bytes = id.utf8.count
        guard bytes > maxIdBytes else { return nil }
        return "\(kind) id of \(bytes) bytes (\(start(of: id))), more than the \(maxIdBytes) the registry keeps"
    }

    /// The first 40 scalars of an oversized text, quoted: counted in scalars, not characters,
    /// as one character may carry any number of combining marks.
    private static func start(of text: String) -> String {
        "'\(String(String.UnicodeScalarView(text.unicodeScalars.prefix(40))))…'"
    }

    /// Why `proxy` cannot be stored, or nil: more than `maxEndpoints` endpoints, a string form
    /// longer than `maxTextBytes`, or a string form (what the data directory stores) that does
    /// not read back as the same proxy, such as a port out of range or a negative timeout other
    /// than -1. Stored, such a proxy would stop
    /// the registry at its next start.
    /// `communicator` is the registry's, which writes and reads the stored strings.
    static func problem(_ proxy: any ObjectPrx, communicator: Communicator) -> String? {
        let count = proxy.ice_getEndpoints().count
        guard count <= maxEndpoints else {
            return
                "\(count) endpoints, more than the \(maxEndpoints) a registration may publish (set the adapter's PublishedEndpoints)"
        }
        let text = proxy.description
        guard text.utf8.count <= maxTextBytes else {
            return
                "a proxy of \(text.utf8.count) bytes in string form (\(start(of: text))), more than the \(maxTextBytes) the registry keeps"
        }
        guard let again = try? communicator.stringToProxy(text),
            again._reference.data == proxy._reference.data
        else {
            return
                "the proxy '\(text.prefix(200))' does not read back from its string form (a port out of range? a negative timeout?), so the registry cannot store it"
        }
        return nil
    }
}
