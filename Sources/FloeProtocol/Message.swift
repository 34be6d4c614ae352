public import FloeEncoding
public import NIOCore

/// A whole decoded protocol message (after decompression).
public enum Message: Sendable {
    case request(Request)
    case batchRequest([Request])
    case reply(Reply)
    case validateConnection
    case closeConnection

    public var type: MessageType {
        switch self {
        case .request: .request
        case .batchRequest: .batchRequest
        case .reply: .reply
        case .validateConnection: .validateConnection
        case .closeConnection: .closeConnection
        }
    }

    /// Decodes the body of an uncompressed message of type `type`; the whole body must be used.
    public static func decode(type: MessageType, body: ByteBuffer) throws -> Message {
        var stream = InputStream(buffer: body, encoding: .v1_0)
        let message: Message
        switch type {
        case .request:
            return .request(try Request.decode(messageBody: body))
        case .batchRequest:
            var batch = try BatchRequestReader(body: stream.buffer)
            var requests: [Request] = []
            requests.reserveCapacity(batch.count)
            while let request = try batch.next() { requests.append(request) }
            return .batchRequest(requests)  // `next()` has checked that nothing follows
        case .reply:
            message = .reply(try stream.readReply(requestId: try stream.read(Int32.self)))
        case .validateConnection:
            message = .validateConnection
        case .closeConnection:
            message = .closeConnection
        }
        guard stream.isAtEnd else { throw ProtocolError("\(stream.remaining) bytes after the \(type) message") }
        return message
    }

    /// Encodes the message with its header (uncompressed).
    public func encode(compression: CompressionStatus = .notCompressed) -> ByteBuffer {
        var stream = OutputStream(encoding: .v1_0)
        var header = ByteBuffer()
        MessageHeader(type: type, compression: compression, messageSize: 0).write(to: &header)
        stream.writeBlob(header)
        switch self {
        case .request(let request):
            stream.write(request.requestId)
            stream.write(request)
        case .batchRequest(let requests):
            stream.write(Int32(requests.count))
            for request in requests { stream.write(request) }
        case .reply(let reply):
            stream.write(reply.requestId)
            stream.write(reply.status, reply.body)
        case .validateConnection, .closeConnection:
            break
        }
        var buffer = stream.finished()
        MessageHeader.patchSize(in: &buffer, headerAt: buffer.readerIndex)
        return buffer
    }
}

extension OutputStream {
    /// Writes a request body without its id: header and parameter encapsulation.
    public mutating func write(_ request: Request) {
        write(request.header)
        writeEncapsulation(encoding: request.encoding, content: request.parameters.readableBytesView)
    }
}
