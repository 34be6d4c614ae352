import FloeBZip2
import FloeProtocol
import FloeZlib
import NIOCore
import Testing

private let codecs: [String: any CompressionCodec] = ["bzip2": BZip2Codec(), "zlib": ZlibCodec()]

/// What every codec must do with hostile input: never inflate past the size announced, and
/// refuse short, truncated, corrupt and trailing data with a `CompressionError`.
@Suite("Codec contract")
struct CodecContractTests {
    /// 10 MB of zeros compress to a few KB at most; announced as 1,000 bytes, they are refused
    /// once 1,001 bytes are out, not inflated.
    @Test(arguments: ["bzip2", "zlib"]) func aBombIsRefusedAtItsAnnouncedSize(codec name: String) throws {
        let codec = try #require(codecs[name])
        let bomb = try codec.compress(ByteBuffer(repeating: 0, count: 10_000_000), level: 9)
        #expect(bomb.readableBytes < 20_000)
        #expect { try codec.decompress(bomb, size: 1_000) } throws: { error in
            (error as? CompressionError)?.message.contains("past the 1000 bytes") == true
        }
    }

    @Test(arguments: ["bzip2", "zlib"]) func shortTruncatedCorruptAndEmptyStreamsAreErrors(codec name: String) throws {
        let codec = try #require(codecs[name])
        let body = ByteBuffer(bytes: Array("a body of some length, compressed and then damaged".utf8))
        let compressed = try codec.compress(body, level: 1)
        #expect(throws: CompressionError.self) { try codec.decompress(compressed, size: body.readableBytes + 5) }
        let truncated = compressed.getSlice(at: 0, length: compressed.readableBytes / 2) ?? ByteBuffer()
        #expect(throws: CompressionError.self) { try codec.decompress(truncated, size: body.readableBytes) }
        var corrupt = compressed
        corrupt.setInteger(UInt8(0x42), at: name == "zlib" ? 0 : 3)
        #expect(throws: CompressionError.self) { try codec.decompress(corrupt, size: body.readableBytes) }
        #expect(throws: CompressionError.self) { try codec.decompress(ByteBuffer(), size: 10) }
    }

    /// zlib reports bytes after its stream's end (bzip2's one-shot decoder stops at the end).
    @Test func bytesAfterAZlibStreamAreAnError() throws {
        let body = ByteBuffer(bytes: Array("trailing bytes".utf8))
        var trailing = try ZlibCodec().compress(body, level: 1)
        trailing.writeBytes([1, 2, 3])
        #expect(throws: CompressionError.self) { try ZlibCodec().decompress(trailing, size: body.readableBytes) }
    }
}
