import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import VectorFixtures

/// A bare server that validates connections and records every byte it receives.
private final class RecordingHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let received = NIOLockedValueBox<[UInt8]>([])

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(
            NIOAny(ByteBuffer(bytes: [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 3, 0, 14, 0, 0, 0])), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        received.withLockedValue { $0 += bytes }
    }
}

/// The validate-connection messages (type 3, 14 bytes) among the frames `bytes` holds.
private func heartbeats(in bytes: [UInt8]) -> [[UInt8]] {
    var frames: [[UInt8]] = []
    var offset = 0
    while offset + 14 <= bytes.count {
        let size = Int(bytes[offset + 10]) | Int(bytes[offset + 11]) << 8
        if bytes[offset + 8] == 3 { frames.append(Array(bytes[offset..<offset + 14])) }
        offset += max(size, 14)
    }
    return frames
}

/// How many close-connection messages (type 4) `bytes` holds.
private func closes(in bytes: [UInt8]) -> Int {
    var count = 0
    var offset = 0
    while offset + 14 <= bytes.count {
        let size = Int(bytes[offset + 10]) | Int(bytes[offset + 11]) << 8
        if bytes[offset + 8] == 4 { count += 1 }
        offset += max(size, 14)
    }
    return count
}

@Suite("Heartbeats", .timeLimit(.minutes(2)))
struct HeartbeatTests {
    /// A bare server recording what it receives, and a client's oneway ping opening the
    /// connection to it (no reply needed).
    private static func connect(_ client: Communicator) async throws -> (any Channel, RecordingHandler) {
        let recorder = RecordingHandler()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(recorder) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let proxy = try #require(try client.stringToProxy("x -o:tcp -h 127.0.0.1 -p \(port)"))
        try await proxy.ice_ping()
        return (server, recorder)
    }

    @Test func idleConnectionsSendValidateConnectionMessages() async throws {
        // Idle timeout 1 s: a heartbeat whenever nothing was written for 500 ms. (Idle closing
        // is off here: it would close this unused connection after 1 s.)
        let client = Communicator(transport: NIOTransport(), connectionOptions: .idleTimeout(1, close: .off))
        let (server, recorder) = try await Self.connect(client)
        // The heartbeat ZeroC 3.7.8 sent in the same situation (vector "heartbeat").
        let captured = try #require(
            try VectorFile(named: "heartbeat").messages.first {
                $0.direction == "c2s" && $0.kind == "validate-connection"
            }
        ).bytes
        let received: @Sendable () -> [[UInt8]] = { heartbeats(in: recorder.received.withLockedValue { $0 }) }
        #expect(await eventually { received().count >= 2 }, "\(received().count) heartbeats")
        #expect(received().allSatisfy { $0 == captured }, "\(received())")
        await client.destroy()
        try await server.close()
    }

    /// `Connection.heartbeat()` sends one now, with heartbeats off; a closed connection throws.
    @Test func aHeartbeatCanBeSentOnDemand() async throws {
        var properties = Properties()
        properties["Ice.ACM.Heartbeat"] = "0"
        let client = try Communicator(properties: properties, transport: NIOTransport())
        let (server, recorder) = try await Self.connect(client)
        let proxy = try #require(try client.stringToProxy("x -o:tcp -h 127.0.0.1 -p \(server.localAddress?.port ?? 0)"))
        let connection = try await proxy.ice_getConnection()
        let received: @Sendable () -> Int = { heartbeats(in: recorder.received.withLockedValue { $0 }).count }
        #expect(received() == 0)
        try await connection.heartbeat()
        try await connection.heartbeat()
        #expect(await eventually { received() == 2 }, "\(received()) heartbeats")
        await connection.abort()
        await #expect(throws: LocalError.self) { try await connection.heartbeat() }
        await client.destroy()
        try await server.close()
    }

    /// Ice 3.7's per-side ACM properties: `Ice.ACM.Client.Timeout` overrides `Ice.ACM.Timeout`
    /// for outgoing connections, and `Ice.ACM.Heartbeat=0` turns heartbeats off.
    @Test(arguments: [false, true])
    func theClientsACMPropertiesApply(heartbeatsOff: Bool) async throws {
        var properties = Properties()
        properties["Ice.ACM.Timeout"] = "60"
        properties["Ice.ACM.Client.Timeout"] = "1"
        properties["Ice.ACM.Client.Close"] = "0"
        if heartbeatsOff { properties["Ice.ACM.Heartbeat"] = "0" }
        let client = try Communicator(properties: properties, transport: NIOTransport())
        let (server, recorder) = try await Self.connect(client)
        let received: @Sendable () -> Int = { heartbeats(in: recorder.received.withLockedValue { $0 }).count }
        if heartbeatsOff {
            // With them on, four or so would have come by now.
            try await Task.sleep(for: .milliseconds(2500))
            #expect(received() == 0)
        } else {
            #expect(await eventually { received() >= 2 }, "\(received()) heartbeats")
        }
        await client.destroy()
        try await server.close()
    }

    /// ZeroC's way of keeping a connection open (and a session bound to it): heartbeats 2 (on
    /// idle) or 3 (always), which count as the connection's activity in Ice 3.7. With 1, the
    /// same unused connection is closed once idle (`Ice.ACM.Client.Close` 3, the default).
    @Test(arguments: [1, 3])
    func heartbeatsAlwaysKeepAConnectionOpen(heartbeat: Int) async throws {
        var properties = Properties()
        properties["Ice.ACM.Client.Timeout"] = "1"
        properties["Ice.ACM.Client.Heartbeat"] = "\(heartbeat)"
        let client = try Communicator(properties: properties, transport: NIOTransport())
        let (server, recorder) = try await Self.connect(client)
        let closed: @Sendable () -> Bool = { closes(in: recorder.received.withLockedValue { $0 }) > 0 }
        if heartbeat == 3 {
            // Idle closing would have come after about 1 s.
            try await Task.sleep(for: .milliseconds(3_000))
            #expect(!closed())
            #expect(heartbeats(in: recorder.received.withLockedValue { $0 }).count >= 2)
        } else {
            #expect(await eventually { closed() }, "the unused connection was not closed")
        }
        await client.destroy()
        try await server.close()
    }
}
