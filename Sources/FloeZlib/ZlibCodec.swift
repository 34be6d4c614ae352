import CompressNIO
public import FloeProtocol
public import NIOCore

/// zlib (RFC 1950: deflate with a 2-byte header whose first byte has 8 in its low nibble), on
/// compress-nio over the system's libz: the codec Floe peers use between themselves, several
/// times faster than bzip2 at Ice's default level 1. ZeroC 3.7 peers cannot read it (see
/// Docs/architecture.md §4.4).
public struct ZlibCodec: CompressionCodec {
    public init() {}

    public func compress(_ body: ByteBuffer, level: Int) throws -> ByteBuffer {
        // The window no larger than the body (at least 512 bytes, at most 32 KiB), and the hash
        // table to match: the same output, but deflate's state for a 600-byte message is a
        // few KiB instead of 256 KiB (15 µs instead of 42 µs a message, zlib measured from
        // Python). Inflating with the largest window reads any of them.
        let bits = Int32(min(max(Int.bitWidth - (body.readableBytes - 1).leadingZeroBitCount, 9), 15))
        let configuration = ZlibConfiguration(
            windowSize: bits, compressionLevel: Int32(min(max(level, 1), 9)), memoryLevel: min(max(bits - 7, 3), 8))
        do {
            let compressor = try ZlibCompressor(algorithm: .zlib, configuration: configuration)
            var input = body
            // deflateBound: the whole stream fits, so one call finishes it.
            var output = ByteBufferAllocator().buffer(capacity: compressor.maxSize(from: input))
            try compressor.deflate(from: &input, to: &output, flush: .finish)
            return output
        } catch {
            throw CompressionError("zlib compression failed (\(error))")
        }
    }

    public func decompress(_ data: ByteBuffer, size: Int) throws -> ByteBuffer {
        guard size >= 0, size < Int(UInt32.max) else { throw CompressionError("impossible decompressed size \(size)") }
        guard data.readableBytes > 0 else { throw CompressionError("no zlib data") }
        // Room for `size` bytes and one more, to tell "exactly" from "more": a stream that would
        // inflate further stops when the buffer is full, having used no more memory. The buffer
        // starts at what the data can plausibly hold and grows as it fills, so memory follows
        // what the stream really inflates to, not what the peer announced (which only
        // `Ice.MessageSizeMax` bounds: 2 GiB when it is 0).
        let limit = size + 1
        var output = ByteBufferAllocator().buffer(
            capacity: CompressionBuffer.initialCapacity(limit: limit, compressed: data))
        var input = data
        do {
            let decompressor = try ZlibDecompressor(algorithm: .zlib)
            while true {
                do {
                    try decompressor.inflate(from: &input, to: &output)
                    break
                } catch let error as CompressNIOError where error == .bufferOverflow && output.capacity < limit {
                    output.reserveCapacity(min(output.capacity * 2, limit))
                }
            }
            // zlib answers Z_OK, as compress-nio passes on, both when the stream ended and when the
            // input ran out before its end (a stream cut before its Adler-32 trailer inflates
            // whole): a finished stream answers one more byte with Z_STREAM_END, without taking it.
            var probe = ByteBuffer(integer: UInt8(0))
            guard (try? decompressor.inflate(from: &probe, to: &output)) != nil, probe.readableBytes == 1 else {
                throw CompressionError("the zlib data ends before its stream does")
            }
        } catch let error as CompressNIOError {
            switch error {
            case .bufferOverflow: throw CompressionError("the zlib data inflates past the \(size) bytes announced")
            case .inputBufferOverflow: throw CompressionError("the zlib data is truncated")
            case .corruptData: throw CompressionError("the zlib data is corrupt")
            default: throw CompressionError("zlib decompression failed (\(error))")
            }
        }
        // The stream ended: anything else after it, or a size other than announced, is an error.
        guard output.readableBytes == size else {
            throw CompressionError("the zlib data inflates to \(output.readableBytes) bytes, not the \(size) announced")
        }
        guard input.readableBytes == 0 else {
            throw CompressionError("\(input.readableBytes) bytes follow the end of the zlib data")
        }
        return output
    }
}
