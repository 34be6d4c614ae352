import FloeBZip2
import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// An `opOneway(text)` request to "tester", encoded.
private func opOnewayRequest(_ text: String) -> ByteBuffer {
    var parameters = OutputStream()
    parameters.write(text)
    return Message.request(
        Request(
            requestId: 0, header: RequestHeader(identity: Identity(name: "tester"), operation: "opOneway"),
            encoding: .v1_1, parameters: parameters.finished())
    ).encode()
}

/// A server that, once the client's first request arrives, sends back over the connection a
/// oneway ping that sleeps 5 s and 9 oneways of 20 KB (callbacks the client's adapter queues),
/// then the reply to that request (an int, 7), then closes once all of it is written.
private final class CallbacksThenReplyThenClose: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(NIOAny(Message.validateConnection.encode()), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        // The client's first request: its id follows the 14-byte header.
        guard let requestId = bytes.getInteger(at: bytes.readerIndex + 14, endianness: .little, as: Int32.self)
        else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        var out = Message.request(
            Request(
                requestId: 0,
                header: RequestHeader(identity: Identity(name: "tester"), operation: "ping", context: ["sleep": "5"]),
                encoding: .v1_1, parameters: ByteBuffer())
        ).encode()
        for _ in 0..<9 {
            var request = opOnewayRequest(String(repeating: "x", count: 20_000))
            out.writeBuffer(&request)
        }
        var results = OutputStream()
        results.write(Int32(7))
        var reply = Message.reply(
            FloeProtocol.Reply(
                requestId: requestId, status: .ok, body: .encapsulation(encoding: .v1_1, content: results.finished()))
        ).encode()
        out.writeBuffer(&reply)
        let channel = context.channel
        context.writeAndFlush(NIOAny(out)).whenComplete { _ in channel.close(promise: nil) }
    }
}

@Suite("Paused reading", .timeLimit(.minutes(2)))
struct PausedReadingTests {
    /// A client whose bidirectional connection has stopped reading (callbacks wait behind a
    /// busy one, past `MaxQueuedBytes`) still gets the reply that arrived before the server
    /// closed. (Kept undecoded while reading was paused, it was dropped at the end, and the
    /// call failed with connectionLost.)
    @Test func aReplyKeptWhileReadingWasPausedReachesItsCaller() async throws {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CallbacksThenReplyThenClose())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = listener.localAddress?.port ?? 0
        var properties = Properties()
        properties["Floe.Connection.MaxQueuedBytes"] = "65536"
        properties["Ice.Connection.MaxDispatches"] = "1"
        properties["Ice.RetryIntervals"] = "-1"
        let client = try Communicator(
            properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        let callbacks = try await client.createObjectAdapter(name: "")
        let servant = TesterServant()
        try callbacks.add(servant: servant, id: Identity(name: "tester"))
        try await callbacks.activate()
        await (try await tester.ice_getConnection()).setAdapter(callbacks)
        #expect(try await tester.opIdempotent() == 7)
        await client.destroy()
        try? await listener.close()
    }

    /// A connection whose compressed requests inflate to far more than their bytes (40 bzip2
    /// oneways of about 100 bytes, 1 MB each) lets its event loop serve another connection's
    /// request in between. (All 40 were inflated in one go, and the other request waited.)
    @Test func inflatingLetsTheEventLoopServeOthers() async throws {
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var properties = Properties()
        properties["Ice.Trace.Protocol"] = "1"
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "server") { _ in CapturingLogHandler(lines: lines) }
        let server = try Communicator(
            properties: properties, sliceLoader: Vectors_SliceLoader(),
            transport: NIOTransport(group: loop, logger: logger), logger: logger)
        let adapter = try await server.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        let port = try #require(adapter.endpoints.first?.port)
        let client = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let other = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        try await other.ice_ping()
        let message = opOnewayRequest(String(repeating: "x", count: 1_000_000))
        let stream = try BZip2Codec().compress(
            message.getSlice(at: 14, length: message.readableBytes - 14) ?? ByteBuffer(), level: 9)
        var flood = ByteBuffer()
        for _ in 0..<40 {
            flood.writeBytes(message.readableBytesView.prefix(9))
            flood.writeInteger(UInt8(2))
            flood.writeInteger(Int32(14 + 4 + stream.readableBytes), endianness: .little)
            flood.writeInteger(Int32(message.readableBytes), endianness: .little)
            flood.writeImmutableBuffer(stream)
        }
        // A loaded machine can delay the ping past the whole flood (about 0.1 s of inflating)
        // however it is timed, so the flood is tried up to three times; code that inflates all
        // 40 in one go serves the ping after the last every time.
        var pingCameBetween = false
        for _ in 0..<3 where !pingCameBetween {
            lines.withLockedValue { $0.removeAll() }
            let raw = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: Int(port)).get()
            try await raw.writeAndFlush(flood)
            // The ping goes once the flood is being inflated.
            #expect(
                await eventually(within: .seconds(60)) {
                    lines.withLockedValue { $0.contains { $0.contains("request opOneway") } }
                })
            try await other.ice_ping()
            #expect(
                await eventually {
                    lines.withLockedValue { $0.filter { $0.contains("request opOneway") }.count } == 40
                })
            let received = lines.withLockedValue { $0.filter { $0.contains("received request") } }
            let ping = received.lastIndex { $0.contains("request ice_ping") } ?? 0
            let lastFlooded = received.lastIndex { $0.contains("request opOneway") } ?? 0
            pingCameBetween = ping < lastFlooded
            try? await raw.close()
        }
        #expect(pingCameBetween, "the other connection's request waited for all 40 to be inflated")
        await client.destroy()
        await server.destroy()
        try await loop.shutdownGracefully()
    }
}
