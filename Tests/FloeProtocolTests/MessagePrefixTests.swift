import FloeEncoding
import FloeProtocol
import NIOCore
import Testing

/// The prefix-plus-encapsulation framing that connections write must produce exactly the
/// bytes of the whole-message encoder, which the vector tests check against ZeroC captures.
@Suite("Message prefixes")
struct MessagePrefixTests {
    private func encapsulation(_ content: [UInt8]) -> ByteBuffer {
        var stream = OutputStream(encoding: .v1_0)
        stream.writeEncapsulation(encoding: .v1_1, content: content)
        return stream.finished()
    }

    @Test(arguments: [Int32(7), 0], [[], Array(repeating: UInt8(9), count: 300)])
    func requestPrefixAndParametersAreTheMessage(requestId: Int32, content: [UInt8]) {
        let header = RequestHeader(
            identity: Identity(name: "n", category: "c"), facet: "f", operation: "op", mode: .idempotent,
            context: ["k": "v"])
        let whole = Message.request(
            Request(requestId: requestId, header: header, encoding: .v1_1, parameters: ByteBuffer(bytes: content))
        ).encode()
        let parameters = encapsulation(content)
        var framed = MessagePrefix.request(
            requestId: requestId, header: header, encapsulationSize: parameters.readableBytes)
        framed.writeImmutableBuffer(parameters)
        #expect(framed == whole)
    }

    @Test(arguments: [ReplyStatus.ok, .userException], [[], Array(repeating: UInt8(3), count: 70_000)])
    func replyPrefixAndResultsAreTheMessage(status: ReplyStatus, content: [UInt8]) {
        let whole = Message.reply(
            Reply(
                requestId: 42, status: status,
                body: .encapsulation(encoding: .v1_1, content: ByteBuffer(bytes: content)))
        ).encode()
        var framed = MessagePrefix.reply(requestId: 42, status: status, encoding: .v1_1, contentSize: content.count)
        framed.writeBytes(content)
        #expect(framed == whole)
    }

    /// An encapsulation written after `replyHeadroom` free bytes, as a servant's results are.
    private func encapsulationWithHeadroom(_ content: [UInt8], headroom: Int = MessagePrefix.replyHeadroom)
        -> ByteBuffer
    {
        var buffer = ByteBuffer(repeating: 0xEE, count: headroom)
        buffer.moveReaderIndex(forwardBy: headroom)
        var stream = OutputStream(appendingTo: buffer, encoding: .v1_0)
        stream.writeEncapsulation(encoding: .v1_1, content: content)
        return stream.finished()
    }

    @Test(arguments: [ReplyStatus.ok, .userException], [[], Array(repeating: UInt8(5), count: 70_000)])
    func replyFramedInPlaceIsTheMessage(status: ReplyStatus, content: [UInt8]) {
        let whole = Message.reply(
            Reply(
                requestId: 9, status: status, body: .encapsulation(encoding: .v1_1, content: ByteBuffer(bytes: content))
            )
        ).encode()
        var framed = encapsulationWithHeadroom(content)
        #expect(MessagePrefix.frameReply(&framed, requestId: 9, status: status))
        #expect(framed == whole)
        #expect(framed.readerIndex == 0)
    }

    @Test func replyIsNotFramedWithoutRoomOrWithAWrongSize() {
        var noRoom = encapsulationWithHeadroom([1, 2, 3], headroom: MessagePrefix.replyHeadroom - 1)
        let before = noRoom
        #expect(!MessagePrefix.frameReply(&noRoom, requestId: 1, status: .ok))
        #expect(noRoom == before && noRoom.readerIndex == before.readerIndex)

        var trailing = encapsulationWithHeadroom([1, 2, 3])
        trailing.writeInteger(UInt8(0))  // a byte the size field does not cover
        #expect(!MessagePrefix.frameReply(&trailing, requestId: 1, status: .ok))

        var tooShort = ByteBuffer(repeating: 0, count: MessagePrefix.replyHeadroom + 4)
        tooShort.moveReaderIndex(forwardBy: MessagePrefix.replyHeadroom)
        #expect(!MessagePrefix.frameReply(&tooShort, requestId: 1, status: .ok))
    }
}
