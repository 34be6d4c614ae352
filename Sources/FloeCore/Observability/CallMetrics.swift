import CoreMetrics
import FloeEncoding
import FloeProtocol
import NIOConcurrencyHelpers

/// The instruments of calls (client side) or dispatches (server side): a timer
/// `floe.<side>.duration` per operation and outcome (`ok`, `userException`, another reply
/// status such as `unknownException`, or on a client the local error's code, e.g.
/// `connectionRefused`). A timer is a histogram, so its count is the number of calls: one
/// instrument per call rather than a counter and a timer measured at half the cost
/// (Docs/benchmark.md, "Observability").
///
/// Timers are made once per operation and outcome and kept. A server sees operation names its
/// clients chose, so only `maxOperations` names are kept apart and the rest count as `other`;
/// and a dispatch that found no object, facet or operation counts as `unknown`.
final class CallMetrics: Sendable {
    private struct Key: Hashable {
        let operation: String
        let outcome: String
    }

    private struct State {
        var timers: [Key: CoreMetrics.Timer] = [:]
        var operations: Set<String> = []
    }

    private let label: String
    private let factory: any MetricsFactory
    private let state = NIOLockedValueBox(State())
    static let maxOperations = 256

    init(side: String, factory: any MetricsFactory) {
        self.label = "floe.\(side).duration"
        self.factory = factory
    }

    func record(operation: String, outcome: String, nanoseconds: Int64) {
        let timer = state.withLockedValue { state in
            if let timer = state.timers[Key(operation: operation, outcome: outcome)] { return timer }
            return make(operation: operation, outcome: outcome, in: &state)
        }
        timer.recordNanoseconds(nanoseconds)
    }

    /// The timer of a pair met for the first time (the lock held), or of "other" for an
    /// operation over the limit, which comes here each time (only names a client made up do).
    private func make(operation: String, outcome: String, in state: inout State) -> CoreMetrics.Timer {
        var name = operation
        if !state.operations.contains(operation) {
            if state.operations.count < Self.maxOperations {
                state.operations.insert(operation)
            } else {
                name = "other"
            }
        }
        let key = Key(operation: name, outcome: outcome)
        let timer =
            state.timers[key]
            ?? CoreMetrics.Timer(
                label: label, dimensions: [("operation", name), ("outcome", outcome)], factory: factory)
        state.timers[key] = timer
        return timer
    }

    func record(operation: String, outcome: String, since start: ContinuousClock.Instant) {
        let elapsed = (ContinuousClock.now - start).components
        record(
            operation: operation, outcome: outcome,
            nanoseconds: elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    }

    /// The reply status a dispatch that threw answers with (see `dispatchToReply`).
    static func outcome(ofDispatchError error: any Error) -> String {
        switch error {
        case is any UserException: "userException"
        case let error as DispatchError: outcome(error.status)
        case is LocalError, is MarshalError: "unknownLocalException"
        default: "unknownException"
        }
    }

    /// The outcome of a call that threw: the reply status the server answered with, else the
    /// local error's code.
    static func outcome(ofInvocationError error: any Error) -> String {
        switch error {
        case let error as DispatchError: outcome(error.status)
        case let error as LocalError: error.code.description
        default: "error"
        }
    }

    /// A reply status's name, the outcome dimension (without building `description`'s table).
    static func outcome(_ status: ReplyStatus) -> String {
        switch status {
        case .ok: "ok"
        case .userException: "userException"
        case .objectNotExist: "objectNotExist"
        case .facetNotExist: "facetNotExist"
        case .operationNotExist: "operationNotExist"
        case .unknownLocalException: "unknownLocalException"
        case .unknownUserException: "unknownUserException"
        case .unknownException: "unknownException"
        default: status.description
        }
    }

    /// Whether a dispatch outcome means the request named nothing this server has.
    static func isUnknownTarget(_ outcome: String) -> Bool {
        outcome == "objectNotExist" || outcome == "facetNotExist" || outcome == "operationNotExist"
    }
}
