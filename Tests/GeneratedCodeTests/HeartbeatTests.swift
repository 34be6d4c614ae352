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

@Suite("Heartbeats", .timeLimit(.minutes(2)))
struct HeartbeatTests {
    @Test func idleConnectionsSendValidateConnectionMessages() async throws {
        let recorder = RecordingHandler()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(recorder) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        // Idle timeout 1 s: a heartbeat whenever nothing was written for 500 ms. (Idle closing
        // is off here: it would close this unused connection after 1 s.)
        let client = Communicator(transport: NIOTransport(), connectionOptions: .idleTimeout(1, close: .off))
        let proxy = try #require(try client.stringToProxy("x -o:tcp -h 127.0.0.1 -p \(port)"))
        try await proxy.ice_ping()  // oneway: opens the connection, needs no reply
        // The heartbeat ZeroC 3.7.8 sent in the same situation (vector "heartbeat").
        let captured = try #require(
            try VectorFile(named: "heartbeat").messages.first {
                $0.direction == "c2s" && $0.kind == "validate-connection"
            }
        ).bytes
        // Frames: the oneway request, then validate-connection messages (type 3, 14 bytes).
        let heartbeats: @Sendable () -> [[UInt8]] = {
            let bytes = recorder.received.withLockedValue { $0 }
            var frames: [[UInt8]] = []
            var offset = 0
            while offset + 14 <= bytes.count {
                let size = Int(bytes[offset + 10]) | Int(bytes[offset + 11]) << 8
                if bytes[offset + 8] == 3 { frames.append(Array(bytes[offset..<offset + 14])) }
                offset += max(size, 14)
            }
            return frames
        }
        #expect(await eventually { heartbeats().count >= 2 }, "\(heartbeats().count) heartbeats")
        #expect(heartbeats().allSatisfy { $0 == captured }, "\(heartbeats())")
        await client.destroy()
        try await server.close()
    }
}
