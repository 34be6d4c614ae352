import FloeEncoding
import FloeProtocol

/// Deadlines that cross the wire: `DeadlineInterceptor` sends a call's invocation timeout in
/// the request context, and `DeadlineMiddleware` cancels a dispatch that runs past it, so a
/// server stops working on answers nobody waits for any more.
///
/// The entry holds the timeout in milliseconds, relative (the two hosts' clocks need not
/// agree): a server counts it from the dispatch's start, which is later than the client's
/// start, so the server gives up no earlier than the client. ZeroC peers ignore the entry.
public enum Deadline {
    /// The request-context key: `floe-timeout`, in milliseconds.
    public static let contextKey = "floe-timeout"
}

/// Adds the call's invocation timeout to the request context (`Deadline.contextKey`), unless
/// the call has none or the context already sets one.
public struct DeadlineInterceptor: ClientInterceptor {
    public init() {}

    public func intercept(_ request: OutgoingRequest, next: Next) async throws -> IncomingResponse {
        guard let timeout = request.invocationTimeout, request.context[Deadline.contextKey] == nil else {
            return try await next(request)
        }
        var request = request
        request.context[Deadline.contextKey] = String(timeout.roundedUpMilliseconds)
        return try await next(request)
    }
}

/// Cancels a dispatch once the time its request context allows (`Deadline.contextKey`) has
/// passed: the servant sees `Task.isCancelled` (its `Task.sleep` and other cancellable waits
/// throw), and the request fails with an unknown-local-exception reply that the client, timed
/// out already, ignores. Requests without the entry, or with a malformed one, run unbounded.
///
/// ```swift
/// try adapter.use { DeadlineMiddleware(next: $0) }
/// ```
public struct DeadlineMiddleware: Dispatcher {
    public let next: any Dispatcher
    /// The longest a request may ask for; larger values are cut to it (nil: no cap).
    public let maximum: Duration?

    public init(next: any Dispatcher, maximum: Duration? = nil) {
        self.next = next
        self.maximum = maximum
    }

    public func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        guard let entry = request.current.ctx[Deadline.contextKey], let milliseconds = Int64(entry), milliseconds > 0
        else { return try await next.dispatch(request) }
        let requested = Duration.milliseconds(milliseconds)
        let budget = maximum.map { min($0, requested) } ?? requested
        let next = self.next
        let operation = request.current.operation
        return try await withThrowingTaskGroup(of: OutgoingResponse.self) { group in
            group.addTask { try await next.dispatch(request) }
            group.addTask {
                try await Task.sleep(for: budget)
                throw DispatchError(
                    status: .unknownLocalException,
                    message: "dispatch of '\(operation)' cancelled: its deadline (\(budget)) passed")
            }
            defer { group.cancelAll() }
            // The first to finish wins; leaving the group cancels the other, and waits for it.
            guard let response = try await group.next() else {
                throw DispatchError(status: .unknownLocalException, message: "the dispatch produced no response")
            }
            return response
        }
    }
}
