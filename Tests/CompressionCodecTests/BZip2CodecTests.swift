import FloeBZip2
import FloeProtocol
import NIOCore
import Testing
import VectorFixtures

/// ZeroC's compression codec: the bodies ZeroC 3.7.8 compressed (vector `compressed`) inflate
/// to what it sent, ours inflate back, and no input inflates past the size it announces.
@Suite("bzip2 codec")
struct BZip2CodecTests {
    let codec = BZip2Codec()

    /// Status-2 messages: header (14), uncompressed size (4), then the bzip2 stream.
    @Test func bodiesZeroCCompressedInflateToWhatItSent() throws {
        let file = try VectorFile(named: "compressed")
        let compressed = file.messages.filter { $0.inflatedBody != nil }
        #expect(compressed.count == 2)
        for message in compressed {
            let bytes = ByteBuffer(bytes: message.bytes)
            let size = try #require(bytes.getInteger(at: 14, endianness: .little, as: Int32.self))
            let stream = try #require(bytes.getSlice(at: 18, length: bytes.readableBytes - 18))
            let body = try codec.decompress(stream, size: Int(size) - 14)
            #expect(Array(body.readableBytesView) == message.inflatedBody)
        }
    }

    @Test(arguments: [1, 9]) func ourStreamsInflateBack(level: Int) throws {
        let body = ByteBuffer(bytes: (0..<50_000).map { UInt8(($0 * 7) % 251) })
        let compressed = try codec.compress(body, level: level)
        #expect(compressed.readableBytes < body.readableBytes)
        #expect(compressed.getString(at: 0, length: 4) == "BZh\(level)")  // block size = level, as ZeroC
        #expect(try codec.decompress(compressed, size: body.readableBytes) == body)
    }

    /// 10 MB of zeros compress to a few dozen bytes; announced as 1,000 bytes, they are
    /// refused after 1,001 bytes of output, not inflated.
    @Test func aBombIsRefusedAtItsAnnouncedSize() throws {
        let bomb = try codec.compress(ByteBuffer(repeating: 0, count: 10_000_000), level: 9)
        #expect(bomb.readableBytes < 1_000)
        #expect { try codec.decompress(bomb, size: 1_000) } throws: { error in
            (error as? CompressionError)?.message.contains("past the 1000 bytes") == true
        }
    }

    @Test func shortTruncatedAndCorruptStreamsAreErrors() throws {
        let body = ByteBuffer(bytes: Array("a body of some length, compressed and then damaged".utf8))
        let compressed = try codec.compress(body, level: 1)
        #expect(throws: CompressionError.self) { try codec.decompress(compressed, size: body.readableBytes + 5) }
        let truncated = compressed.getSlice(at: 0, length: compressed.readableBytes / 2) ?? ByteBuffer()
        #expect(throws: CompressionError.self) { try codec.decompress(truncated, size: body.readableBytes) }
        var corrupt = compressed
        corrupt.setInteger(UInt8(0x42), at: 3)
        #expect(throws: CompressionError.self) { try codec.decompress(corrupt, size: body.readableBytes) }
        #expect(throws: CompressionError.self) { try codec.decompress(ByteBuffer(), size: 10) }
    }
}
