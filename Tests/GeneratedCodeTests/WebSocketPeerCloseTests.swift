import FloeCore
import FloeNIO
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import Testing

/// A wss server's close frame ends the connection for new calls at once. Over TLS the channel
/// stays open until the peer's close_notify (or NIO's timeout), and new requests were written
/// into a closing WebSocket, dropped, and failed only later as if sent.
@Suite("WebSocket peer close over TLS", .timeLimit(.minutes(1)))
struct WebSocketPeerCloseTests {
    /// After the upgrade: validates the connection in a binary frame, answers the first frame
    /// it gets by closing the WebSocket (a close frame, status 1000), and keeps the TLS
    /// connection open.
    /// In front of TLS: once `deaf`, drops what the client sends, so the server never answers
    /// its close_notify (as a hung or hostile server would not).
    final class Deafening: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let deaf: NIOLockedValueBox<Bool>
        init(_ deaf: NIOLockedValueBox<Bool>) { self.deaf = deaf }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if !deaf.withLockedValue({ $0 }) { context.fireChannelRead(data) }
        }
    }

    final class ValidateThenCloseFrame: ChannelInboundHandler, Sendable {
        typealias InboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame
        let deaf: NIOLockedValueBox<Bool>
        init(_ deaf: NIOLockedValueBox<Bool>) { self.deaf = deaf }
        func handlerAdded(context: ChannelHandlerContext) {
            let validate = ByteBuffer(bytes: [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 3, 0, 14, 0, 0, 0])
            context.writeAndFlush(
                NIOAny(WebSocketFrame(fin: true, opcode: .binary, data: validate)), promise: nil)
        }
        /// The client's first frame (a oneway request) gets the close frame.
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !deaf.withLockedValue({ $0 }) else { return }
            deaf.withLockedValue { $0 = true }
            let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer(bytes: [0x03, 0xE8]))
            context.writeAndFlush(NIOAny(close), promise: nil)
        }
    }

    @Test func aCloseFrameEndsTheConnectionForNewCallsAtOnce() async throws {
        let certs = try await testCertificates()
        let tls = try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: NIOSSLCertificate.fromPEMFile(certs + "/server.pem").map { .certificate($0) },
                privateKey: .privateKey(NIOSSLPrivateKey(file: certs + "/server.key", format: .pem))))
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                let deaf = NIOLockedValueBox(false)
                let upgrader = NIOWebSocketServerUpgrader(
                    shouldUpgrade: { channel, _ in
                        channel.eventLoop.makeSucceededFuture(
                            HTTPHeaders([("Sec-WebSocket-Protocol", "ice.zeroc.com")]))
                    },
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(ValidateThenCloseFrame(deaf))
                        }
                    })
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Deafening(deaf))
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                }.flatMap {
                    channel.pipeline.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        var properties = Properties()
        for (key, value) in tlsProperties(certs, nil, ["IceSSL.VerifyPeer": "0"]) { properties[key] = value }
        let client = try Communicator(properties: properties, transport: NIOTransport())
        let proxy = try #require(try client.stringToProxy("x:wss -h 127.0.0.1 -p \(listener.localAddress?.port ?? 0)"))
        let connection = try await proxy.ice_getConnection()
        #expect(!connection.isClosed)
        try await proxy.ice_oneway().ice_ping()
        #expect(await eventually(within: .seconds(2)) { connection.isClosed }, "new calls would still use it")
        await client.destroy()
        try await listener.close()
    }
}
