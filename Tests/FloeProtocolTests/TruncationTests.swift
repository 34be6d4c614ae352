import FloeEncoding
import FloeProtocol
import NIOCore
import Testing
import VectorFixtures

@Suite("Truncated and malformed frames")
struct TruncationTests {
    /// Every captured message cut at every offset fails with a typed error, never a trap.
    @Test(arguments: VectorFile.allNames)
    func truncatedAtEveryOffset(name: String) throws {
        let file = try VectorFile(named: name)
        for message in file.messages {
            for cut in 0..<message.bytes.count {
                var buffer = ByteBuffer(bytes: message.bytes[..<cut])
                do {
                    let header = try MessageHeader.read(from: &buffer, maxMessageSize: 1 << 20)
                    guard header.compression != .compressed else { continue }
                    _ = try Message.decode(type: header.type, body: buffer)
                    Issue.record("\(message.kind) cut at \(cut) of \(message.bytes.count) decoded")
                } catch is ProtocolError {
                } catch is MarshalError {
                } catch {
                    Issue.record("untyped error \(error)")
                }
            }
        }
    }

    private func header(_ bytes: [UInt8], max: Int = 1 << 20) throws -> MessageHeader {
        var buffer = ByteBuffer(bytes: bytes)
        return try MessageHeader.read(from: &buffer, maxMessageSize: max)
    }

    @Test func headerChecks() throws {
        let valid: [UInt8] = [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 0, 0, 0x28, 0, 0, 0]
        #expect(try header(valid) == MessageHeader(type: .request, messageSize: 40))
        var badMagic = valid
        badMagic[0] = 0x48
        var badProtocol = valid
        badProtocol[5] = 1
        var badEncoding = valid
        badEncoding[6] = 2
        var badType = valid
        badType[8] = 5
        var tooSmall = valid
        tooSmall[10] = 13
        var negative = valid
        negative[13] = 0x80
        var validateWithBody = valid
        validateWithBody[8] = 3
        for bytes in [badMagic, badProtocol, badEncoding, badType, tooSmall, negative, validateWithBody] {
            #expect(throws: ProtocolError.self) { try header(bytes) }
        }
        // Above Ice.MessageSizeMax: rejected from the header alone, before any body is awaited.
        #expect(throws: ProtocolError.self) { try header(valid, max: 39) }
    }

    /// The two usual strangers at a tcp endpoint are named: a TLS ClientHello and an HTTP
    /// request (a ws client); other bad magic is only shown.
    @Test func badMagicSaysWhatThePeerProbablyIs() throws {
        let clientHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03, 0, 0, 0]
        let http = Array("GET / HTTP/1.1\r\n".utf8)
        let other: [UInt8] = [0x49, 0x63, 0x65, 0x51, 1, 0, 1, 0, 0, 0, 14, 0, 0, 0]
        #expect { try header(clientHello) } throws: {
            "\($0)".contains("bad magic 0x16030102 (a TLS handshake: an ssl client at a tcp endpoint?)")
        }
        #expect { try header(http) } throws: { "\($0)".contains("(an HTTP request: a ws client at a tcp endpoint?)") }
        #expect { try header(other) } throws: { "\($0)".hasSuffix("bad magic 0x49636551\"") }
    }

    /// A request body: id 1, identity "n", then `facet` (the facet path bytes), operation "op",
    /// `mode`, an empty context and an empty 1.1 encapsulation.
    private func requestBody(facet: [UInt8], mode: UInt8) -> ByteBuffer {
        ByteBuffer(bytes: [1, 0, 0, 0, 1, 0x6E, 0] + facet + [2, 0x6F, 0x70, mode, 0, 6, 0, 0, 0, 1, 1])
    }

    @Test func requestHeadersAreChecked() throws {
        let one = try Message.decode(type: .request, body: requestBody(facet: [1, 1, 0x66], mode: 2))
        guard case .request(let request) = one else { return #expect(Bool(false), "not a request") }
        #expect(request.header.identity == Identity(name: "n") && request.header.facet == "f")
        #expect(request.header.operation == "op" && request.header.mode == .idempotent)
        #expect(throws: MarshalError.self) {
            try Message.decode(type: .request, body: requestBody(facet: [2, 1, 0x66, 1, 0x67], mode: 0))
        }
        #expect(throws: MarshalError.self) {
            try Message.decode(type: .request, body: requestBody(facet: [0], mode: 3))
        }
        #expect(throws: MarshalError.self) {
            try Message.decode(type: .request, body: requestBody(facet: [1, 9, 0x66], mode: 0))
        }
    }

    @Test func batchCountsAreChecked() {
        var body = ByteBuffer()
        body.writeInteger(Int32(-1), endianness: .little)
        #expect(throws: ProtocolError.self) { try Message.decode(type: .batchRequest, body: body) }
        body.clear()
        body.writeInteger(Int32.max, endianness: .little)
        body.writeBytes([0, 0, 0])
        #expect(throws: ProtocolError.self) { try Message.decode(type: .batchRequest, body: body) }
    }

    @Test func trailingBytesAreRejected() throws {
        var body = ByteBuffer()
        body.writeBytes([0x01, 0, 0, 0, 0x07, 0x01, 0x61, 0xee])
        #expect(throws: ProtocolError.self) { try Message.decode(type: .reply, body: body) }
    }

    /// Servers decode requests with `Request.decode(messageBody:)`, not `Message.decode`: both
    /// must refuse a byte after the parameters.
    @Test func trailingBytesAfterARequestAreRejected() throws {
        let request = Request(
            requestId: 7, header: RequestHeader(identity: Identity(name: "bench"), operation: "ping"),
            encoding: .v1_1, parameters: ByteBuffer())
        var body = Message.request(request).encode()
        body.moveReaderIndex(forwardBy: MessageHeader.size)
        #expect(try Request.decode(messageBody: body).header.operation == "ping")
        body.writeInteger(UInt8(0xee))
        #expect(throws: ProtocolError.self) { try Request.decode(messageBody: body) }
        #expect(throws: ProtocolError.self) { try Message.decode(type: .request, body: body) }
    }
}
