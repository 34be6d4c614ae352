import FloeProtocol
import FloeZlib
import NIOCore
import Testing

/// Floe's own codec: its streams are zlib (0x78 header) and round-trip at every level.
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
}
