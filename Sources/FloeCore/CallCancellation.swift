import FloeEncoding
import FloeProtocol
import NIOConcurrencyHelpers

/// Lets an invocation that ends early (its deadline passed, or its caller was cancelled) tell
/// the connection to forget the request, so nothing of it remains and a late reply is ignored.
///
/// Only calls with an invocation timeout carry one: the connection registers how to forget the
/// request, and the timeout's race settles it. (Installing a task cancellation handler around
/// every call instead cost 14% of pipelined calls; see Docs/architecture.md §4.7.)
public final class CallCancellation: Sendable {
    private struct State {
        var cancelled = false
        var forget: (@Sendable () -> Void)?
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Registers how to forget the request; runs it at once if the call already ended.
    public func onCancel(_ forget: @escaping @Sendable () -> Void) {
        let now = state.withLockedValue { state -> Bool in
            if state.cancelled { return true }
            state.forget = forget
            return false
        }
        if now { forget() }
    }

    /// Ends the call: the connection forgets the request.
    public func cancel() {
        let forget = state.withLockedValue { state -> (@Sendable () -> Void)? in
            guard !state.cancelled else { return nil }
            state.cancelled = true
            defer { state.forget = nil }
            return state.forget
        }
        forget?()
    }

    public var isCancelled: Bool { state.withLockedValue { $0.cancelled } }
}
