public import NIOCore

/// Runs around every invocation a communicator (or a proxy) makes: it can read and change the
/// request's context, fail the call with an error of its choice before anything is sent, and
/// observe the reply or the error. Interceptors run in the order given, once per call (not per
/// retry), in the caller's task.
///
/// ```swift
/// struct TenantInterceptor: ClientInterceptor {
///     func intercept(_ request: OutgoingRequest, next: Next) async throws -> IncomingResponse {
///         var request = request
///         request.context["tenant"] = "acme"
///         return try await next(request)
///     }
/// }
/// let communicator = Communicator(interceptors: [TenantInterceptor()])
/// ```
public protocol ClientInterceptor: Sendable {
    typealias Next = (OutgoingRequest) async throws -> IncomingResponse
    func intercept(_ request: OutgoingRequest, next: Next) async throws -> IncomingResponse
}

/// An invocation on its way out, as interceptors see it.
public struct OutgoingRequest: Sendable {
    /// The proxy the call was made on.
    public var proxy: any ObjectPrx { ObjectPrxI(_reference: reference) }
    let reference: ProxyReference
    public let operation: String
    public let mode: OperationMode
    /// The proxy's context merged with the per-call context; what is here is sent.
    public var context: [String: String]
    /// The parameters, as the encoded encapsulation.
    public let parameters: ByteBuffer
    /// How long the call may take before it fails with `invocationTimeout` (per attempt); nil
    /// waits forever.
    public let invocationTimeout: Duration?
}

/// What came back: a reply with status OK or user exception, or nothing for a oneway call.
/// Other replies (object not exist, unknown exceptions) are thrown as `DispatchError`s, and
/// errors that kept a reply from arriving (timeouts, lost connections) as `LocalError`s.
public struct IncomingResponse: Sendable {
    let reply: Reply?

    /// nil for a oneway call, which gets no reply.
    public var replyStatus: ReplyStatus? { reply?.status }
}

extension ObjectPrx {
    /// Runs the interceptors from `index` on around `send`, in order.
    static func intercepted(
        _ request: OutgoingRequest, _ interceptors: [any ClientInterceptor], from index: Int = 0,
        send: (OutgoingRequest) async throws -> IncomingResponse
    ) async throws -> IncomingResponse {
        guard index < interceptors.count else { return try await send(request) }
        return try await interceptors[index].intercept(request) { request in
            try await intercepted(request, interceptors, from: index + 1, send: send)
        }
    }
}
