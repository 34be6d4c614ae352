import FloeCore
import FloeNIO
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

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

@Suite("Heartbeats")
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
        try await Task.sleep(for: .milliseconds(2_200))
        let bytes = recorder.received.withLockedValue { $0 }
        // Frames: the oneway request, then validate-connection messages (type 3, 14 bytes).
        var heartbeats = 0
        var offset = 0
        while offset + 14 <= bytes.count {
            let size = Int(bytes[offset + 10]) | Int(bytes[offset + 11]) << 8
            if bytes[offset + 8] == 3 && size == 14 { heartbeats += 1 }
            offset += max(size, 14)
        }
        #expect(heartbeats >= 2, "\(heartbeats) heartbeats in 2.2 s")
        await client.destroy()
        try await server.close()
    }
}
