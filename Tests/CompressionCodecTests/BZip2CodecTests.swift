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
}
