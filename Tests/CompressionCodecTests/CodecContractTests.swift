import FloeBZip2
import FloeProtocol
import FloeZlib
import Foundation
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

    /// A stream inflating far beyond its compressed size (3 MB of zeros, a few KB compressed)
    /// is read whole, the buffer growing as it fills.
    @Test(arguments: ["bzip2", "zlib"]) func aHighlyCompressedStreamInflatesWhole(codec name: String) throws {
        let codec = try #require(codecs[name])
        let body = ByteBuffer(repeating: 0, count: 3_000_000)
        let compressed = try codec.compress(body, level: 9)
        #expect(compressed.readableBytes < 10_000)
        #expect(try codec.decompress(compressed, size: body.readableBytes) == body)
    }

    /// What a peer announces costs nothing until the stream inflates to it: 30 compressed bytes
    /// announcing 2 GiB (allowed when `Ice.MessageSizeMax` is 0) do not reserve 2 GiB. Seen in
    /// the process's peak virtual size, which a buffer of the announced size would raise at once.
    @Test(arguments: ["bzip2", "zlib"]) func anAnnouncedSizeIsNotReservedUpFront(codec name: String) throws {
        let codec = try #require(codecs[name])
        let small = try codec.compress(ByteBuffer(bytes: Array("a short body".utf8)), level: 1)
        let sizeBefore = try #require(Self.virtualMemory("VmSize"))
        let peakBefore = try #require(Self.virtualMemory("VmPeak"))
        #expect(throws: CompressionError.self) { try codec.decompress(small, size: Int(Int32.max) - 14) }
        let peakAfter = try #require(Self.virtualMemory("VmPeak"))
        // (Other tests run in this process meanwhile: a peak they set earlier is not this one's.)
        #expect(
            peakAfter <= max(peakBefore, sizeBefore + 1 << 30),
            "peak \(peakAfter >> 20) MiB, from \(sizeBefore >> 20) MiB (peak \(peakBefore >> 20) MiB)")
    }

    /// A line of /proc/self/status, in bytes.
    private static func virtualMemory(_ field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
        // "VmPeak:\t  123456 kB" (no blank before the number once it has eight digits).
        let number = line?.dropFirst(field.count + 1).split(whereSeparator: \.isWhitespace).first
        return number.flatMap { Int($0) }.map { $0 * 1024 }
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

    /// A zlib stream that stops before its end is an error even when what it holds inflates to
    /// the size announced: without its Adler-32 trailer, or with no last block.
    @Test func aZlibStreamWithoutItsEndIsAnError() throws {
        let body = ByteBuffer(bytes: Array(repeating: UInt8(ascii: "x"), count: 1_000))
        let whole = try ZlibCodec().compress(body, level: 1)
        #expect(try ZlibCodec().decompress(whole, size: body.readableBytes) == body)
        let withoutTrailer = whole.getSlice(at: 0, length: whole.readableBytes - 4) ?? ByteBuffer()
        #expect(throws: CompressionError.self) { try ZlibCodec().decompress(withoutTrailer, size: body.readableBytes) }
        // A zlib header, then one stored block that is not the last (BFINAL 0), then nothing.
        var unfinished = ByteBuffer(bytes: [0x78, 0x01, 0x00, 0xE8, 0x03, 0x17, 0xFC])
        unfinished.writeImmutableBuffer(body)
        #expect(throws: CompressionError.self) { try ZlibCodec().decompress(unfinished, size: body.readableBytes) }
    }

    /// zlib reports bytes after its stream's end (bzip2's one-shot decoder stops at the end).
    @Test func bytesAfterAZlibStreamAreAnError() throws {
        let body = ByteBuffer(bytes: Array("trailing bytes".utf8))
        var trailing = try ZlibCodec().compress(body, level: 1)
        trailing.writeBytes([1, 2, 3])
        #expect(throws: CompressionError.self) { try ZlibCodec().decompress(trailing, size: body.readableBytes) }
    }
}
