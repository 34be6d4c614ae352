import FloeEncoding
import FloeProtocol
import NIOCore
import Testing
import VectorFixtures

/// A vector file whose every message has been checked at the framing level: the header
/// parses, the body decodes as its message type, and re-encoding the decoded message gives
/// the captured bytes. Tests then check the parameters and results in `requests`/`replies`.
struct VectorCase {
    let file: VectorFile
    /// Every request in capture order, batched ones included (batch entries have id 0).
    private(set) var requests: [Request] = []
    private(set) var replies: [Reply] = []
    private(set) var messages: [Message] = []
    private(set) var headers: [MessageHeader] = []

    init(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        file = try VectorFile(named: name)
        #expect(!file.messages.isEmpty, "vector \(name) has no messages", sourceLocation: sourceLocation)
        for captured in file.messages {
            var buffer = ByteBuffer(bytes: captured.bytes)
            let header = try MessageHeader.read(from: &buffer, maxMessageSize: 1 << 20)
            #expect(header.messageSize == captured.bytes.count, sourceLocation: sourceLocation)
            headers.append(header)
            let message: Message
            if header.compression == .compressed {
                // Layout: uncompressed size, then a bzip2 stream of the body (§2.9).
                let uncompressedSize = buffer.readInteger(endianness: .little, as: Int32.self)
                let inflated = try #require(captured.inflatedBody, sourceLocation: sourceLocation)
                #expect(uncompressedSize.map(Int.init) == 14 + inflated.count, sourceLocation: sourceLocation)
                #expect(buffer.readBytes(length: 4) == Array("BZh1".utf8), sourceLocation: sourceLocation)
                message = try Message.decode(type: header.type, body: ByteBuffer(bytes: inflated))
                // Re-encode uncompressed and compare with the captured header plus the inflated body.
                let again = message.encode(compression: .compressed)
                #expect(Array(again.readableBytesView.dropFirst(14)) == inflated, sourceLocation: sourceLocation)
            } else {
                message = try Message.decode(type: header.type, body: buffer)
                let again = message.encode(compression: header.compression)
                #expect(
                    hex(again.readableBytesView) == hex(captured.bytes),
                    "\(captured.kind) re-encodes differently", sourceLocation: sourceLocation)
            }
            messages.append(message)
            switch message {
            case .request(let request): requests.append(request)
            case .batchRequest(let batch): requests.append(contentsOf: batch)
            case .reply(let reply): replies.append(reply)
            case .validateConnection, .closeConnection: break
            }
        }
    }

    /// The parameter encapsulation of the `index`-th request.
    func parameters(_ index: Int) -> Encapsulation {
        Encapsulation(encoding: requests[index].encoding, content: requests[index].parameters)
    }

    /// The encapsulation carried by the `index`-th reply (status 0 or 1).
    func result(_ index: Int) throws -> Encapsulation {
        guard case .encapsulation(let encoding, let content) = replies[index].body else {
            throw VectorFileError("reply \(index) of \(file.name) has no encapsulation")
        }
        return Encapsulation(encoding: encoding, content: content)
    }
}

/// An encapsulation's content as captured, with helpers that decode and re-encode it.
struct Encapsulation {
    var encoding: EncodingVersion
    var content: ByteBuffer

    /// The whole encapsulation, header included.
    var bytes: [UInt8] {
        var stream = OutputStream(encoding: encoding)
        stream.writeEncapsulation(encoding: encoding, content: content.readableBytesView)
        return stream.bytes
    }

    /// Decodes the content with `decode`, checking that it is consumed exactly.
    func decode<T>(
        loader: any SliceLoader = clientTypes, _ decode: (inout InputStream) throws -> T
    ) throws -> T {
        var stream = InputStream(bytes: bytes, sliceLoader: loader)
        try stream.startEncapsulation()
        let value = try decode(&stream)
        try stream.endEncapsulation()
        #expect(stream.isAtEnd)
        return value
    }

    /// Checks that `encode` produces exactly the captured encapsulation.
    func expectEncoded(
        format: FormatType = .compact, sourceLocation: SourceLocation = #_sourceLocation,
        _ encode: (inout OutputStream) -> Void
    ) {
        var stream = OutputStream()
        stream.startEncapsulation(encoding: encoding, format: format)
        encode(&stream)
        stream.endEncapsulation()
        #expect(stream.failure == nil, sourceLocation: sourceLocation)
        #expect(hex(stream.bytes) == hex(bytes), sourceLocation: sourceLocation)
    }
}
