import FloeEncoding
public import NIOCore

/// The requests of a batch-request message body, decoded one at a time as they are dispatched:
/// a batch of many tiny requests holds its bytes and the one request being dispatched, not a
/// decoded copy of every entry. An entry that does not decode ends the batch with an error
/// when its turn comes, after the entries before it (as ZeroC reads batches).
public struct BatchRequestReader: Sendable {
    /// How many requests the batch announces.
    public let count: Int
    /// The entries not yet read.
    private var rest: ByteBuffer
    private var read = 0

    /// Reads the count; fails if the body cannot hold that many entries.
    public init(body: ByteBuffer) throws {
        var stream = InputStream(buffer: body, encoding: .v1_0)
        let count = try stream.read(Int32.self)
        guard count >= 0 else { throw ProtocolError("negative batch request count \(count)") }
        // A batch entry takes at least 11 bytes: identity, facet, operation, mode, context, encapsulation.
        guard Int(count) * 11 <= stream.remaining else {
            throw ProtocolError("batch of \(count) requests in \(stream.remaining) bytes")
        }
        self.count = Int(count)
        self.rest = stream.buffer
    }

    /// The same reader holding a copy of the bytes left, instead of a slice of a larger buffer.
    public func compacted() -> BatchRequestReader {
        var copy = self
        copy.rest = ByteBuffer(bytes: rest.readableBytesView)
        return copy
    }

    /// The bytes left to read.
    public var remainingBytes: Int { rest.readableBytes }

    /// The next request, or nil after the last one; fails on a malformed entry or on bytes after
    /// the last entry.
    public mutating func next() throws -> Request? {
        guard read < count else {
            guard rest.readableBytes == 0 else {
                throw ProtocolError("\(rest.readableBytes) bytes after the batch's \(count) requests")
            }
            return nil
        }
        var stream = InputStream(buffer: rest, encoding: .v1_0)
        let request = try stream.readRequest(requestId: 0)
        rest = stream.buffer
        read += 1
        return request
    }
}
