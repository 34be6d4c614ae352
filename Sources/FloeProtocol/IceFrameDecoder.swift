public import NIOCore

/// One protocol message off the wire: its checked header and its body (still compressed
/// when the header says so).
public struct Frame: Sendable {
    public var header: MessageHeader
    public var body: ByteBuffer

    public init(header: MessageHeader, body: ByteBuffer) {
        self.header = header
        self.body = body
    }
}

/// Splits a byte stream into Ice messages. The header is checked as soon as its 14 bytes are
/// in (magic, versions, type, size bounds against `maxMessageSize`), before any body is
/// awaited, so a bogus size never makes the connection buffer or allocate it.
public struct IceFrameDecoder: Sendable {
    private let maxMessageSize: Int

    public init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    /// The next whole message at the start of `buffer` (consumed), or nil until it is all in.
    public func decodeFrame(_ buffer: inout ByteBuffer) throws -> Frame? {
        guard buffer.readableBytes >= MessageHeader.size else { return nil }
        var peek = buffer
        let header = try MessageHeader.read(from: &peek, maxMessageSize: maxMessageSize)
        guard buffer.readableBytes >= header.messageSize else { return nil }
        buffer.moveReaderIndex(forwardBy: MessageHeader.size)
        guard let body = buffer.readSlice(length: header.messageSize - MessageHeader.size) else { return nil }
        return Frame(header: header, body: body)
    }
}
