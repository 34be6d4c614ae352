import NIOCore
import NIOEmbedded
import Testing

@testable import FloeNIO

/// `WebSocketStream` alone, on an embedded channel: what it passes on, and what it answers.
@Suite("WebSocket stream")
struct WebSocketStreamTests {
    private static let key: [UInt8] = [0x11, 0x22, 0x33, 0x44]

    /// A client's frame: FIN, the opcode, the length in its shortest form, masked.
    private static func frame(_ opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var header: [UInt8] = [0x80 | opcode]
        switch payload.count {
        case ..<126: header.append(0x80 | UInt8(payload.count))
        case ...0xFFFF: header += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default:
            header += [0x80 | 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> (8 * $0)) }
        }
        return header + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    }

    private static func serverStream() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(WebSocketStream(isClient: false, maxFrameSize: 1 << 20))
        return channel
    }

    /// Everything passed on inbound, as one array of bytes.
    private static func inbound(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
        return bytes
    }

    private static func outbound(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
        return bytes
    }

    /// Payloads of each length form (7-bit, 16-bit, 64-bit) come out unmasked, whole, in order.
    @Test func payloadsOfEveryLengthFormArriveUnmasked() throws {
        let channel = try Self.serverStream()
        let payloads = [100, 300, 70_000].map { count in (0..<count).map { UInt8(truncatingIfNeeded: $0 * 31) } }
        try channel.writeInbound(ByteBuffer(bytes: payloads.flatMap { Self.frame(0x2, $0) }))
        #expect(try Self.inbound(channel) == payloads.flatMap { $0 })
        _ = try channel.finish()
    }

    /// A ping is answered with its payload, unmasked; none while the channel is not writable
    /// (a peer that pings without reading must not make the server queue pongs).
    @Test func pingsGetPongsOnlyWhileWritable() throws {
        let channel = try Self.serverStream()
        try channel.writeInbound(ByteBuffer(bytes: Self.frame(0x9, Array("one".utf8))))
        #expect(try Self.outbound(channel) == [0x8A, 3] + Array("one".utf8))
        channel.isWritable = false
        for _ in 0..<100 { try channel.writeInbound(ByteBuffer(bytes: Self.frame(0x9, Array("two".utf8)))) }
        #expect(try Self.outbound(channel).isEmpty)
        channel.isWritable = true
        try channel.writeInbound(ByteBuffer(bytes: Self.frame(0x9, Array("three".utf8))))
        #expect(try Self.outbound(channel) == [0x8A, 5] + Array("three".utf8))
        _ = try channel.finish()
    }

    /// Writes leave as one unmasked binary frame each, header and payload.
    @Test func aServerWritesOneUnmaskedBinaryFramePerWrite() throws {
        let channel = try Self.serverStream()
        let small = [UInt8](repeating: 7, count: 10)
        let large = [UInt8](repeating: 9, count: 2_000)
        try channel.writeOutbound(ByteBuffer(bytes: small))
        try channel.writeOutbound(ByteBuffer(bytes: large))
        #expect(try Self.outbound(channel) == [0x82, 10] + small + [0x82, 126, 0x07, 0xD0] + large)
        _ = try channel.finish()
    }
}
