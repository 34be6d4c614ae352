public import FloeCore

/// Who may use the registry's admin interface, which can remove registrations and stop
/// servers: it shares the registry's endpoints, which every client and server reaches.
/// By default only callers on the registry's own host (loopback connections, and collocated
/// calls) are served; `Floe.Registry.Admin.Access=any` serves everyone, and
/// `Floe.Registry.Admin.TrustOnly` (an IceSSL `TrustOnly` list) also serves ssl callers whose
/// verified certificate subject it accepts, from anywhere.
public struct AdminAccess: Sendable, Hashable {
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
    public static let local = AdminAccess()
    /// Everyone who reaches the registry's endpoints (how it was before there was a choice).
    public static let anyone = AdminAccess(fromAnyAddress: true)

    /// From `Floe.Registry.Admin.Access` (`local` or `any`) and `Floe.Registry.Admin.TrustOnly`.
    public init(properties: Properties) throws {
        switch properties["Floe.Registry.Admin.Access"] ?? "local" {
        case "local": fromAnyAddress = false
        case "any": fromAnyAddress = true
        case let other:
            throw LocalError(.invalidArgument, "Floe.Registry.Admin.Access: '\(other)' is neither 'local' nor 'any'")
        }
        if let list = properties["Floe.Registry.Admin.TrustOnly"], !list.isEmpty {
            subjects = try SubjectFilter(list)
        }
    }

    /// Whether a call arriving over `connection` (nil: collocated) is served.
    func allows(_ connection: (any Connection)?) -> Bool {
        guard !fromAnyAddress, let connection else { return true }
        let info = connection.info
        if Self.isLoopback(info.remoteAddress) { return true }
        guard let subjects, let tls = info.tls, tls.verified else { return false }
        return subjects.accepts(tls.subject)
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
    }
}

/// Serves the admin interface to the callers `access` allows; others get an
/// unknown-local-exception reply saying why, and nothing runs.
struct AdminAccessCheck: Dispatcher {
    let next: any Dispatcher
    let access: AdminAccess

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        guard access.allows(request.current.con) else {
            throw DispatchError(
                status: .unknownLocalException,
                message: "permission denied: this registry serves its admin interface to local callers"
                    + (access.subjects == nil ? "" : " and listed certificate subjects")
                    + " only (Floe.Registry.Admin.Access, Floe.Registry.Admin.TrustOnly)")
        }
        return try await next.dispatch(request)
    }
}
