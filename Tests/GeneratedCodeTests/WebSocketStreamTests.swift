import NIOCore
import NIOEmbedded
import NIOHTTP1
import TestSupport
import Testing

@testable import FloeNIO

/// `WebSocketStream` alone, on an embedded channel: what it passes on, and what it answers.
@Suite("WebSocket stream")
struct WebSocketStreamTests {
    private static let key: [UInt8] = [0x11, 0x22, 0x33, 0x44]

    /// A client's frame: FIN (unless told), the opcode, the length in its shortest form, masked.
    private static func frame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, key: [UInt8] = key) -> [UInt8] {
        var header: [UInt8] = [(fin ? 0x80 : 0) | opcode]
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
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4061)).wait()  // active
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

    /// Random messages in random fragments (every length form, empty fragments, pings between
    /// fragments, a fresh masking key per frame), the bytes cut at random points: what comes
    /// out is exactly the payloads, in order, and every ping is answered. Seeded, so a failure
    /// repeats.
    @Test(arguments: 0..<40)
    func randomFramesCutAtRandomPointsArriveWhole(seed: UInt64) async throws {
        // (Off the cooperative pool: the 40 cases take seconds of CPU in a debug build.)
        let (received, sent, pongs, pings) = try await offPool { try Self.cutAtRandomPoints(seed: seed) }
        #expect(received == sent)
        #expect(pongs == (0..<pings).flatMap { [0x8A, 1, UInt8($0)] })
    }

    /// What the stream passed on and the payloads sent, its output and the pings sent.
    private static func cutAtRandomPoints(seed: UInt64) throws -> ([UInt8], [UInt8], [UInt8], Int) {
        var random = SplitMix(seed: seed)
        let channel = try serverStream()
        var wire: [UInt8] = []
        var payloads: [UInt8] = []
        var pings = 0
        // The first message is one unfragmented 70,001-byte frame: every case has a 64-bit length.
        for index in 0..<random.next(below: 6) + 2 {
            let count = index == 0 ? 70_001 : [0, 1, 125, 126, 300, 65_535, 65_536, 70_001][random.next(below: 8)]
            let message = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next(below: 256)) }
            payloads += message
            var rest = message[...]
            var first = true
            repeat {
                let part = rest.prefix(rest.isEmpty ? 0 : index == 0 ? rest.count : random.next(below: rest.count) + 1)
                rest = rest.dropFirst(part.count)
                let key = (0..<4).map { _ in UInt8(truncatingIfNeeded: random.next(below: 256)) }
                wire += Self.frame(first ? 0x2 : 0x0, Array(part), fin: rest.isEmpty, key: key)
                first = false
                if random.next(below: 3) == 0 {
                    wire += Self.frame(0x9, [UInt8(pings)], key: key)
                    pings += 1
                }
            } while !rest.isEmpty
        }
        var offset = 0
        while offset < wire.count {
            let count = min(wire.count - offset, random.next(below: 4_000) + 1)
            try channel.writeInbound(ByteBuffer(bytes: wire[offset..<(offset + count)]))
            offset += count
        }
        let result = (try Self.inbound(channel), payloads, try Self.outbound(channel), pings)
        _ = try channel.finish()
        return result
    }

    /// Random headers (every opcode, FIN or not, every length form with random extended
    /// lengths, masked or not) with random bytes after them, cut at random points, never trap:
    /// the stream passes bytes on or stops with a violation, and nothing else.
    @Test(arguments: 0..<200)
    func randomFramesNeverTrap(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        let channel = try Self.serverStream()
        var wire: [UInt8] = []
        for _ in 0..<8 {
            let byte = { UInt8(truncatingIfNeeded: random.next(below: 256)) }
            wire.append(UInt8(random.next(below: 2)) << 7 | UInt8(random.next(below: 16)))
            let masked: UInt8 = random.next(below: 8) == 0 ? 0 : 0x80
            switch random.next(below: 3) {
            case 0: wire.append(masked | UInt8(random.next(below: 126)))
            case 1: wire += [masked | 126, byte(), byte()]
            default: wire += [masked | 127] + (0..<8).map { _ in random.next(below: 2) == 0 ? 0 : byte() }
            }
            if masked != 0 { wire += (0..<4).map { _ in byte() } }
            wire += (0..<random.next(below: 200)).map { _ in byte() }
        }
        var offset = 0
        while offset < wire.count {
            let count = min(wire.count - offset, random.next(below: 40) + 1)
            do {
                try channel.writeInbound(ByteBuffer(bytes: wire[offset..<(offset + count)]))
            } catch is WebSocketViolation {
                break
            }
            offset += count
        }
        _ = try? channel.finish()
    }

    /// A server passes on one buffer per read, however many frames the read held: the Ice
    /// handler frames reads, as over tcp.
    @Test func aServerPassesOnOneBufferPerRead() throws {
        let channel = try Self.serverStream()
        let frames = Self.frame(0x2, [1, 2, 3]) + Self.frame(0x2, [4, 5], fin: false) + Self.frame(0x0, [6])
        try channel.writeInbound(ByteBuffer(bytes: frames))
        let first = try channel.readInbound(as: ByteBuffer.self)
        #expect(first.map { Array($0.readableBytesView) } == [1, 2, 3, 4, 5, 6])
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    /// A close frame is answered with its status when an endpoint may send it, with none for
    /// none, else with 1002; then nothing more is read or written.
    @Test(arguments: [
        ([UInt8](), [UInt8]()), ([0x03, 0xE8], [0x03, 0xE8]), ([0x0F, 0xA0, 0x41], [0x0F, 0xA0]),
        ([0x03], [0x03, 0xEA]), ([0x03, 0xED], [0x03, 0xEA]), ([0x00, 0x01], [0x03, 0xEA]),
    ])
    func closeFramesAreAnswered(received: [UInt8], answer: [UInt8]) throws {
        let channel = try Self.serverStream()
        try channel.writeInbound(
            ByteBuffer(bytes: Self.frame(0x2, [7]) + Self.frame(0x8, received) + Self.frame(0x2, [8])))
        #expect(try Self.inbound(channel) == [7])
        #expect(try Self.outbound(channel) == [0x88, UInt8(answer.count)] + answer)
        #expect(throws: ChannelError.self) { try channel.writeOutbound(ByteBuffer(bytes: [9])) }
        _ = try? channel.finish()
    }

    /// A violation closes with 1002, a frame over the limit with 1009.
    @Test(arguments: [
        ([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1] as [UInt8], "a frame length with its top bit set", UInt8(0xEA)),
        ([0x82, 0xFF, 0, 0, 0, 0, 0x7F, 0, 0, 0], "a frame longer than Ice.MessageSizeMax", UInt8(0xF1)),
        ([0xC2, 0x80], "a frame with reserved bits set", UInt8(0xEA)),
    ])
    func violationsCloseWithTheirStatus(bytes: [UInt8], reason: String, status: UInt8) throws {
        let channel = try Self.serverStream()
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes + Self.key))
            Issue.record("no violation")
        } catch let violation as WebSocketViolation {
            #expect(violation.reason == reason)
        }
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes + Self.key))
        } catch let violation as WebSocketViolation {
            Issue.record("read after a violation: \(violation)")
        }
        _ = try? channel.close().wait()
        #expect(try Self.outbound(channel) == [0x88, 2, 0x03, status])
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

