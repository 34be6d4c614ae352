import FloeBZip2
import FloeProtocol
import NIOCore

/// Compressed messages from ZeroC peers (compression status 2): the body is the uncompressed
/// message's size (4 bytes, header included) and one bzip2 stream of its body. Receiving only,
/// for now: replies and requests are sent uncompressed, which a peer must accept whatever it
/// asked for (issue 17 adds sending and zlib).
extension IceConnectionHandler {
    /// The frame with its body inflated; the announced size is checked against
    /// `Ice.MessageSizeMax` before anything is inflated, and the stream may not inflate past it.
    static func inflate(_ frame: Frame, maxMessageSize: Int) throws -> Frame {
        var body = frame.body
        guard let size = body.readInteger(endianness: .little, as: Int32.self) else {
            throw CompressionError("a compressed message without its uncompressed size")
        }
        guard size > 14 else { throw CompressionError("uncompressed size \(size) is below the 14-byte header") }
        guard maxMessageSize <= 0 || Int(size) <= maxMessageSize else {
            throw CompressionError(
                "uncompressed size \(size) exceeds the limit of \(maxMessageSize) (Ice.MessageSizeMax)")
        }
        var header = frame.header
        header.compression = .compressionSupported
        return Frame(header: header, body: try BZip2Codec().decompress(body, size: Int(size) - 14))
    }
}
