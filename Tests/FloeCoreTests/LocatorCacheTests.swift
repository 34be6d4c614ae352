import FloeEncoding
import NIOConcurrencyHelpers
import Testing

@testable import FloeCore

@Suite("Locator cache", .timeLimit(.minutes(1)))
struct LocatorCacheTests {
    /// Calls through an expired entry (`Ice.BackgroundLocatorCacheUpdates`) while the locator
    /// takes its time start one lookup between them, and nothing per call: each started a task
    /// that waited for the same lookup, as many as calls were made meanwhile (without end when
    /// the locator never answered).
    @Test func backgroundRefreshesStartOneLookupAtATime() async throws {
        let cache = LocatorCache()
        let key = LocatorCache.Key.adapter(locator: nil, id: "A")
        let lookups = NIOLockedValueBox(0)
        let (answer, answering) = AsyncStream<Void>.makeStream()
        let started = (0..<100).map { _ in
            cache.refreshInBackground(key) {
                lookups.withLockedValue { $0 += 1 }
                for await _ in answer {}
                return ProxyData(identity: Identity(name: "dummy"))
            }
        }
        #expect(started.filter { $0 }.count == 1)
        answering.finish()
        // Once answered, the answer is stored, and the next expired call may look up again.
        let deadline = ContinuousClock.now + .seconds(10)
        while cache.stale(key) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(cache.stale(key) != nil)
        #expect(lookups.withLockedValue { $0 } == 1)
        #expect(cache.refreshInBackground(key) { nil })
    }

    /// Callers of a lookup that never ends leave when cancelled, and nothing of them stays (each
    /// waited, or left a task waiting, for as long as the lookup took); the others still get
    /// its answer.
    @Test func cancelledCallersLeaveALookupAtOnce() async throws {
        let cache = LocatorCache()
        let key = LocatorCache.Key.adapter(locator: nil, id: "A")
        let (answer, answering) = AsyncStream<Void>.makeStream()
        let lookup: @Sendable () async throws -> ProxyData? = {
            for await _ in answer {}
            return ProxyData(identity: Identity(name: "found"))
        }
        let staying = Task { try await cache.value(key, timeout: nil, lookup: lookup) }
        let leaving = (0..<50).map { _ in Task { try await cache.value(key, timeout: nil, lookup: lookup) } }
        let deadline = ContinuousClock.now + .seconds(10)
        while cache.waiterCount(key) < 51, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(cache.waiterCount(key) == 51)
        for task in leaving { task.cancel() }
        for task in leaving { await #expect(throws: CancellationError.self) { try await task.value } }
        #expect(cache.waiterCount(key) == 1)
        answering.finish()
        #expect(try await staying.value.value?.identity.name == "found")
    }
}
