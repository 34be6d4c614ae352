import CBZip2
public import FloeProtocol
public import NIOCore

/// bzip2, the codec of ZeroC Ice 3.7's message compression, on the system's libbzip2: one
/// stream per body, as libbzip2's one-shot buffer functions produce (what ZeroC sends).
public struct BZip2Codec: CompressionCodec {
    public init() {}

    public func compress(_ body: ByteBuffer, level: Int) throws -> ByteBuffer {
        let count = body.readableBytes
        // libbzip2's bound for the output: 1% more than the input, plus 600 bytes.
        var produced = UInt32(clamping: count + count / 100 + 600)
        var output = [UInt8](repeating: 0, count: Int(produced))
        var input = count == 0 ? [0] : Array(body.readableBytesView)  // (never a null pointer)
        let blockSize = Int32(min(max(level, 1), 9))
        let status = Self.withBuffers(&input, &output) { from, to in
            BZ2_bzBuffToBuffCompress(to, &produced, from, UInt32(clamping: count), blockSize, 0, 0)
        }
        guard status == BZ_OK else { throw CompressionError("bzip2 compression failed (status \(status))") }
        return ByteBuffer(bytes: output[..<Int(produced)])
    }

    public func decompress(_ data: ByteBuffer, size: Int) throws -> ByteBuffer {
        guard size >= 0, size < Int(UInt32.max) else { throw CompressionError("impossible decompressed size \(size)") }
        guard data.readableBytes > 0 else { throw CompressionError("no bzip2 data") }
        // Room for exactly `size` bytes and one more, to tell "exactly" from "more": a stream
        // that would inflate further stops there (BZ_OUTBUFF_FULL), having used no more memory.
        // Inflated straight into the buffer returned, from the received bytes in place.
        var output = ByteBufferAllocator().buffer(capacity: size + 1)
        var status = BZ_OK
        var produced = UInt32(size + 1)
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: size + 1) { out in
            data.withUnsafeReadableBytes { input in
                // libbzip2 takes `char *` but only reads the source.
                guard
                    let from = input.baseAddress.map({
                        UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: CChar.self))
                    }),
                    let to = out.baseAddress?.assumingMemoryBound(to: CChar.self)
                else {
                    status = BZ_PARAM_ERROR
                    return 0
                }
                status = BZ2_bzBuffToBuffDecompress(to, &produced, from, UInt32(clamping: input.count), 0, 0)
                return status == BZ_OK ? Int(produced) : 0
            }
        }
        switch status {
        case BZ_OK where Int(produced) == size:
            return output
        case BZ_OK:
            throw CompressionError("the bzip2 data inflates to \(produced) bytes, not the \(size) announced")
        case BZ_OUTBUFF_FULL:
            throw CompressionError("the bzip2 data inflates past the \(size) bytes announced")
        case BZ_UNEXPECTED_EOF:
            throw CompressionError("the bzip2 data is truncated")
        default:
            throw CompressionError("the bzip2 data is corrupt (status \(status))")
        }
    }

    /// libbzip2's `char *` views of the two buffers (both non-empty).
    private static func withBuffers(
        _ input: inout [UInt8], _ output: inout [UInt8],
        _ body: (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<CChar>) -> Int32
    ) -> Int32 {
        input.withUnsafeMutableBytes { input in
            output.withUnsafeMutableBytes { output in
                guard let from = input.baseAddress?.assumingMemoryBound(to: CChar.self),
                    let to = output.baseAddress?.assumingMemoryBound(to: CChar.self)
                else { return BZ_PARAM_ERROR }
                return body(from, to)
            }
        }
    }
}
