public import CoreMetrics

/// Counts and times a communicator's invocations by operation and outcome
/// (the timer `floe.client.duration`, whose count is the calls; see `CallMetrics`). `Floe.Metrics=1` adds
/// one to every communicator.
public struct MetricsInterceptor: ClientInterceptor {
    let metrics: CallMetrics

    public init(factory: any MetricsFactory) {
        metrics = CallMetrics(side: "client", factory: factory)
    }

    public func intercept(_ request: OutgoingRequest, next: Next) async throws -> IncomingResponse {
        let start = ContinuousClock.now
        do {
            let response = try await next(request)
            let outcome: String
            if let status = response.replyStatus { outcome = CallMetrics.outcome(status) } else { outcome = "ok" }
            record(request.operation, outcome, since: start)
            return response
        } catch {
            record(request.operation, Self.outcome(of: error), since: start)
            throw error
        }
    }

    private func record(_ operation: String, _ outcome: String, since start: ContinuousClock.Instant) {
        metrics.record(operation: operation, outcome: outcome, since: start)
    }

    /// A reply status for errors the server answered, the local error's code otherwise.
    static func outcome(of error: any Error) -> String { CallMetrics.outcome(ofInvocationError: error) }
}
