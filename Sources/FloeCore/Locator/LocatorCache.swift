import FloeEncoding
import NIOConcurrencyHelpers

/// What a communicator learnt from its locators, as Ice 3.7 keeps it: adapter ids to their
/// endpoints, well-known identities to the proxies they resolve to. Lookups of one key share one
/// request. An entry older than the proxy's `locatorCacheTimeout` is looked up again.
final class LocatorCache: Sendable {
    /// `locator` nil: the communicator's default locator, the usual case; hashing a whole
    /// proxy on every call through an indirect proxy cost a quarter of pipelined throughput.
    enum Key: Hashable, Sendable {
        case adapter(locator: ProxyData?, id: String)
        case object(locator: ProxyData?, id: Identity)
    }

    private struct Entry {
        var value: ProxyData?
        var time: ContinuousClock.Instant
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        /// Lookups under way, each with an id of its own.
        var pending: [Key: Lookup] = [:]
        var nextId: UInt64 = 0
        /// Callers about to wait, and those of them cancelled already (see `answer(of:)`).
        var registering: Set<UInt64> = []
        var cancelledWaiters: Set<UInt64> = []
    }

    /// A lookup under way, and the callers waiting for its answer, by token: a cancelled caller
    /// leaves at once (see `answer(of:)`).
    private struct Lookup {
        let id: UInt64
        let task: Task<ProxyData?, any Error>
        var waiters: [UInt64: CheckedContinuation<ProxyData?, any Error>] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// The cached value of `key` when it is younger than `timeout` (nil: forever; zero: never
    /// cached), else the value `lookup` gives, shared with concurrent lookups of the same key;
    /// `fresh` says whether it was looked up now.
    func value(
        _ key: Key, timeout: Duration?, lookup: @escaping @Sendable () async throws -> ProxyData?
    ) async throws -> (value: ProxyData?, fresh: Bool) {
        try await value(key, timeout: timeout, store: timeout != .zero, lookup: lookup)
    }

    /// As `value(_:timeout:lookup:)`; `store` false keeps the answer out of the cache.
    private func value(
        _ key: Key, timeout: Duration?, store: Bool, lookup: @escaping @Sendable () async throws -> ProxyData?
    ) async throws -> (value: ProxyData?, fresh: Bool) {
        enum Step {
            case cached(ProxyData?)
            case wait(id: UInt64, Task<ProxyData?, any Error>)
        }
        let now = ContinuousClock.now
        let step = state.withLockedValue { state -> Step in
            if timeout != .zero, let entry = state.entries[key], timeout.map({ now - entry.time < $0 }) ?? true {
                return .cached(entry.value)
            }
            let lookup = state.pending[key] ?? startLookup(key, store: store, in: &state, lookup: lookup)
            return .wait(id: lookup.id, lookup.task)
        }
        switch step {
        case .cached(let value): return (value, false)
        case .wait(let id, let task): return (try await answer(of: key, id: id, task), true)
        }
    }

    /// Starts looking `key` up; the lookup stores its answer when `store` says so, leaves the
    /// pending table and answers its waiters.
    private func startLookup(
        _ key: Key, store: Bool, in state: inout State, lookup: @escaping @Sendable () async throws -> ProxyData?
    ) -> Lookup {
        state.nextId &+= 1
        let id = state.nextId
        let task = Task {
            let result: Result<ProxyData?, any Error>
            do {
                result = .success(try await lookup())
            } catch {
                result = .failure(error)
            }
            let waiters = self.state.withLockedValue { state -> [CheckedContinuation<ProxyData?, any Error>] in
                guard let pending = state.pending[key], pending.id == id else { return [] }
                state.pending[key] = nil
                if store, case .success(let value) = result {
                    state.entries[key] = Entry(value: value, time: ContinuousClock.now)
                }
                return Array(pending.waiters.values)
            }
            for waiter in waiters { waiter.resume(with: result) }
            return try result.get()
        }
        let pending = Lookup(id: id, task: task)
        state.pending[key] = pending
        return pending
    }

    /// The answer of lookup `id` of `key`, or `CancellationError` as soon as the caller is
    /// cancelled (the lookup goes on for the others, and nothing of the caller stays): a
    /// locator that never answered held a cancelled call without an invocation timeout for
    /// ever, and each timed-out call left a task behind.
    private func answer(of key: Key, id: UInt64, _ task: Task<ProxyData?, any Error>) async throws -> ProxyData? {
        let token = state.withLockedValue { state in
            state.nextId &+= 1
            state.registering.insert(state.nextId)
            return state.nextId
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                enum Registration { case waiting, cancelled, ended }
                let registration = state.withLockedValue { state -> Registration in
                    state.registering.remove(token)
                    if state.cancelledWaiters.remove(token) != nil { return .cancelled }
                    guard state.pending[key]?.id == id else { return .ended }
                    state.pending[key]?.waiters[token] = continuation
                    return .waiting
                }
                switch registration {
                case .waiting: break
                case .cancelled: continuation.resume(throwing: CancellationError())
                // (Ended between the caller's look and now: its result is there already.)
                case .ended: Task { continuation.resume(with: await task.result) }
                }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<ProxyData?, any Error>? in
                if state.registering.contains(token) {
                    state.cancelledWaiters.insert(token)  // (the registration sees it)
                    return nil
                }
                guard state.pending[key]?.id == id else { return nil }  // (answered already)
                return state.pending[key]?.waiters.removeValue(forKey: token)
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// The cached value of `key` if it is younger than `timeout`: one lock, nothing allocated.
    func cached(_ key: Key, timeout: Duration?) -> ProxyData? {
        guard timeout != .zero else { return nil }
        // The clock only when entries expire (the default, -1, keeps them).
        let now = timeout == nil ? nil : ContinuousClock.now
        return state.withLockedValue { state in
            guard let entry = state.entries[key] else { return nil }
            if let timeout, let now, now - entry.time >= timeout { return nil }
            return entry.value
        }
    }

    /// The callers waiting for the lookup of `key` under way (for tests).
    func waiterCount(_ key: Key) -> Int { state.withLockedValue { $0.pending[key]?.waiters.count ?? 0 } }

    /// An entry however old, for `Ice.BackgroundLocatorCacheUpdates`.
    func stale(_ key: Key) -> ProxyData? { state.withLockedValue { $0.entries[key]?.value } }

    /// Looks `key` up now and stores the answer, unless a lookup is under way already; errors
    /// are dropped (the stale entry stays, unless `lookup` removes it). Whether it started one. (Every call through an
    /// expired entry comes here: each started a task to wait for the same lookup, as many as
    /// calls were made while a locator took its time, or never answered.)
    @discardableResult
    func refreshInBackground(_ key: Key, lookup: @escaping @Sendable () async throws -> ProxyData?) -> Bool {
        state.withLockedValue { state in
            guard state.pending[key] == nil else { return false }
            _ = startLookup(key, store: true, in: &state, lookup: lookup)
            return true
        }
    }

    /// Forgets what the default locator answered (`locator` nil in the key).
    func removeDefaultLocatorEntries() {
        state.withLockedValue { state in
            state.entries = state.entries.filter { key, _ in
                switch key {
                case .adapter(let locator, _), .object(let locator, _): locator != nil
                }
            }
        }
    }

    /// Forgets `key`, returning what it held: the next call looks it up again.
    @discardableResult
    func remove(_ key: Key) -> ProxyData? { state.withLockedValue { $0.entries.removeValue(forKey: key)?.value } }
}
