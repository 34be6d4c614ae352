public import CoreMetrics
import FloeProtocol
import NIOConcurrencyHelpers

/// The instruments of calls (client side) or dispatches (server side), by operation and
/// outcome: a counter `floe.<side>.calls` and a timer `floe.<side>.duration`, with the
/// dimensions `operation` and `outcome` (`ok`, `userException`, another reply status such as
/// `unknownException`, or on a client the local error's code, e.g. `connectionRefused`).
///
/// Instruments are made once per operation and outcome and kept. A server sees operation
/// names its clients chose, so only `maxOperations` names are kept apart and the rest count
/// as `other`; and a dispatch that found no object, facet or operation counts as `unknown`.
final class CallMetrics: Sendable {
    private struct Key: Hashable {
        let operation: String
        let outcome: String
    }

    private struct Instruments: Sendable {
        let calls: Counter
        let duration: CoreMetrics.Timer
    }

    private let side: String
    private let factory: any MetricsFactory
    private let instruments = NIOLockedValueBox<[Key: Instruments]>([:])
    private let operations = NIOLockedValueBox<Set<String>>([])
    static let maxOperations = 256

    init(side: String, factory: any MetricsFactory) {
        self.side = side
        self.factory = factory
    }

    func record(operation: String, outcome: String, nanoseconds: Int64) {
        let known =
            operations.withLockedValue { known in
                if known.contains(operation) { return true }
                guard known.count < Self.maxOperations else { return false }
                known.insert(operation)
                return true
            }
        let key = Key(operation: known ? operation : "other", outcome: outcome)
        let found = instruments.withLockedValue { instruments in
            if let found = instruments[key] { return found }
            let dimensions = [("operation", key.operation), ("outcome", key.outcome)]
            let made = Instruments(
                calls: Counter(label: "floe.\(side).calls", dimensions: dimensions, factory: factory),
                duration: CoreMetrics.Timer(label: "floe.\(side).duration", dimensions: dimensions, factory: factory))
            instruments[key] = made
            return made
        }
        found.calls.increment()
        found.duration.recordNanoseconds(nanoseconds)
    }

    /// A reply status's name, the outcome dimension.
    static func outcome(_ status: ReplyStatus) -> String { status.description }

    /// Whether a dispatch outcome means the request named nothing this server has.
    static func isUnknownTarget(_ outcome: String) -> Bool {
        outcome == "objectNotExist" || outcome == "facetNotExist" || outcome == "operationNotExist"
    }
}
