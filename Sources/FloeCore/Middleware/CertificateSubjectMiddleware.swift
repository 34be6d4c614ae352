/// Dispatch middleware that serves only peers whose TLS certificate subject a `SubjectFilter`
/// accepts. Others (plain tcp connections, collocated calls, unverified or unlisted subjects)
/// are answered with an unknown local exception saying why, and the servant never runs. This
/// authorises per adapter; `IceSSL.TrustOnly.Server` refuses whole connections instead.
///
/// ```swift
/// let billing = try SubjectFilter("O=Example, OU=Billing")
/// try adapter.use { CertificateSubjectMiddleware(next: $0, allowed: billing) }
/// ```
public struct CertificateSubjectMiddleware: Dispatcher {
    public let next: any Dispatcher
    public let allowed: SubjectFilter

    public init(next: any Dispatcher, allowed: SubjectFilter) {
        self.next = next
        self.allowed = allowed
    }

    public func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        guard let tls = request.current.con?.info.tls, tls.verified, allowed.accepts(tls.subject) else {
            throw DispatchError(
                status: .unknownLocalException,
                message: "permission denied: the caller's certificate subject is not allowed")
        }
        return try await next.dispatch(request)
    }
}
