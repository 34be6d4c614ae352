import FloeCore
import FloeNIO
import Foundation
import NIOCore
import NIOPosix
import TestSupport
import Testing

/// A server out of file descriptors: more clients connect than the process may hold open.
@Suite("Descriptor shortage", .timeLimit(.minutes(2)))
struct DescriptorShortageTests {
    /// `accept` keeps failing with EMFILE while connections wait in the listen backlog (the
    /// server's descriptor limit lowered once it has started). The
    /// server says so once, does not spin an event loop meanwhile (it did, at full CPU, with no
    /// word in the log), and accepts again once descriptors are free.
    @Test func aServerOutOfDescriptorsPausesAcceptingAndRecovers() async throws {
        guard let bench = builtFloeBench() else { return }
        let port = try await freePort()
        let (server, output) = try launchPeer(bench, ["server", "--endpoints", "tcp -h 127.0.0.1 -p \(port)"])
        defer { kill(server.processIdentifier, SIGKILL) }
        #expect(try await firstLine(of: output) == "ready")
        // Room for 20 more descriptors than the server has open once started (that count grows
        // with the host's cores: an event loop each), set from outside with prlimit.
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.processIdentifier)/fd").count
        let limit = Process()
        limit.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        limit.arguments = ["--pid", "\(server.processIdentifier)", "--nofile=\(open + 20):\(open + 20)"]
        try limit.run()
        await offPool { limit.waitUntilExit() }
        #expect(limit.terminationStatus == 0, "prlimit failed")

        // 100 connections: about 20 accepted until the server's descriptors run out, the rest
        // left waiting in its backlog.
        var clients: [any Channel] = []
        defer { for client in clients { client.close(promise: nil) } }
        for _ in 0..<100 {
            clients.append(
                try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port).get())
        }
        let warning = "cannot accept more tcp connections at 127.0.0.1:\(port): too many open files"
        #expect(
            await eventually(within: .seconds(10)) { peerErrors(server).contains(warning) }, "\(peerErrors(server))")

        let before = try cpuTicks(of: server.processIdentifier)
        try await Task.sleep(for: .seconds(2))
        let spent = try cpuTicks(of: server.processIdentifier) - before
        #expect(spent < 40, "the server spent \(spent) of 200 clock ticks in 2 s while out of descriptors")
        #expect(peerErrors(server).components(separatedBy: warning).count == 2, "one warning, not one a second")

        for client in clients { try? await client.close() }
        clients = []
        let communicator = Communicator(transport: NIOTransport())
        let recovered = try #require(try communicator.stringToProxy("bench:tcp -h 127.0.0.1 -p \(port) -t 10000"))
        await #expect(throws: Never.self) { try await recovered.ice_ping() }
        await communicator.destroy()
    }

    /// User and system CPU time of a process, in clock ticks (100 a second on Linux).
    private func cpuTicks(of pid: Int32) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
        let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
        return try #require(Int(fields[11])) + #require(Int(fields[12]))
    }
}
