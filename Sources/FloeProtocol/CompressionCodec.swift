public import NIOCore

/// A codec for the bodies of compressed Ice messages (compression status 2): everything after
/// the 14-byte header, compressed as one stream.
public protocol CompressionCodec: Sendable {
    /// `body` compressed at `level` (1 fastest … 9 smallest; ZeroC's default is 1).
    func compress(_ body: ByteBuffer, level: Int) throws -> ByteBuffer
    /// `data` decompressed into exactly `size` bytes. More (a compression bomb, or a lying size
    /// field) or fewer is an error, and costs no more memory than `size`: callers check `size`
    /// against `Ice.MessageSizeMax` first.
    func decompress(_ data: ByteBuffer, size: Int) throws -> ByteBuffer
}

/// Why a compressed body was refused.
public struct CompressionError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// How codecs size the buffer they inflate into.
package enum CompressionBuffer {
    /// The first buffer's size, up to `limit` (the announced size and one more byte): eight
    /// times the compressed bytes, at least 64 KiB. Ordinary messages (compressed 2–6×, ZeroC
    /// compresses only 100 bytes or more) fit at once; a tiny message announcing 2 GiB gets
    /// 64 KiB, and the buffer doubles only as far as the stream really inflates.
    package static func initialCapacity(limit: Int, compressed: ByteBuffer) -> Int {
        min(limit, max(compressed.readableBytes * 8, 65_536))
    }
}
