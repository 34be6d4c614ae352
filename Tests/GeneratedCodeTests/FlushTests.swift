import FloeCore
import FloeEncoding
import FloeProtocol
import Logging
import NIOCore
import NIOEmbedded
import Testing

@_spi(Testing) @testable import FloeNIO

/// When a server connection's replies leave: coalesced while more requests of the same read
/// follow, at once when nothing else could join them (the peer is waiting).
@Suite("Flushing replies", .timeLimit(.minutes(1)))
struct FlushTests {
    private static func ping(_ requestId: Int32) -> ByteBuffer {
        let request = Request(
            requestId: requestId, header: RequestHeader(identity: Identity(name: "p"), operation: "ice_ping"),
            encoding: .v1_1, parameters: ByteBuffer())
        return Message.request(request).encode()
    }

    /// The reply ids in what the channel has flushed so far.
    private static func flushedReplies(_ channel: EmbeddedChannel) throws -> [Int32] {
        try flushedMessages(channel).compactMap {
            guard case .reply(let reply) = $0 else { return nil }
            return reply.requestId
        }
    }

    @Test func aReplyNothingElseCouldJoinLeavesBeforeTheReadEnds() async throws {
        let communicator = Communicator()
        let adapter = try await communicator.createObjectAdapter(name: "A")
        try adapter.add(
            servant: HandWrittenPinger(style: .madeByMakeResponse, recorder: AddressRecorder()),
            id: Identity(name: "p"))
        try await adapter.activate()
        try Self.exchange(adapter: adapter)
        await communicator.destroy()
    }

    /// (Synchronous: an embedded channel belongs to one thread.)
    private static func exchange(adapter: ObjectAdapter) throws {
        let channel = EmbeddedChannel()
        let handler = NIOTransport.serverConnectionHandler(
            adapter: adapter, eventLoop: channel.eventLoop, logger: Logger(label: "flush-test"))
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4061)).wait()
        _ = try channel.readOutbound(as: ByteBuffer.self)  // validate-connection

        // One request in a read: its reply is flushed while the read is still being handled.
        channel.pipeline.fireChannelRead(ping(1))
        #expect(try flushedReplies(channel) == [1])
        channel.pipeline.fireChannelReadComplete()
        #expect(try flushedReplies(channel) == [])

        // Three in one read: the replies leave together, after the last request.
        var three = ping(2)
        var more = ping(3)
        three.writeBuffer(&more)
        more = ping(4)
        three.writeBuffer(&more)
        channel.pipeline.fireChannelRead(three)
        #expect(try flushedReplies(channel) == [2, 3, 4])

        // A request followed by part of the next: the reply waits for the end of the read.
        var partial = ping(5)
        let next = ping(6)
        partial.writeBytes(next.readableBytesView.prefix(5))
        channel.pipeline.fireChannelRead(partial)
        #expect(try flushedReplies(channel) == [])
        channel.pipeline.fireChannelReadComplete()
        #expect(try flushedReplies(channel) == [5])
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}

/// When a client connection's requests leave: a twoway request no other awaits a reply beside
/// at once, others at the end of the event loop's pass, together.
@Suite("Flushing requests", .timeLimit(.minutes(1)))
struct RequestFlushTests {
    /// The request ids in what the channel has flushed so far.
    private static func flushedRequests(_ channel: EmbeddedChannel) throws -> [Int32] {
        try flushedMessages(channel).compactMap {
            guard case .request(let request) = $0 else { return nil }
            return request.requestId
        }
    }

    @Test func aLoneTwowayRequestLeavesAtOnceAndOthersAtTheEndOfThePass() async throws {
        let communicator = Communicator()
        try Self.exchange(communicator: communicator)
        await communicator.destroy()
    }

    /// (Synchronous: an embedded channel belongs to one thread.)
    private static func exchange(communicator: Communicator) throws {
        let (channel, handler, empty) = try embeddedClient(communicator, label: "flush-test")
        let header = RequestHeader(identity: Identity(name: "p"), operation: "ice_ping")
        func call(_ mode: ProxyMode) throws {
            let waiter = mode == .twoway ? ReplyWaiter.promise(channel.eventLoop.makePromise()) : nil
            _ = try handler.start(header, parameters: empty, mode: mode, replyTo: waiter)
        }

        // The only request awaiting a reply: flushed before `start` returns.
        try call(.twoway)
        #expect(try flushedRequests(channel) == [1])

        // A second while the first awaits its reply, and a oneway: both wait for the pass's end.
        try call(.twoway)
        try call(.oneway)
        #expect(try flushedRequests(channel) == [])
        channel.embeddedEventLoop.run()
        #expect(try flushedRequests(channel) == [2, 0])
        handler.failPending(LocalError(.connectionLost, "test over"))
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}

/// The messages in what the channel has flushed so far.
private func flushedMessages(_ channel: EmbeddedChannel) throws -> [Message] {
    var messages: [Message] = []
    while var bytes = try channel.readOutbound(as: ByteBuffer.self) {
        let decoder = IceFrameDecoder(maxMessageSize: 1 << 20)
        while let frame = try decoder.decodeFrame(&bytes) {
            messages.append(try Message.decode(type: frame.header.type, body: frame.body))
        }
    }
    return messages
}
