import FloeProtocol
import FloeZlib
import NIOCore
import Testing

/// Floe's own codec: its streams are zlib, round-trip at every level, and use a window no larger
/// than the body.
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

    /// The header's high nibble is the window (log2 − 8): 512 bytes at least, 32 KiB at most.
    @Test(arguments: [(100, 0x18), (600, 0x28), (2_000, 0x38), (40_000, 0x78)] as [(Int, UInt8)])
    func theWindowFitsTheBody(size: Int, firstByte: UInt8) throws {
        let body = ByteBuffer(bytes: (0..<size).map { UInt8(($0 * 7) % 251) })
        let compressed = try codec.compress(body, level: 1)
        #expect(compressed.getInteger(at: 0, as: UInt8.self) == firstByte)
        #expect(try codec.decompress(compressed, size: size) == body)
    }

    @Test func emptyAndTinyBodiesRoundTrip() throws {
        for body in [ByteBuffer(), ByteBuffer(bytes: [1])] {
            #expect(try codec.decompress(try codec.compress(body, level: 1), size: body.readableBytes) == body)
        }
    }
}
