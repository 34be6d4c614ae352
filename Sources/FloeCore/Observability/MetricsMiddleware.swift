public import CoreMetrics
import FloeEncoding

/// Dispatch middleware that counts and times dispatches by operation and outcome
/// (the timer `floe.server.duration`, whose count is the dispatches; see `CallMetrics`). `Floe.Metrics=1` puts
/// one in front of every adapter; add it yourself for one adapter only:
///
/// ```swift
/// try adapter.use { MetricsMiddleware(next: $0, factory: MetricsSystem.factory) }
/// ```
public struct MetricsMiddleware: Dispatcher {
    public let next: any Dispatcher
    let metrics: CallMetrics

    public init(next: any Dispatcher, factory: any MetricsFactory) {
        self.init(next: next, metrics: CallMetrics(side: "server", factory: factory))
    }

    init(next: any Dispatcher, metrics: CallMetrics) {
        self.next = next
        self.metrics = metrics
    }

    public func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        let start = ContinuousClock.now
        do {
            let response = try await next.dispatch(request)
            record(request.current.operation, CallMetrics.outcome(response.replyStatus), since: start)
            return response
        } catch {
            record(request.current.operation, Self.outcome(of: error), since: start)
            throw error
        }
    }

    private func record(_ operation: String, _ outcome: String, since start: ContinuousClock.Instant) {
        let elapsed = (ContinuousClock.now - start).components
        let nanoseconds = elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000
        metrics.record(
            operation: CallMetrics.isUnknownTarget(outcome) ? "unknown" : operation, outcome: outcome,
            nanoseconds: nanoseconds)
    }

    /// The reply status a failed dispatch answers with (see `dispatchToReply`).
    static func outcome(of error: any Error) -> String {
        switch error {
        case is any UserException: "userException"
        case let error as DispatchError: CallMetrics.outcome(error.status)
        case is LocalError, is MarshalError: "unknownLocalException"
        default: "unknownException"
        }
    }
}
