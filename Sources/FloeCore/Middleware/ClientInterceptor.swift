import FloeEncoding
public import FloeProtocol
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
    /// What interceptors cannot change, in one object: the request travels through several
    /// async frames, and a large value in each made every intercepted call allocate.
    final class Fixed: Sendable {
        let reference: ProxyReference
        let operation: String
        let mode: OperationMode
        let parameters: ByteBuffer
        let invocationTimeout: Duration?

        init(
            reference: ProxyReference, operation: String, mode: OperationMode, parameters: ByteBuffer,
            invocationTimeout: Duration?
        ) {
            self.reference = reference
            self.operation = operation
            self.mode = mode
            self.parameters = parameters
            self.invocationTimeout = invocationTimeout
        }
    }

    let fixed: Fixed
    /// The request's context: the per-call context when the call gave one (it replaces the
    /// proxy's, as in Ice), else the proxy's, with the implicit context's keys filled in; what
    /// is here is sent.
    public var context: [String: String]

    /// The proxy the call was made on.
    public var proxy: any ObjectPrx { ObjectPrxI(_reference: fixed.reference) }
    public var operation: String { fixed.operation }
    public var mode: OperationMode { fixed.mode }
    /// The parameters, as the encoded encapsulation.
    public var parameters: ByteBuffer { fixed.parameters }
    /// How long the call may take before it fails with `invocationTimeout` (the whole call,
    /// retries included, as in Ice); nil waits forever.
    public var invocationTimeout: Duration? { fixed.invocationTimeout }
}

/// What came back: a reply with status OK or user exception, or nothing for a oneway call.
/// Other replies (object not exist, unknown exceptions) are thrown as `DispatchError`s, and
/// errors that kept a reply from arriving (timeouts, lost connections) as `LocalError`s.
public struct IncomingResponse: Sendable {
    let reply: Reply?

    /// nil for a oneway call, which gets no reply.
    public var replyStatus: ReplyStatus? {
        // Inlined into an interceptor that reads it and then returns the response, it crashes
        // Swift 6.3.1's optimizer (CopyPropagation: "Found outside of lifetime use").
        @inline(never) get { reply?.status }
    }
}
