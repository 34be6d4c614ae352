import FloeEncoding
import FloeProtocol
public import Logging

/// Dispatch middleware that logs every request it sees, once it is answered: operation,
/// identity, facet, outcome and time taken, with the peer's address when there is one.
///
/// ```swift
/// try adapter.use { LoggingMiddleware(next: $0, logger: logger) }
/// ```
public struct LoggingMiddleware: Dispatcher {
    public let next: any Dispatcher
    public let logger: Logger
    /// The level of successful dispatches and of user exceptions; other failures log at this
    /// level or `.info`, whichever is higher.
    public let level: Logger.Level

    public init(next: any Dispatcher, logger: Logger, level: Logger.Level = .debug) {
        self.next = next
        self.logger = logger
        self.level = level
    }

    public func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        let start = ContinuousClock.now
        do {
            let response = try await next.dispatch(request)
            let outcome = response.replyStatus == .ok ? "ok" : "user exception \(response.exceptionId ?? "")"
            log(request.current, outcome, since: start, level: level)
            return response
        } catch let error as any UserException {
            log(request.current, "user exception \(error.ice_id())", since: start, level: level)
            throw error
        } catch {
            log(request.current, "failed: \(error)", since: start, level: max(level, .info))
            throw error
        }
    }

    private func log(_ current: Current, _ outcome: String, since start: ContinuousClock.Instant, level: Logger.Level) {
        guard logger.logLevel <= level else { return }
        let identity = current.adapter.communicator.identityToString(current.id)
        var metadata: Logger.Metadata = [
            "operation": "\(current.operation)", "identity": "\(identity)",
            "elapsed": "\(ContinuousClock.now - start)",
        ]
        if !current.facet.isEmpty { metadata["facet"] = "\(current.facet)" }
        if let info = current.con?.info { metadata["peer"] = "\(info.remoteAddress):\(info.remotePort)" }
        logger.log(
            level: level, "dispatch \(current.operation) on \(identity): \(outcome)",
            metadata: metadata)
    }
}
