import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// Keeps every byte its connection reads.
private final class ByteCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let bytes = NIOLockedValueBox(ByteBuffer())

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        bytes.withLockedValue { _ = $0.writeBuffer(&buffer) }
    }
}

@Suite("Graceful close", .timeLimit(.minutes(2)))
struct GracefulCloseTests {
    /// A graceful close (here the server's `destroy()`) delivers what was queued before it: a
    /// reply larger than the sockets hold, to a client that has not read it yet, then the
    /// close-connection, and nothing after it, heartbeats included. (The channel was closed as
    /// soon as close-connection was queued, which dropped whatever the kernel had not taken:
    /// part of the reply, and the close-connection itself.)
    @Test func aGracefulCloseDeliversWhatWasQueuedBeforeIt() async throws {
        var properties = Properties()
        properties["Ice.MessageSizeMax"] = "16384"
        properties["Ice.ACM.Timeout"] = "1"  // a heartbeat due every 0.5 s: none may follow the close
        let server = try Communicator(
            properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let adapter = try await server.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        let servant = TesterServant()
        try adapter.add(servant: servant, id: Identity(name: "tester"))
        try await adapter.activate()
        let port = try #require(adapter.endpoints.first?.port)

        let collector = ByteCollector()
        let raw = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 65_536)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: Int(port)).get()
        let size = 6 << 20
        let request = Message.request(
            Request(
                requestId: 1,
                header: RequestHeader(
                    identity: Identity(name: "tester"), operation: "opByteSeq", context: ["reply-size": "\(size)"]),
                encoding: .v1_1, parameters: ByteBuffer(bytes: [0]))
        ).encode()
        try await raw.writeAndFlush(request)
        #expect(await eventually { await servant.byteSeqCalls == 1 })
        try await Task.sleep(for: .milliseconds(300))  // the reply is queued, most of it unsent
        let destroying = Task { await server.destroy() }
        try await Task.sleep(for: .milliseconds(1_500))  // the close is under way, heartbeats due
        try await raw.setOption(ChannelOptions.autoRead, value: true).get()
        raw.read()
        try await raw.closeFuture.get()
        let received = collector.bytes.withLockedValue { $0 }
        // The messages, by type: validate-connection (3, heartbeats too), the reply (2) whole,
        // then close-connection (4), last.
        var types: [UInt8] = []
        var offset = received.readerIndex
        while let type = received.getInteger(at: offset + 8, as: UInt8.self),
            let messageSize = received.getInteger(at: offset + 10, endianness: .little, as: Int32.self)
        {
            types.append(type)
            if type == 2 { #expect(Int(messageSize) == 14 + 4 + 1 + 6 + 5 + size, "the whole reply") }
            offset += Int(messageSize)
        }
        #expect(offset == received.writerIndex, "whole messages only")
        #expect(types.filter { $0 == 2 }.count == 1 && types.last == 4, "\(types)")
        #expect(Set(types).isSubset(of: [2, 3, 4]) && types.filter { $0 == 4 }.count == 1, "\(types)")
        await destroying.value
    }
}
