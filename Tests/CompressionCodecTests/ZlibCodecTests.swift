import FloeProtocol
import FloeZlib
import NIOCore
import Testing

/// Floe's own codec: its streams are zlib (0x78 header), round-trip at every level, and no
/// input inflates past the size it announces.
@Suite("zlib codec")
struct ZlibCodecTests {
    let codec = ZlibCodec()

    @Test(arguments: [1, 6, 9]) func streamsInflateBack(level: Int) throws {
        let body = ByteBuffer(bytes: (0..<50_000).map { UInt8(($0 * 7) % 251) })
        let compressed = try codec.compress(body, level: level)
        #expect(compressed.readableBytes < body.readableBytes)
        #expect(compressed.getInteger(at: 0, as: UInt8.self) == 0x78)  // deflate, 32 KiB window
        #expect(try codec.decompress(compressed, size: body.readableBytes) == body)
    }

    @Test func emptyAndTinyBodiesRoundTrip() throws {
        for body in [ByteBuffer(), ByteBuffer(bytes: [1])] {
            #expect(try codec.decompress(try codec.compress(body, level: 1), size: body.readableBytes) == body)
        }
    }

    /// 10 MB of zeros compress to about 10 KB; announced as 1,000 bytes, they are refused once
    /// the 1,001-byte buffer is full, not inflated.
    @Test func aBombIsRefusedAtItsAnnouncedSize() throws {
        let bomb = try codec.compress(ByteBuffer(repeating: 0, count: 10_000_000), level: 9)
        #expect(bomb.readableBytes < 20_000)
        #expect { try codec.decompress(bomb, size: 1_000) } throws: { error in
            (error as? CompressionError)?.message.contains("past the 1000 bytes") == true
        }
    }

    @Test func shortTruncatedCorruptAndTrailingStreamsAreErrors() throws {
        let body = ByteBuffer(bytes: Array("a body of some length, compressed and then damaged".utf8))
        let compressed = try codec.compress(body, level: 1)
        #expect(throws: CompressionError.self) { try codec.decompress(compressed, size: body.readableBytes + 5) }
        let truncated = compressed.getSlice(at: 0, length: compressed.readableBytes / 2) ?? ByteBuffer()
        #expect(throws: CompressionError.self) { try codec.decompress(truncated, size: body.readableBytes) }
        var corrupt = compressed
        corrupt.setInteger(UInt8(0x42), at: 0)
        #expect(throws: CompressionError.self) { try codec.decompress(corrupt, size: body.readableBytes) }
        var trailing = compressed
        trailing.writeBytes([1, 2, 3])
        #expect(throws: CompressionError.self) { try codec.decompress(trailing, size: body.readableBytes) }
        #expect(throws: CompressionError.self) { try codec.decompress(ByteBuffer(), size: 10) }
    }
}
