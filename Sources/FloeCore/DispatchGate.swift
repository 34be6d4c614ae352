import NIOConcurrencyHelpers

/// Bounds the dispatches running at once across all of a communicator's connections
/// (`ConnectionOptions.maxCommunicatorDispatches`), so many connections cannot together start
/// more work than one server should hold. A connection that finds the gate full queues its
/// requests and asks to be told when a place frees up.
public final class DispatchGate: Sendable {
    private struct State {
        var running = 0
        var waiters: [@Sendable () -> Void] = []
    }

    /// At most this many dispatches at once; 0 means no limit.
    public let limit: Int
    private let state = NIOLockedValueBox(State())

    public init(limit: Int) { self.limit = limit }

    /// Takes a place if one is free.
    public func tryEnter() -> Bool {
        guard limit > 0 else { return true }
        return state.withLockedValue { state in
            guard state.running < limit else { return false }
            state.running += 1
            return true
        }
    }

    /// Gives a place back, and wakes the waiting connections: one that wakes may find nothing
    /// left to start (or be closed), so waking only one could leave the others waiting beside a
    /// free place.
    public func leave() {
        guard limit > 0 else { return }
        let waiters = state.withLockedValue { state -> [@Sendable () -> Void] in
            state.running -= 1
            defer { state.waiters = [] }
            return state.waiters
        }
        for wake in waiters { wake() }
    }

    /// Calls `wake` once a place may be free (at once if one is).
    public func notifyWhenOpen(_ wake: @escaping @Sendable () -> Void) {
        let now = state.withLockedValue { state -> Bool in
            if state.running < limit { return true }
            state.waiters.append(wake)
            return false
        }
        if now { wake() }
    }
}
