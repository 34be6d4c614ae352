import FloeCore
import NIOConcurrencyHelpers
import Testing

/// `Floe.MaxDispatches`' gate: each place given back wakes one waiting connection, the longest
/// waiting (helper-57's review: it woke them all, a wake-up per waiting connection for every
/// finished dispatch, thousands behind a full gate).
@Suite("The communicator's dispatch gate")
struct DispatchGateTests {
    private final class Waiter {}

    @Test func eachPlaceGivenBackWakesOneWaiterInOrder() {
        let gate = DispatchGate(limit: 1)
        #expect(gate.tryEnter())
        #expect(!gate.tryEnter())
        let woken = NIOLockedValueBox<[Int]>([])
        let waiters = (0..<100).map { _ in Waiter() }
        for (index, waiter) in waiters.enumerated() {
            gate.notifyWhenOpen(ObjectIdentifier(waiter)) { woken.withLockedValue { $0.append(index) } }
        }
        #expect(woken.withLockedValue { $0 }.isEmpty)
        gate.leave()
        #expect(woken.withLockedValue { $0 } == [0])
        // The first does not take the place (its connection closed, say): it passes it on.
        gate.passOn()
        #expect(woken.withLockedValue { $0 } == [0, 1])
        // The second takes it: passing on now wakes nobody, as no place is free.
        #expect(gate.tryEnter())
        gate.passOn()
        #expect(woken.withLockedValue { $0 } == [0, 1])
        // A waiter whose connection closed is not woken.
        gate.stopWaiting(ObjectIdentifier(waiters[2]))
        gate.leave()
        #expect(woken.withLockedValue { $0 } == [0, 1, 3])
    }

    /// A place given back between a failed `tryEnter` and the registration is not lost.
    @Test func aWaiterRegisteringBesideAFreePlaceIsWokenAtOnce() {
        let gate = DispatchGate(limit: 1)
        let woken = NIOLockedValueBox(0)
        let waiter = Waiter()
        gate.notifyWhenOpen(ObjectIdentifier(waiter)) { woken.withLockedValue { $0 += 1 } }
        #expect(woken.withLockedValue { $0 } == 1)
    }
}
