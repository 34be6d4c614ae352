import FloeCore
import FloeNIO
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Testing

/// What a ws client refuses to send, and what it refuses to accept, from servers and proxies it
/// does not control.
@Suite("WebSocket client checks", .timeLimit(.minutes(1)))
struct WebSocketClientChecksTests {
    /// Keeps every byte a connection sends.
    final class Recorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: NIOLockedValueBox<[UInt8]>
        init(_ received: NIOLockedValueBox<[UInt8]>) { self.received = received }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data).readableBytesView
            received.withLockedValue { $0.append(contentsOf: bytes) }
        }
    }

    private static func client() throws -> Communicator {
        var properties = Properties()
        properties["Ice.RetryIntervals"] = "-1"
        properties["Ice.Override.ConnectTimeout"] = "5000"
        return try Communicator(properties: properties, transport: NIOTransport())
    }

    /// A resource with CR LF (from a proxy string here; a locator's or a servant's answer could
    /// carry one too) must not write headers of its choosing to a host of its choosing. (NIO's
    /// encoder refuses such a request too, as "invalid character in header"; this says why.)
    @Test(arguments: ["/a\r\nX-Evil: 1", "/a b", "/a\u{7F}"])
    func aResourceAnHTTPRequestLineCannotHoldIsRefused(resource: String) async throws {
        let received = NIOLockedValueBox<[UInt8]>([])
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Recorder(received))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let communicator = try Self.client()
        let port = listener.localAddress?.port ?? 0
        let proxy = try #require(
            try communicator.stringToProxy("tester:ws -h 127.0.0.1 -p \(port) -r \"\(resource)\""))
        do {
            try await proxy.ice_ping()
            Issue.record("the ping succeeded")
        } catch let error as LocalError {
            #expect(error.code == .invalidArgument, "\(error)")
            #expect("\(error)".contains("which an HTTP request line cannot hold"), "\(error)")
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(
            received.withLockedValue { $0 }.isEmpty, "the client sent \(received.withLockedValue { $0.count }) bytes")
        await communicator.destroy()
        try await listener.close()
    }

    /// A server that upgrades with the right accept key but another subprotocol than the one
    /// offered (`ice.zeroc.com`) is refused, as RFC 6455 §4.1 says and ZeroC's clients do.
    @Test func aServerChoosingAnotherSubprotocolIsRefused() async throws {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                let upgrader = NIOWebSocketServerUpgrader(
                    shouldUpgrade: { channel, _ in
                        channel.eventLoop.makeSucceededFuture(HTTPHeaders([("Sec-WebSocket-Protocol", "chat")]))
                    },
                    upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededVoidFuture() })
                return channel.pipeline.configureHTTPServerPipeline(
                    withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let communicator = try Self.client()
        let proxy = try #require(
            try communicator.stringToProxy("tester:ws -h 127.0.0.1 -p \(listener.localAddress?.port ?? 0)"))
        do {
            try await proxy.ice_ping()
            Issue.record("the ping succeeded")
        } catch let error as LocalError {
            #expect("\(error)".contains("the server chose WebSocket subprotocol 'chat'"), "\(error)")
        }
        await communicator.destroy()
        try await listener.close()
    }
}
