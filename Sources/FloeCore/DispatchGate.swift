import FloeEncoding
import FloeProtocol
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Bounds the dispatches running at once across all of a communicator's connections
/// (`ConnectionOptions.maxCommunicatorDispatches`), so many connections cannot together start
/// more work than one server should hold. A connection that finds the gate full queues its
/// requests and asks to be told when a place frees up.
///
/// Entering and leaving are one atomic operation each (a lock here cost 11% of pipelined
/// calls); the lock guards only the waiting connections. Each place given back wakes one
/// waiting connection, the longest waiting: one that does not take the place passes it on
/// (`passOn()`). Waking them all made every finished dispatch cost a wake-up per waiting
/// connection, thousands of them behind a full gate.
public final class DispatchGate: Sendable {
    /// At most this many dispatches at once; 0 means no limit.
    public let limit: Int
    private let running = Atomic<Int>(0)
    private let waiterCount = Atomic<Int>(0)
    private let waiters = NIOLockedValueBox(CircularBuffer<(id: ObjectIdentifier, wake: @Sendable () -> Void)>())

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

    /// Gives a place back, and wakes the connection that has waited longest for one.
    public func leave() {
        guard limit > 0 else { return }
        running.subtract(1, ordering: .sequentiallyConsistent)
        if waiterCount.load(ordering: .sequentiallyConsistent) > 0 { wakeNext() }
    }

    /// Calls `wake` once a place may be free (at once if one is). `waiter` names the caller,
    /// for `stopWaiting(_:)`. A caller woken that does not take a place must call `passOn()`:
    /// one waiter is woken per place given back.
    public func notifyWhenOpen(_ waiter: ObjectIdentifier, _ wake: @escaping @Sendable () -> Void) {
        waiters.withLockedValue { waiters in
            waiters.append((waiter, wake))
            waiterCount.store(waiters.count, ordering: .sequentiallyConsistent)
        }
        // A place freed between the caller's failed `tryEnter` and the registration above was
        // given back by a `leave` that saw no waiter: look again.
        if running.load(ordering: .sequentiallyConsistent) < limit { wakeNext() }
    }

    /// Wakes the next waiting connection if a place is free: what a woken connection that took
    /// none (closed, nothing left to start, or waiting on something else) calls.
    public func passOn() {
        guard limit > 0, running.load(ordering: .sequentiallyConsistent) < limit else { return }
        wakeNext()
    }

    /// Forgets `waiter` (its connection closed): it is not woken, and wakes nobody else.
    public func stopWaiting(_ waiter: ObjectIdentifier) {
        waiters.withLockedValue { waiters in
            guard let index = waiters.firstIndex(where: { $0.id == waiter }) else { return }
            waiters.remove(at: index)
            waiterCount.store(waiters.count, ordering: .sequentiallyConsistent)
        }
    }

    private func wakeNext() {
        let next = waiters.withLockedValue { waiters in
            defer { waiterCount.store(waiters.count, ordering: .sequentiallyConsistent) }
            return waiters.popFirst()
        }
        next?.wake()
    }
}
