public import FloeProtocol
import NIOConcurrencyHelpers

/// Ice's implicit context (`Ice.ImplicitContext=Shared`): entries a communicator adds to every
/// request it sends, for all its tasks at once. A request's own context (the per-call one, else
/// the proxy's) wins where both have a key. Ice's `PerThread` kind has no counterpart: Swift
/// tasks move between threads.
public final class ImplicitContext: Sendable {
    private let entries = NIOLockedValueBox<Context>([:])

    init() {}

    /// The value of `key`, or "" (as in Ice) when there is none.
    public func get(_ key: String) -> String { entries.withLockedValue { $0[key] ?? "" } }

    /// Sets `key`, returning its previous value or "".
    @discardableResult
    public func put(_ key: String, _ value: String) -> String {
        entries.withLockedValue { $0.updateValue(value, forKey: key) ?? "" }
    }

    /// Removes `key`, returning its value or "".
    @discardableResult
    public func remove(_ key: String) -> String { entries.withLockedValue { $0.removeValue(forKey: key) ?? "" } }

    public func containsKey(_ key: String) -> Bool { entries.withLockedValue { $0[key] != nil } }

    public func getContext() -> Context { entries.withLockedValue { $0 } }

    public func setContext(_ context: Context) { entries.withLockedValue { $0 = context } }

    /// `context` with this context's entries added where it has none.
    func combined(with context: Context) -> Context {
        let implicit = getContext()
        guard !implicit.isEmpty else { return context }
        return context.merging(implicit) { own, _ in own }
    }
}
