import FloeEncoding
import FloeNIO
import FloeProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import FloeCore

/// Keeps every byte its connection reads.
private final class ByteCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let bytes = NIOLockedValueBox(ByteBuffer())

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        bytes.withLockedValue { _ = $0.writeBuffer(&buffer) }
    }

    /// The types of the Ice messages read so far, and whether they are whole messages only, the
    /// replies `replySize` bytes of results long.
    func messages(replySize: Int) -> (types: [UInt8], whole: Bool) {
        let received = bytes.withLockedValue { $0 }
        var types: [UInt8] = []
        var whole = true
        var offset = received.readerIndex
        while let type = received.getInteger(at: offset + 8, as: UInt8.self),
            let messageSize = received.getInteger(at: offset + 10, endianness: .little, as: Int32.self)
        {
            types.append(type)
            // (header 14, request id 4, status 1, encapsulation header 6, byte count 5)
            if type == 2, Int(messageSize) != 14 + 4 + 1 + 6 + 5 + replySize { whole = false }
            offset += Int(messageSize)
        }
        return (types, whole && offset == received.writerIndex)
    }
}

@Suite("Graceful close", .timeLimit(.minutes(2)))
struct GracefulCloseTests {
    /// A server (with `more` properties), and a raw client that asked it for a reply of `size`
    /// bytes and reads nothing yet (64 KiB receive buffer): once this returns the server is
    /// writing the reply.
    private static func slowReaderOfAReply(
        _ size: Int, _ more: [String: String] = [:]
    ) async throws -> (Communicator, any Channel, ByteCollector) {
        var properties = Properties()
        properties["Ice.MessageSizeMax"] = "16384"
        for (key, value) in more { properties[key] = value }
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
        let request = Message.request(
            Request(
                requestId: 1,
                header: RequestHeader(
                    identity: Identity(name: "tester"), operation: "opByteSeq", context: ["reply-size": "\(size)"]),
                encoding: .v1_1, parameters: ByteBuffer(bytes: [0]))
        ).encode()
        try await raw.writeAndFlush(request)
        #expect(await eventually { await servant.byteSeqCalls == 1 })
        return (server, raw, collector)
    }

    /// A graceful close (here the server's `destroy()`) delivers what was queued before it: a
    /// reply larger than the sockets hold, to a client that has not read it yet, then the
    /// close-connection, and nothing after it, heartbeats included. (The channel was closed as
    /// soon as close-connection was queued, which dropped whatever the kernel had not taken:
    /// part of the reply, and the close-connection itself.)
    @Test func aGracefulCloseDeliversWhatWasQueuedBeforeIt() async throws {
        let size = 6 << 20
        // (A heartbeat due every 0.5 s: none may follow the close.)
        let (server, raw, collector) = try await Self.slowReaderOfAReply(size, ["Ice.ACM.Timeout": "1"])
        try await Task.sleep(for: .milliseconds(300))  // the reply is queued, most of it unsent
        let destroying = Task { await server.destroy() }
        try await Task.sleep(for: .milliseconds(1_500))  // the close is under way, heartbeats due
        try await raw.setOption(ChannelOptions.autoRead, value: true).get()
        raw.read()
        // (The server waits for this side to close once it has read the close-connection.)
        #expect(await eventually { collector.messages(replySize: size).types.last == 4 })
        try? await raw.close()
        let (types, whole) = collector.messages(replySize: size)
        // validate-connection (3, heartbeats too), the reply (2) whole, then close-connection
        // (4), last.
        #expect(whole, "whole messages only, the reply whole")
        #expect(types.filter { $0 == 2 }.count == 1 && types.last == 4, "\(types)")
        #expect(Set(types).isSubset(of: [2, 3, 4]) && types.filter { $0 == 4 }.count == 1, "\(types)")
        await destroying.value
    }

