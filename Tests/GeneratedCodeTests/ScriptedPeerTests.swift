import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import VectorFixtures

/// Plays the server side of a one-connection capture over a raw socket: sends each captured
/// server message once the client has sent every byte the capture shows before it, and keeps
/// what the client sent. Floe's connection then has to produce the captured client bytes.
private final class ScriptedServer: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private struct State {
        var next = 0
        var received: [UInt8] = []
    }

    private let script: [VectorFile.Message]
    private let state = NIOLockedValueBox(State())

    init(_ script: [VectorFile.Message]) { self.script = script }

    /// Every byte the client sent.
    var received: [UInt8] { state.withLockedValue { $0.received } }

    func channelActive(context: ChannelHandlerContext) { advance(context) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytesView
        state.withLockedValue { $0.received += bytes }
        advance(context)
    }

    /// Sends the server messages that are due; closes after a captured server-side close.
    private func advance(_ context: ChannelHandlerContext) {
        while true {
            // The next server message to send, if it is due.
            let due: VectorFile.Message?? = state.withLockedValue { state in
                guard state.next < script.count else { return nil }
                let message = script[state.next]
                if message.direction == "c2s" {
                    let expected = script[...state.next].filter { $0.direction == "c2s" }.map(\.bytes.count).reduce(
                        0, +)
                    guard state.received.count >= expected else { return nil }
                    state.next += 1
                    // A ZeroC server closes on reading the client's close-connection (which
                    // waits for it to).
                    return message.kind == "close-connection" ? .some(message) : .some(nil)
                }
                state.next += 1
                return message
            }
            guard let due else { return }
            if let due, due.direction == "c2s" {
                context.close(promise: nil)
            } else if let due {
                context.writeAndFlush(NIOAny(ByteBuffer(bytes: due.bytes)), promise: nil)
                if due.kind == "close-connection" { context.close(mode: .output, promise: nil) }
            }
        }
    }
}

@Suite("Vectors: Floe's client connection against scripted ZeroC servers", .timeLimit(.minutes(2)))
struct ScriptedPeerTests {
    /// Runs `calls` against a server replaying vector `name`, then destroys the client (which
    /// closes its connection); returns the captured and the sent client bytes, as hex.
    private func replay(
        _ name: String, retryIntervals: [Int] = [0], _ calls: @Sendable (Communicator, Int) async throws -> Void
    ) async throws -> (expected: String, sent: String) {
        let file = try VectorFile(named: name)
        #expect(Set(file.messages.map(\.connection)) == [1], "\(name) must be a one-connection capture")
        let handler = ScriptedServer(file.messages)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), retryIntervals: retryIntervals)
        try await calls(client, server.localAddress?.port ?? 0)
        await client.destroy()
        let expected = file.messages.filter { $0.direction == "c2s" }.flatMap(\.bytes)
        _ = await eventually { handler.received.count >= expected.count }
        try await server.close()
        return (hex(ignoringCloseCompression(expected)), hex(ignoringCloseCompression(handler.received)))
    }

    /// The frames with the compression status of close-connection messages cleared: 3.7 sends
    /// 1, 3.8 and Floe send 0, and receivers ignore it (ice-wire.md §2.8).
    private func ignoringCloseCompression(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        var offset = 0
        while offset + 14 <= bytes.count {
            let size = bytes[offset + 10..<offset + 14].reversed().reduce(0) { $0 << 8 | Int($1) }
            if bytes[offset + 8] == 4 { bytes[offset + 9] = 0 }
            offset += max(size, 14)
        }
        return bytes
    }

    private func tester(_ communicator: Communicator, _ port: Int, identity: String = "tester") throws
        -> any TesterPrx
    {
        try makeProxy(
            communicator: communicator, proxyString: "\(identity):tcp -h 127.0.0.1 -p \(port)",
            type: (any TesterPrx).self)
    }

    @Test("ping") func ping() async throws {
        let (expected, sent) = try await replay("ping") { try await tester($0, $1).ping() }
        #expect(sent == expected)
    }

    @Test("built-in operations")
    func builtins() async throws {
        let cases: [(String, @Sendable (any TesterPrx) async throws -> Void)] = [
            ("ice-ping", { try await $0.ice_ping() }),
            (
                "ice-isa",
                { tester in
                    let isA = try await tester.ice_isA(id: "::Vectors::Tester")
                    #expect(isA)
                }
            ),
            (
                "ice-id",
                { tester in
                    let id = try await tester.ice_id()
                    #expect(id == "::Vectors::Tester")
                }
            ),
            (
                "ice-ids",
                { tester in
                    let ids = try await tester.ice_ids()
                    #expect(ids == ["::Ice::Object", "::Vectors::Tester"])
                }
            ),
        ]
        for (name, call) in cases {
            let (expected, sent) = try await replay(name) { try await call(try tester($0, $1)) }
            #expect(sent == expected, "\(name)")
        }
    }

    /// The server answers, then closes: the call succeeds and the connection ends cleanly.
    @Test("close-by-server") func closeByServer() async throws {
        let (expected, sent) = try await replay("close-by-server") { communicator, port in
            let tester = try tester(communicator, port)
            let connection = try await tester.ice_getConnection()
            try await tester.closeConnection()
            #expect(await eventually { connection.isClosed }, "the server's close-connection closes the connection")
        }
        #expect(sent == expected)
    }

    /// An idempotent call answered with status 5 is retried once (Ice.RetryIntervals=0) on the
    /// same connection with the next request id, then the error is reported.
    @Test("retry-idempotent") func retryIdempotent() async throws {
        let (expected, sent) = try await replay("retry-idempotent") { communicator, port in
            do {
                try await tester(communicator, port).opIdempotentFail()
                Issue.record("the call succeeded")
            } catch let error as DispatchError {
                #expect(error.status == .unknownLocalException && error.message == "transient failure", "\(error)")
            }
        }
        #expect(sent == expected)
    }

    @Test("object-not-exist") func objectNotExist() async throws {
        let (expected, sent) = try await replay("object-not-exist") { communicator, port in
            await #expect(throws: DispatchError.self) {
                try await tester(communicator, port, identity: "missing").ice_ping()
            }
        }
        #expect(sent == expected)
    }
}
