import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Polls `condition` until it holds or `limit` passes; tests wait for events this way instead
/// of sleeping for a fixed window that a loaded 2-core machine may overrun.
func eventually(
    within limit: Duration = .seconds(20), _ condition: @Sendable () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// Waits until the peer closes `channel`. Fails the test and closes the channel itself after
/// `limit`, so a server that never hangs up fails the test instead of hanging it.
func expectPeerCloses(
    _ channel: any Channel, within limit: TimeAmount = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation
) async {
    let timedOut = NIOLockedValueBox(false)
    let timer = channel.eventLoop.scheduleTask(in: limit) {
        timedOut.withLockedValue { $0 = true }
        channel.close(promise: nil)
    }
    try? await channel.closeFuture.get()
    timer.cancel()
    #expect(!timedOut.withLockedValue { $0 }, "the peer did not close the connection", sourceLocation: sourceLocation)
}

/// A file a ZeroC test peer appends an operation's name to each time it runs it (context key
/// "record"), so a test counts executions across server restarts.
struct ExecutionRecord {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("floe-record-\(UUID().uuidString)").path
    }

    var context: [String: String] { ["record": path] }

    /// How many times the operation ran so far.
    var count: Int {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        return text.split(separator: "\n").count
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A loopback TCP port that refuses connections for as long as this value is held: the port
/// is bound, so nothing else can take it, but never listened on, so a connect gets a reset.
final class RefusingPort: Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        guard fd >= 0, bound else {
            if fd >= 0 { close(fd) }
            throw POSIXError(.EADDRNOTAVAIL)
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// Runs `process`, and kills it if it still runs after `limit`, so a peer that hangs (or one a
/// test forgets) ends instead of holding a pipe open forever.
func runWithWatchdog(_ process: Process, limit: Duration = .seconds(120)) throws {
    let exited = NIOLockedValueBox(false)
    process.terminationHandler = { _ in exited.withLockedValue { $0 = true } }
    try process.run()
    let pid = process.processIdentifier
    Task.detached {
        try? await Task.sleep(for: limit)
        if !exited.withLockedValue({ $0 }) { kill(pid, SIGKILL) }
    }
}

/// Runs `body` in a task, waits up to `limit` for it to end, and cancels it then: whether it
/// ended in time, and how (a call that should fail quickly, not hang, is tested this way).
func endsWithin<T: Sendable>(
    _ limit: Duration, _ body: @escaping @Sendable () async throws -> T
) async -> (ended: Bool, result: Result<T, any Error>) {
    let finished = NIOLockedValueBox(false)
    let task = Task {
        defer { finished.withLockedValue { $0 = true } }
        return try await body()
    }
    let ended = await eventually(within: limit) { finished.withLockedValue { $0 } }
    task.cancel()
    return (ended, await task.result)
}
