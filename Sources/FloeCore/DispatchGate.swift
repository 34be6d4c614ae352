import FloeEncoding
import FloeProtocol
import NIOConcurrencyHelpers
import Synchronization

/// Bounds the dispatches running at once across all of a communicator's connections
/// (`ConnectionOptions.maxCommunicatorDispatches`), so many connections cannot together start
/// more work than one server should hold. A connection that finds the gate full queues its
/// requests and asks to be told when a place frees up.
///
/// Entering and leaving are one atomic operation each (a lock here cost 11% of pipelined
/// calls); the lock guards only the waiting connections.
public final class DispatchGate: Sendable {
    /// At most this many dispatches at once; 0 means no limit.
    public let limit: Int
    private let running = Atomic<Int>(0)
    private let waiterCount = Atomic<Int>(0)
    private let waiters = NIOLockedValueBox<[@Sendable () -> Void]>([])

    public init(limit: Int) { self.limit = limit }

    /// Takes a place if one is free.
    public func tryEnter() -> Bool {
        guard limit > 0 else { return true }
        var current = running.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = running.compareExchange(
                expected: current, desired: current + 1, ordering: .sequentiallyConsistent)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives a place back, and wakes the waiting connections: one that wakes may find nothing
    /// left to start (or be closed), so waking only one could leave the others waiting beside a
    /// free place.
    public func leave() {
        guard limit > 0 else { return }
        running.subtract(1, ordering: .sequentiallyConsistent)
        if waiterCount.load(ordering: .sequentiallyConsistent) > 0 { wakeAll() }
    }

    /// Calls `wake` once a place may be free (at once if one is).
    public func notifyWhenOpen(_ wake: @escaping @Sendable () -> Void) {
        waiters.withLockedValue { waiters in
            waiters.append(wake)
            waiterCount.store(waiters.count, ordering: .sequentiallyConsistent)
        }
        // A place freed between the caller's failed `tryEnter` and the registration above was
        // given back by a `leave` that saw no waiter: look again.
        if running.load(ordering: .sequentiallyConsistent) < limit { wakeAll() }
    }

    private func wakeAll() {
        let woken = waiters.withLockedValue { waiters in
            defer {
                waiters = []
                waiterCount.store(0, ordering: .sequentiallyConsistent)
            }
            return waiters
        }
        for wake in woken { wake() }
    }
}
