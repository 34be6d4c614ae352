import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import Foundation
import NIOCore
import NIOPosix
import TestSupport
import Testing

/// What callers see when peers die, restart, stall or misbehave.
@Suite("Faults", .serialized, .timeLimit(.minutes(2)))
struct FaultTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// A ZeroC Python server on `port` (0: any); returns the process and the port it took.
    private func zerocServer(port: Int32 = 0) async throws -> (Process, Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            Self.here.appendingPathComponent("Peers/vectors_server.py").path, Self.here.path, "\(port)",
        ]
        let output = Pipe()
        process.standardOutput = output
        // Never let a peer hold the test runner's own output open.
        process.standardError = FileHandle.nullDevice
        try runWithWatchdog(process)
        let handle = output.fileHandleForReading
        let line = try await Task.detached {
            var line = Data()
            while let byte = try handle.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line += byte }
            return String(decoding: line, as: UTF8.self)
        }.value
        return (process, try #require(Int32(line), "the ZeroC server did not start"))
    }

    private func tester(_ communicator: Communicator, port: Int32) throws -> any TesterPrx {
        try makeProxy(
            communicator: communicator, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
    }

    /// Kills `server` once `record` shows the call reached it.
    private func killWhenRun(_ server: Process, _ record: ExecutionRecord) async throws {
        #expect(await eventually { record.count == 1 }, "the call never reached the server")
        kill(server.processIdentifier, SIGKILL)
        await offPool { server.waitUntilExit() }
    }

    /// A non-idempotent call the server was running when it died fails with connection lost:
    /// a retry (which must not happen) would fail with connection refused instead.
    @Test func aServerKilledMidCallFailsTheCallWithConnectionLost() async throws {
        let (server, port) = try await zerocServer()
        defer { kill(server.processIdentifier, SIGKILL) }
        let record = ExecutionRecord()
        defer { record.remove() }
        let communicator = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try tester(communicator, port: port)
        try await tester.ice_ping()
        async let call: Void = tester.ping(context: ["sleep": "10"].merging(record.context) { a, _ in a })
        try await killWhenRun(server, record)
        do {
            try await call
            Issue.record("the call succeeded")
        } catch let error as LocalError {
            #expect(error.code == .connectionLost, "\(error)")
        }
        #expect(record.count == 1)
        await communicator.destroy()
    }

    /// The same from the connection's own event loop, where the caller waits on a continuation
    /// the connection resumes rather than on a future.
    @Test func aServerKilledMidCallFailsACallMadeOnTheConnectionsLoop() async throws {
        let (server, port) = try await zerocServer()
        defer { kill(server.processIdentifier, SIGKILL) }
        let record = ExecutionRecord()
        defer { record.remove() }
        let communicator = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try tester(communicator, port: port)
        let loop = try #require(ConnectionActor(try await tester.ice_getConnection()))
        let killer = Task { try await killWhenRun(server, record) }
        let code = await Self.sleepingCall(tester, context: record.context, on: loop)
        try await killer.value
        #expect(code == .connectionLost)
        #expect(record.count == 1)
        await communicator.destroy()
    }

    /// A call the server answers after 10 s, made isolated to `loop`: its error's code.
    private static func sleepingCall(
        _ tester: any TesterPrx, context: [String: String], on loop: isolated ConnectionActor
    ) async -> LocalError.Code? {
        do {
            try await tester.ice_ping()
            try await tester.ping(context: ["sleep": "10"].merging(context) { a, _ in a })
            return nil
        } catch let error as LocalError {
            return error.code
        } catch {
            return nil
        }
    }

    @Test func anIdempotentCallIsRetriedOntoARestartedServer() async throws {
        let (first, port) = try await zerocServer()
        let record = ExecutionRecord()
        defer { record.remove() }
        let communicator = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), retryIntervals: [0, 500, 1000, 2000, 4000])
        let tester = try tester(communicator, port: port)
        // (Long enough that the kill comes first on a loaded machine, which the check below needs.)
        async let call = tester.opIdempotent(context: ["sleep": "3"].merging(record.context) { a, _ in a })
        try await killWhenRun(first, record)
        let (second, _) = try await zerocServer(port: port)
        defer { kill(second.processIdentifier, SIGKILL) }
        #expect(try await call == 7)
        #expect(record.count == 2, "run once by each server")
        await communicator.destroy()
    }

    /// The server dies while running a non-idempotent call and comes back on the same port:
    /// the call fails, and the new server never runs it.
    @Test func aNonIdempotentCallIsNotRetried() async throws {
        let (first, port) = try await zerocServer()
        let record = ExecutionRecord()
        defer { record.remove() }
        let communicator = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), retryIntervals: [0, 500, 1000])
        let tester = try tester(communicator, port: port)
        let call = Task { try await tester.ping(context: ["sleep": "1"].merging(record.context) { a, _ in a }) }
        try await killWhenRun(first, record)
        let (second, _) = try await zerocServer(port: port)
        defer { kill(second.processIdentifier, SIGKILL) }
        do {
            try await call.value
            Issue.record("the call succeeded: it was retried")
        } catch let error as LocalError {
            #expect(error.code == .connectionLost, "\(error)")
        }
        // The retry intervals have passed: a retry would have run by now.
        try await Task.sleep(for: .milliseconds(1600))
        try await tester.ice_ping()
        #expect(record.count == 1, "ping ran \(record.count) times")
        await communicator.destroy()
    }

    /// An invocation timeout fires no earlier than its deadline, and not long after it.
    @Test func invocationTimeoutsAreHonoured() async throws {
        let (server, port) = try await zerocServer()
        defer { kill(server.processIdentifier, SIGKILL) }
        let communicator = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), retryIntervals: [])
        let tester = try tester(communicator, port: port).ice_invocationTimeout(500)
        try await tester.ice_ping()
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try await tester.ping(context: ["sleep": "10"])
            Issue.record("no timeout")
        } catch let error as LocalError {
            #expect(error.code == .invocationTimeout)
        }
        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(500) && elapsed < .seconds(5), "took \(elapsed)")
        await communicator.destroy()
    }

    /// Raw frames that break the protocol, each on its own connection.
    @Test(
        arguments: [
            ("bad magic", [0x49, 0x63, 0x65, 0x51, 1, 0, 1, 0, 0, 0, 14, 0, 0, 0]),
            ("size below the header", [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 0, 0, 5, 0, 0, 0]),
            ("unknown message type", [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 9, 0, 14, 0, 0, 0]),
            ("size above Ice.MessageSizeMax", [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0x40]),
            ("truncated request body", [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 9, 0]),
        ] as [(String, [UInt8])])
    func malformedFramesCloseOnlyTheirConnection(name: String, bytes: [UInt8]) async throws {
        let server = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let adapter = try await server.createObjectAdapterWithEndpoints(name: "S", endpoints: "tcp -h 127.0.0.1 -p 0")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        let port = try #require(adapter.publishedEndpoints.first?.port)
        let client = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try tester(client, port: port)
        try await tester.ice_ping()
        let raw = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: Int(port)).get()
        try await raw.writeAndFlush(ByteBuffer(bytes: bytes))
        await expectPeerCloses(raw)
        try await tester.ice_ping()
        #expect(try await tester.opIdempotent() == 7, "\(name): the other connection still works")
        await client.destroy()
        await server.destroy()
    }

    @Test func twoHundredConcurrentClientsAreServedWithoutLoss() async throws {
        let server = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let adapter = try await server.createObjectAdapterWithEndpoints(name: "S", endpoints: "tcp -h 127.0.0.1 -p 0")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        let port = try #require(adapter.publishedEndpoints.first?.port)
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let client = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
                    let tester = try tester(client, port: port)
                    let answer = try await tester.opContext("id", context: ["id": "\(i)"])
                    await client.destroy()
                    return answer
                }
            }
            var all: [String] = []
            for try await answer in group { all.append(answer) }
            return all
        }
        #expect(Set(answers) == Set((0..<200).map(String.init)))
        await server.destroy()
    }
}
