import FloeCore
import FloeEncoding
import FloeProtocol

/// Middleware that only calls the next dispatcher: `server --middleware N` measures what the
/// pipeline itself costs.
struct PassThroughMiddleware: Dispatcher {
    let next: any Dispatcher

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse { try await next.dispatch(request) }
}

/// The client side's counterpart (`client --interceptors N`).
struct PassThroughInterceptor: ClientInterceptor {
    func intercept(_ request: OutgoingRequest, next: Next) async throws -> IncomingResponse { try await next(request) }
}
