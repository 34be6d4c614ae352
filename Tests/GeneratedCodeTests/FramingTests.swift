import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// The server's framing over a raw socket: messages split over many reads, and many messages
/// in one read, are each dispatched once and answered.
@Suite("Framing", .timeLimit(.minutes(2)))
struct FramingTests {
    /// Collects every byte the server sends.
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = NIOLockedValueBox<[UInt8]>([])

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLockedValue { $0 += buffer.readableBytesView }
        }
    }

    private func ping(_ requestId: Int32) -> [UInt8] {
        let request = Request(
            requestId: requestId, header: RequestHeader(identity: Identity(name: "tester"), operation: "ice_ping"),
            encoding: .v1_1, parameters: ByteBuffer())
        return Array(Message.request(request).encode().readableBytesView)
    }

    /// The request ids of the replies in `bytes`, after the server's validate-connection.
    private func replyIds(_ bytes: [UInt8]) throws -> [Int32] {
        var buffer = ByteBuffer(bytes: bytes)
        let decoder = IceFrameDecoder(maxMessageSize: 1 << 20)
        var ids: [Int32] = []
        while let frame = try decoder.decodeFrame(&buffer) {
            if case .reply(let reply) = try Message.decode(type: frame.header.type, body: frame.body) {
                #expect(reply.status == .ok)
                ids.append(reply.requestId)
            }
        }
        return ids
    }

    @Test func messagesSplitOverReadsAndSharingReadsAreEachAnswered() async throws {
        let server = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let adapter = try await server.createObjectAdapterWithEndpoints(name: "S", endpoints: "tcp -h 127.0.0.1 -p 0")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        let port = try #require(adapter.publishedEndpoints.first?.port)
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: Int(port)).get()

        // Request 1 a byte at a time, each byte its own write after a pause, so the server
        // reads it in pieces; then requests 2, 3 and 4 in one write; then 5 split mid-header.
        for byte in ping(1) {
            try await channel.writeAndFlush(ByteBuffer(bytes: [byte]))
            try await Task.sleep(for: .milliseconds(2))
        }
        try await channel.writeAndFlush(ByteBuffer(bytes: ping(2) + ping(3) + ping(4)))
        let last = ping(5)
        try await channel.writeAndFlush(ByteBuffer(bytes: last[..<7]))
        try await Task.sleep(for: .milliseconds(20))
        try await channel.writeAndFlush(ByteBuffer(bytes: last[7...]))

        var ids: [Int32] = []
        for _ in 0..<300 {
            ids = try replyIds(collector.bytes.withLockedValue { $0 })
            if ids.count >= 5 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(ids == [1, 2, 3, 4, 5])
        try await channel.close()
        await server.destroy()
    }
}
