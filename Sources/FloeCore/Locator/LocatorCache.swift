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
        /// Lookups under way, each with an id of its own (a later lookup of the key may replace
        /// it in the table before it ends).
        var pending: [Key: (id: UInt64, task: Task<ProxyData?, any Error>)] = [:]
        var nextLookup: UInt64 = 0
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
            case wait(Task<ProxyData?, any Error>)
        }
        let now = ContinuousClock.now
        let step = state.withLockedValue { state -> Step in
            if timeout != .zero, let entry = state.entries[key], timeout.map({ now - entry.time < $0 }) ?? true {
                return .cached(entry.value)
            }
            if let pending = state.pending[key] { return .wait(pending.task) }
            return .wait(startLookup(key, store: store, in: &state, lookup: lookup))
        }
        guard case .wait(let task) = step else {
            if case .cached(let value) = step { return (value, false) }
            return (nil, false)
        }
        return (try await Self.answer(of: task), true)
    }

    /// Starts looking `key` up; the lookup stores its answer when `store` says so, and leaves
    /// the pending table, whoever still waits for it.
    private func startLookup(
        _ key: Key, store: Bool, in state: inout State, lookup: @escaping @Sendable () async throws -> ProxyData?
    ) -> Task<ProxyData?, any Error> {
        state.nextLookup &+= 1
        let id = state.nextLookup
        let task = Task {
            let result: Result<ProxyData?, any Error>
            do {
                result = .success(try await lookup())
            } catch {
                result = .failure(error)
            }
            self.state.withLockedValue { state in
                guard state.pending[key]?.id == id else { return }
                state.pending[key] = nil
                if store, case .success(let value) = result {
                    state.entries[key] = Entry(value: value, time: ContinuousClock.now)
                }
            }
            return try result.get()
        }
        state.pending[key] = (id, task)
        return task
    }

    /// The answer of a shared lookup, or `CancellationError` as soon as the caller is cancelled
    /// (the lookup goes on for the others): a locator that never answered held a cancelled
    /// call without an invocation timeout for ever.
    private static func answer(of lookup: Task<ProxyData?, any Error>) async throws -> ProxyData? {
        let waiter = NIOLockedValueBox<CheckedContinuation<ProxyData?, any Error>?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiter.withLockedValue { $0 = continuation }
                // (Cancelled before the continuation was kept: the handler found none.)
                if Task.isCancelled {
                    waiter.withLockedValue { $0.take() }?.resume(throwing: CancellationError())
                    return
                }
                Task {
                    let result = await lookup.result
                    waiter.withLockedValue { $0.take() }?.resume(with: result)
                }
            }
        } onCancel: {
            waiter.withLockedValue { $0.take() }?.resume(throwing: CancellationError())
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
