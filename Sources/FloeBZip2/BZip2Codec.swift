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
        // that would inflate further stops there, having used no more memory. The buffer starts
        // at what the data can plausibly hold and grows as it fills (bzip2 inflates a run of
        // one byte a million-fold), so memory follows what the stream really inflates to, not
        // what the peer announced. Inflated from the received bytes in place.
        let limit = size + 1
        var output = ByteBufferAllocator().buffer(
            capacity: CompressionBuffer.initialCapacity(limit: limit, compressed: data))
        // libbzip2 keeps the stream's address and refuses calls from another one: an `&local`
        // argument has no stable address from one call to the next, so it lives on the heap.
        let stream = UnsafeMutablePointer<bz_stream>.allocate(capacity: 1)
        stream.initialize(to: bz_stream())
        defer {
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        guard BZ2_bzDecompressInit(stream, 0, 0) == BZ_OK else {
            throw CompressionError("bzip2 decompression could not start (out of memory)")
        }
        defer { BZ2_bzDecompressEnd(stream) }
        let status = data.withUnsafeReadableBytes { input -> Int32 in
            // libbzip2 takes `char *` but only reads the source.
            guard let from = input.baseAddress else { return BZ_PARAM_ERROR }
            stream.pointee.next_in = UnsafeMutablePointer(mutating: from.assumingMemoryBound(to: CChar.self))
            stream.pointee.avail_in = UInt32(clamping: input.count)
            while true {
                if output.readableBytes == limit { return BZ_OUTBUFF_FULL }
                if output.writableBytes == 0 { output.reserveCapacity(min(output.capacity * 2, limit)) }
                var status = BZ_PARAM_ERROR
                let written = output.readableBytes
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { out in
                    guard let to = out.baseAddress?.assumingMemoryBound(to: CChar.self) else { return 0 }
                    let room = UInt32(min(out.count, limit - written))
                    stream.pointee.next_out = to
                    stream.pointee.avail_out = room
                    status = BZ2_bzDecompress(stream)
                    return Int(room - stream.pointee.avail_out)
                }
                // BZ_OK with input left means the output filled: grow it and go on. With no
                // input left, the stream ended early.
                guard status == BZ_OK else { return status }
                if stream.pointee.avail_in == 0, stream.pointee.avail_out > 0 { return BZ_UNEXPECTED_EOF }
            }
        }
        switch status {
        case BZ_STREAM_END where output.readableBytes == size:
            return output
        case BZ_STREAM_END:
            throw CompressionError(
                "the bzip2 data inflates to \(output.readableBytes) bytes, not the \(size) announced")
        case BZ_OUTBUFF_FULL:
            throw CompressionError("the bzip2 data inflates past the \(size) bytes announced")
        case BZ_UNEXPECTED_EOF:
            throw CompressionError("the bzip2 data is truncated")
        case BZ_MEM_ERROR:
            throw CompressionError("bzip2 decompression ran out of memory")
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
