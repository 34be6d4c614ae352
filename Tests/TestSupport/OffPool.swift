import Foundation

/// Runs blocking or CPU-bound work (waiting for a process, parsing hostile Slice) on a thread of
/// its own. Swift's cooperative pool has one thread per core (two on these machines), and every
/// test of the run shares it: two tests busy on it for seconds stall all the others, and the
/// timers of timing-sensitive network tests with them (a 300 ms invocation timeout once took
/// 19 s in a full run).
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// `offPool` for work that cannot fail.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}
