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
        var pending: [Key: Task<ProxyData?, any Error>] = [:]
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
            if let pending = state.pending[key] { return .wait(pending) }
            let task = Task { try await lookup() }
            state.pending[key] = task
            return .wait(task)
        }
        guard case .wait(let task) = step else {
            if case .cached(let value) = step { return (value, false) }
            return (nil, false)
        }
        return (try await settle(key, task, store: store), true)
    }

    /// The answer of `task`, the pending lookup of `key`, stored when `store` says so.
    private func settle(_ key: Key, _ task: Task<ProxyData?, any Error>, store: Bool) async throws -> ProxyData? {
        do {
            let value = try await task.value
            state.withLockedValue { state in
                guard state.pending[key] == task else { return }
                state.pending[key] = nil
                if store { state.entries[key] = Entry(value: value, time: ContinuousClock.now) }
            }
            return value
        } catch {
            state.withLockedValue { if $0.pending[key] == task { $0.pending[key] = nil } }
            throw error
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
    /// are dropped (the stale entry stays). Whether it started one. (Every call through an
    /// expired entry comes here: each started a task to wait for the same lookup, as many as
    /// calls were made while a locator took its time, or never answered.)
    @discardableResult
    func refreshInBackground(_ key: Key, lookup: @escaping @Sendable () async throws -> ProxyData?) -> Bool {
        let task = state.withLockedValue { state -> Task<ProxyData?, any Error>? in
            guard state.pending[key] == nil else { return nil }
            let task = Task { try await lookup() }
            state.pending[key] = task
            return task
        }
        guard let task else { return false }
        Task { _ = try? await settle(key, task, store: true) }
        return true
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