/// A small seeded generator (SplitMix64), so that a failing case repeats.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }
    mutating func next(below bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}

/// An upgrade request's repeated headers reach the connection joined in order, as one value
/// per name (what `ConnectionInfo.headers` shows), the most NIO lets through included.
@Suite("WebSocket upgrade headers")
struct WebSocketUpgradeHeaderTests {
    final class Upgraded: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var headers: [String: String]?
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let upgraded = event as? WebSocketUpgraded { headers = upgraded.headers }
        }
    }

    @Test func repeatedHeadersAreJoinedInOrder() throws {
        let channel = EmbeddedChannel()
        let stream = WebSocketStream(isClient: false, maxFrameSize: 1 << 20)
        let upgraded = Upgraded()
        try channel.pipeline.syncOperations.addHandler(stream)
        try channel.pipeline.syncOperations.addHandler(upgraded)
        let repeats = 65_534  // NIO's most header fields
        let headers = HTTPHeaders((0..<repeats).map { ("a", String($0 % 10)) } + [("Host", "x")])
        stream.start(tlsEvent: nil, headers: headers)
        let expected = (0..<repeats).map { String($0 % 10) }.joined(separator: ", ")
        #expect(upgraded.headers?["a"] == expected)
        #expect(upgraded.headers?["Host"] == "x")
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}