    /// A client closing its bidirectional connection while its call waits for the server's
    /// callback over it still serves the callback, as Ice's `close(GracefullyWithWait)` does:
    /// the call completes and then the connection closes. (The callback was dropped, so the
    /// call could not complete: the close timed out and the call failed with connectionLost.)
    @Test func aCallbackDuringTheClientsCloseIsServed() async throws {
        let (server, _, _, port) = try await MiddlewareTests.server([
            { next in
                Closure(next: next) { request, next in
                    // (The client's close starts before the callback goes out.)
                    if request.current.operation == "opCallback" { try await Task.sleep(for: .milliseconds(300)) }
                    return try await next.dispatch(request)
                }
            }
        ])
        var options = ConnectionOptions()
        options.closeTimeout = 5
        let client = Communicator(
            sliceLoader: Vectors_SliceLoader(), transport: NIOTransport(), retryIntervals: [],
            connectionOptions: options)
        let tester = try makeProxy(
            communicator: client, proxyString: "tester:tcp -h 127.0.0.1 -p \(port)", type: (any TesterPrx).self)
        let callbacks = try await client.createObjectAdapter(name: "")
        let callback = try callbacks.add(servant: TesterServant(), id: Identity(name: "callback"))
        try await callbacks.activate()
        let connection = try await tester.ice_getConnection()
        await connection.setAdapter(callbacks)
        let call = Task { try await tester.opCallback(uncheckedCast(prx: callback, type: (any TesterPrx).self)) }
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        await connection.close()
        #expect(try await call.value == 8)
        #expect(ContinuousClock.now - start < .seconds(4), "the close waited for its timeout")
        await client.destroy()
        await server.destroy()
    }

    /// Two graceful closes at once (the application's beside a deactivation's) send one
    /// close-connection: the second joins the first.
    @Test func aSecondCloseJoinsTheFirst() async throws {
        let server = Communicator(sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let adapter = try await server.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        try await adapter.activate()
        let port = try #require(adapter.endpoints.first?.port)
        let collector = ByteCollector()
        let raw = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: Int(port)).get()
        #expect(await eventually { adapter.openConnections.count == 1 })
        let connection = try #require(adapter.openConnections.first)
        async let first: Void = connection.close()
        async let second: Void = connection.close()
        #expect(await eventually { collector.messages(replySize: 0).types.contains(4) })
        try await Task.sleep(for: .milliseconds(200))
        #expect(collector.messages(replySize: 0).types == [3, 4], "validate-connection, then one close-connection")
        try? await raw.close()
        _ = await (first, second)
        await server.destroy()
    }

    /// What the peer sends while a graceful close waits for it to read the rest (here a
    /// heartbeat, sent before it has read the close-connection) loses it nothing: the closing
    /// side reads until the peer closes, as Ice's does. (It closed its socket once the
    /// close-connection was written to the kernel, and the heartbeat arriving on the closed
    /// socket made the kernel reset the connection, dropping the end of the reply.)
    @Test func whatThePeerSendsDuringTheCloseLosesItNothing() async throws {
        let size = 1 << 20
        let (server, raw, collector) = try await Self.slowReaderOfAReply(size)
        let destroying = Task { await server.destroy() }
        try await Task.sleep(for: .milliseconds(1_000))  // the close-connection is in the kernel
        try await raw.writeAndFlush(Message.validateConnection.encode())
        try await Task.sleep(for: .milliseconds(200))
        // (Before the fix, the reset had closed this channel already.)
        try? await raw.setOption(ChannelOptions.autoRead, value: true).get()
        raw.read()
        #expect(await eventually(within: .seconds(5)) { collector.messages(replySize: size).types.last == 4 })
        let (types, whole) = collector.messages(replySize: size)
        #expect(
            whole && types.filter { $0 == 2 }.count == 1,
            "\(types), \(collector.bytes.withLockedValue { $0.readableBytes }) bytes")
        try? await raw.close()
        await destroying.value
    }
}
