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
        // (NIO's `SocketAddress` builds the address, and the port is read from the bytes
        // `getsockname` fills in: `sockaddr_in`'s members resolve to NIO's C module or Glibc's
        // depending on which file the compiler loads first, and MemberImportVisibility then
        // refuses them.)
        let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var raw = [UInt8](repeating: 0, count: 128)
        var length = socklen_t(raw.count)
        let bound =
            fd >= 0 && loopback.withSockAddr { bind(fd, $0, socklen_t($1)) } == 0
            && raw.withUnsafeMutableBytes { bytes in
                guard let base = bytes.baseAddress else { return false }
                let address = base.bindMemory(to: sockaddr.self, capacity: 1)
                return getsockname(fd, address, &length) == 0
            }
        guard bound else {
            if fd >= 0 { close(fd) }
            throw POSIXError(.EADDRNOTAVAIL)
        }
        descriptor = fd
        port = Int(raw[2]) << 8 | Int(raw[3])  // sin_port, in network byte order
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
