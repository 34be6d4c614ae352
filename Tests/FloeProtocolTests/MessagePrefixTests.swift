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
}
