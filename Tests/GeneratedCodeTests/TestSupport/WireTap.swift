import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A loopback relay between clients and one server port that records the Ice messages crossing
/// it: tests see on the wire what was sent (compression status, codec magic) without trusting
/// either end's own account.
final class WireTap: Sendable {
    /// One message as it crossed: its direction, type, compression status (byte 9), size on
    /// the wire, and for compressed messages the stream's format, from its first bytes:
    /// "bzip2" (`BZh`), "zlib" (RFC 1950's header: method 8, window ≤ 32 KiB, check bits), else
    /// "unknown".
    struct Message: Sendable, Hashable {
        var toServer: Bool
        var type: UInt8
        var compression: UInt8
        var size: Int
        var streamStart: String?
    }

    static func format(_ first: UInt8, _ second: UInt8) -> String {
        if first == UInt8(ascii: "B"), second == UInt8(ascii: "Z") { return "bzip2" }
        if first & 0x0F == 8, first >> 4 <= 7, (Int(first) * 256 + Int(second)) % 31 == 0 { return "zlib" }
        return "unknown"
    }

    private let channel: any Channel
    private let seen: NIOLockedValueBox<[Message]>

    var port: Int { channel.localAddress?.port ?? 0 }
    var messages: [Message] { seen.withLockedValue { $0 } }
    /// Requests and replies only (not validation, heartbeats or close-connection).
    var calls: [Message] { messages.filter { $0.type == 0 || $0.type == 2 || $0.type == 1 } }

    private init(channel: any Channel, seen: NIOLockedValueBox<[Message]>) {
        self.channel = channel
        self.seen = seen
    }

    static func start(toPort target: Int) async throws -> WireTap {
        let box = NIOLockedValueBox<[Message]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { accepted in
                ClientBootstrap(group: accepted.eventLoop)
                    .channelInitializer { outbound in
                        outbound.pipeline.addHandler(Relay(partner: accepted, toServer: false, seen: box))
                    }
                    .connect(host: "127.0.0.1", port: target)
                    .flatMap { outbound in
                        accepted.pipeline.addHandler(Relay(partner: outbound, toServer: true, seen: box))
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return WireTap(channel: channel, seen: box)
    }

    func close() async { try? await channel.close() }
}

/// Forwards one direction of a tapped connection, parsing the message headers it sees.
private final class Relay: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let partner: any Channel
    let toServer: Bool
    let seen: NIOLockedValueBox<[WireTap.Message]>
    var unparsed = ByteBuffer()

    init(partner: any Channel, toServer: Bool, seen: NIOLockedValueBox<[WireTap.Message]>) {
        self.partner = partner
        self.toServer = toServer
        self.seen = seen
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        let forward = bytes
        defer { partner.writeAndFlush(forward, promise: nil) }  // recorded before it arrives
        unparsed.writeBuffer(&bytes)
        while unparsed.readableBytes >= 14,
            let size = unparsed.getInteger(at: unparsed.readerIndex + 10, endianness: .little, as: Int32.self),
            size >= 14, unparsed.readableBytes >= Int(size)
        {
            let start = unparsed.readerIndex
            let compression = unparsed.getInteger(at: start + 9, as: UInt8.self) ?? 0
            let message = WireTap.Message(
                toServer: toServer, type: unparsed.getInteger(at: start + 8, as: UInt8.self) ?? 0,
                compression: compression, size: Int(size),
                streamStart: compression == 2 && size > 19
                    ? WireTap.format(
                        unparsed.getInteger(at: start + 18, as: UInt8.self) ?? 0,
                        unparsed.getInteger(at: start + 19, as: UInt8.self) ?? 0) : nil)
            seen.withLockedValue { $0.append(message) }
            unparsed.moveReaderIndex(forwardBy: Int(size))
        }
        unparsed.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
