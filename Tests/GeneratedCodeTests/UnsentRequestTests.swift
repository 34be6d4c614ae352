import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Testing

/// A request that never left is retried whatever its mode (issue 13, item 7): a server that
/// reads nothing drops the connection while most of a large request is still in the client's
/// outgoing buffer, and the call — not idempotent — goes through on the next endpoint.
@Suite("Unsent requests", .serialized, .timeLimit(.minutes(1)))
struct UnsentRequestTests {
    /// Accepts one connection, validates it, reads once (the start of the client's request),
    /// then reads nothing more and soon drops the connection: abruptly (unread data makes the
    /// kernel reset it) or by closing its output (the client reads end-of-file while its own
    /// side is still open). It stops listening after accepting, so a retry cannot come back.
    final class StallingServer: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let mode: CloseMode
        private var closeScheduled = false

        init(mode: CloseMode) { self.mode = mode }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(Message.validateConnection.encode()), promise: nil)
            context.read()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !closeScheduled else { return }
            closeScheduled = true
            let channel = context.channel
            let mode = mode
            context.eventLoop.scheduleTask(in: .milliseconds(300)) { channel.close(mode: mode, promise: nil) }
        }
    }

    @Test(arguments: [CloseMode.all, .output])
    func aRequestStillInTheOutgoingBufferIsRetried(mode: CloseMode) async throws {
        let server = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), messageSizeMax: 16 << 20)
        let adapter = try await server.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        let servant = TesterServant()
        try adapter.add(servant: servant, id: Identity(name: "tester"))
        try await adapter.activate()
        let port = adapter.publishedEndpoints.first?.port ?? 0

        let accepted = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Void.self)
        let staller = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.so_rcvbuf), value: 64 * 1024)
            .childChannelInitializer { channel in
                accepted.succeed()
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StallingServer(mode: mode))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let stallerPort = staller.localAddress?.port ?? 0
        accepted.futureResult.whenSuccess { staller.close(promise: nil) }

        let client = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), messageSizeMax: 16 << 20, retryIntervals: [0]
        )
        let tester = try makeProxy(
            communicator: client,
            proxyString: "tester:tcp -h 127.0.0.1 -p \(stallerPort):tcp -h 127.0.0.1 -p \(port)",
            type: (any TesterPrx).self
        ).ice_endpointSelection(.ordered)
        // Twice what the kernel's socket buffers hold (the client's send buffer grows to 4 MiB).
        // (Made from an array: `Data(repeating:count:)` appends byte by byte in a debug build,
        // seconds of a cooperative thread that every other test of the run waits for.)
        let payload = ByteSeq([UInt8](repeating: 1, count: 8 << 20))
        let echoed = try await tester.opByteSeq(payload)
        #expect(echoed.count == payload.count)
        #expect(await servant.byteSeqCalls == 1)
        await client.destroy()
        await server.destroy()
    }

    /// The stalling server over TLS: on the first connection whose handshake completes, it
    /// sends validate-connection, reads the start of the client's request, then reads nothing
    /// more and soon resets the connection (the unread data makes the kernel send a reset).
    /// The test then stops listening, so a retry goes on to the next endpoint. (Not at accept:
    /// closing the listener while the accepted connection was still being set up could fail
    /// that connection, which the client would rightly try elsewhere.)
    final class StallingTLSServer: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private let handshakes: NIOLockedValueBox<Int>
        private let firstHandshake: EventLoopPromise<Void>
        private var closeScheduled = false

        init(handshakes: NIOLockedValueBox<Int>, firstHandshake: EventLoopPromise<Void>) {
            self.handshakes = handshakes
            self.firstHandshake = firstHandshake
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted = event {
                let first = handshakes.withLockedValue { count in
                    count += 1
                    return count == 1
                }
                guard first else { return context.close(promise: nil) }
                context.writeAndFlush(wrapOutboundOut(Message.validateConnection.encode()), promise: nil)
                firstHandshake.succeed()
            }
            context.fireUserInboundEventTriggered(event)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !closeScheduled else { return }
            closeScheduled = true
            let channel = context.channel
            channel.setOption(.autoRead, value: false).whenComplete { _ in }
            context.eventLoop.scheduleTask(in: .milliseconds(300)) { channel.close(promise: nil) }
        }
    }

    /// On ssl the handler cannot tell how far its bytes got (the channel buffers TLS records,
    /// bigger than the plaintext they carry), so a request is never called not-sent there: a
    /// call that is not idempotent fails rather than risk running twice. Before, the TLS
    /// records' overhead could make a request the peer had read count as not-sent.
    @Test func onSSLARequestIsNeverCalledNotSent() async throws {
        let certs = try await testCertificates()
        var properties = Properties()
        for (key, value) in tlsProperties(certs, "server") { properties[key] = value }
        properties["Ice.MessageSizeMax"] = "16384"
        let server = try Communicator(
            properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let adapter = try await server.createObjectAdapterWithEndpoints(name: "S", endpoints: "ssl -h 127.0.0.1 -p 0")
        let servant = TesterServant()
        try adapter.add(servant: servant, id: Identity(name: "tester"))
        try await adapter.activate()
        let port = adapter.publishedEndpoints.first?.port ?? 0

        let tls = try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: NIOSSLCertificate.fromPEMFile(certs + "/server.pem").map { .certificate($0) },
                privateKey: .privateKey(NIOSSLPrivateKey(file: certs + "/server.key", format: .pem))))
        let handshakes = NIOLockedValueBox(0)
        let firstHandshake = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Void.self)
        let staller = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.socketOption(.so_rcvbuf), value: 64 * 1024)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    try channel.pipeline.syncOperations.addHandler(
                        StallingTLSServer(handshakes: handshakes, firstHandshake: firstHandshake))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let stallerPort = staller.localAddress?.port ?? 0
        firstHandshake.futureResult.whenSuccess { staller.close(promise: nil) }

        properties = Properties()
        for (key, value) in tlsProperties(certs, "client") { properties[key] = value }
        properties["Ice.RetryIntervals"] = "0"
        properties["Ice.MessageSizeMax"] = "16384"
        let client = try Communicator(
            properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let tester = try makeProxy(
            communicator: client,
            proxyString: "tester:ssl -h 127.0.0.1 -p \(stallerPort):ssl -h 127.0.0.1 -p \(port)",
            type: (any TesterPrx).self
        ).ice_endpointSelection(.ordered)
        do {
            _ = try await tester.opByteSeq(ByteSeq([UInt8](repeating: 1, count: 8 << 20)))
            Issue.record("the call went through: it was retried on the second endpoint")
        } catch let error as LocalError {
            #expect(error.code == .connectionLost, "\(error)")
        }
        #expect(await servant.byteSeqCalls == 0)
        await client.destroy()
        await server.destroy()
        firstHandshake.succeed()  // (stops listening, if no handshake did)
    }
}
