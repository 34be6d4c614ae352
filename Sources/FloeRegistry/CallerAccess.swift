public import FloeCore

/// Who may use a part of the registry that changes it: the admin interface (which can remove
/// registrations and stop servers) and registration (which decides where clients are sent).
/// Both share the registry's endpoints, which every client and server reaches. By default only
/// callers on the registry's own host (loopback connections, connections from the address they
/// arrived at, and collocated calls) are served;
/// `PREFIX.Access=any` serves everyone, and `PREFIX.TrustOnly` (an IceSSL `TrustOnly` list)
/// also serves ssl callers whose verified certificate subject it accepts, from anywhere.
public struct CallerAccess: Sendable, Hashable {
    /// Whether callers from any address are served.
    public var fromAnyAddress: Bool
    /// ssl callers with a verified certificate this filter accepts are served (nil: no one
    /// by certificate). An empty filter would accept every verified certificate.
    public var subjects: SubjectFilter?

    public init(fromAnyAddress: Bool = false, subjects: SubjectFilter? = nil) {
        self.fromAnyAddress = fromAnyAddress
        self.subjects = subjects
    }

    /// Callers on the registry's host only.
    public static let local = CallerAccess()
    /// Everyone who reaches the registry's endpoints.
    public static let anyone = CallerAccess(fromAnyAddress: true)

    /// From `PREFIX.Access` (`local` or `any`) and `PREFIX.TrustOnly`, with `prefix`
    /// `Floe.Registry.Admin` or `Floe.Registry.Registration`.
    public init(properties: Properties, prefix: String) throws {
        switch properties["\(prefix).Access"] ?? "local" {
        case "local": fromAnyAddress = false
        case "any": fromAnyAddress = true
        case let other:
            throw LocalError(.invalidArgument, "\(prefix).Access: '\(other)' is neither 'local' nor 'any'")
        }
        if let list = properties["\(prefix).TrustOnly"], !list.isEmpty {
            subjects = try SubjectFilter(list)
        }
    }

    /// Whether a call arriving over `connection` (nil: collocated) is served.
    func allows(_ connection: (any Connection)?) -> Bool {
        guard !fromAnyAddress, let connection else { return true }
        let info = connection.info
        // A caller on this host that named one of its network addresses (a shared config with
        // `-h <host address>`) comes from that address.
        if Self.isLoopback(info.remoteAddress) || info.remoteAddress == info.localAddress { return true }
        guard let subjects, let tls = info.tls, tls.verified else { return false }
        return subjects.accepts(tls.subject)
    }

    /// Why a caller was refused, naming the settings that would admit it.
    func refusal(of what: String, prefix: String) -> String {
        "permission denied: this registry serves \(what) to local callers"
            + (subjects == nil ? "" : " and listed certificate subjects")
            + " only (\(prefix).Access, \(prefix).TrustOnly)"
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
    }
}

@available(*, deprecated, renamed: "CallerAccess")
public typealias AdminAccess = CallerAccess

extension CallerAccess {
    /// The admin interface's access (`Floe.Registry.Admin.*`), as `AdminAccess` read it.
    @available(*, deprecated, message: "use init(properties:prefix:) with \"Floe.Registry.Admin\"")
    public init(properties: Properties) throws { try self.init(properties: properties, prefix: "Floe.Registry.Admin") }
}

/// Serves the admin interface to the callers `access` allows; others get an
/// unknown-local-exception reply saying why, and nothing runs.
struct AdminAccessCheck: Dispatcher {
    let next: any Dispatcher
    let access: CallerAccess

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        guard access.allows(request.current.con) else {
            throw DispatchError(
                status: .unknownLocalException,
                message: access.refusal(of: "its admin interface", prefix: "Floe.Registry.Admin"))
        }
        return try await next.dispatch(request)
    }
}
