import FloeCore
import FloeProtocol
import Logging
import NIOCore

/// The largest Ice message one UDP datagram carries: 65,535 bytes less the IP and UDP headers,
/// ZeroC's limit too.
let maxDatagramSize = 65_507

/// Ice's udp transport under the Ice handler: one message per datagram, as ZeroC sends them.
///
/// Reads (servers): a datagram whose header is sound — Ice's magic, and a size from 14 bytes up
/// to the datagram's — goes on as exactly that message, so the Ice handler, which frames a byte
/// stream, never holds part of one; trailing bytes are ignored, as ZeroC does. Other datagrams
/// are dropped, never closing the channel: a server's is the endpoint itself, shared by every
/// peer. A client reads nothing (Floe serves no requests over a client's udp socket).
///
/// Writes (clients): the Ice handler's buffers — a message may come as its header and its body,
/// or several messages between flushes — are gathered until the flush and leave one datagram
/// per message. A server writes nothing over udp (no validation, replies or closing), and
/// anything written there is dropped.
final class DatagramStream: ChannelDuplexHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let isClient: Bool
    /// Says why a datagram was dropped (a warning under Ice.Warn.Connections, as in ZeroC).
    private let dropped: (String) -> Void
    private var unsent: ByteBuffer?
    private var unsentPromise: EventLoopPromise<Void>?

    init(isClient: Bool, dropped: @escaping (String) -> Void) {
        self.isClient = isClient
        self.dropped = dropped
    }

    func channelInactive(context: ChannelHandlerContext) {
        dropUnsent()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { dropUnsent() }

    /// Writes never flushed before the channel closed fail, as NIO fails those it holds.
    private func dropUnsent() {
        unsent = nil
        unsentPromise?.fail(ChannelError.ioOnClosedChannel)
        unsentPromise = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClient else { return }
        let datagram = unwrapInboundIn(data).data
        do {
            context.fireChannelRead(wrapInboundOut(try Self.message(in: datagram)))
        } catch {
            dropped("dropped a malformed datagram of \(datagram.readableBytes) bytes: \(error)")
        }
    }

    /// The message a datagram starts with, when its header (checked as on stream connections)
    /// says one fits.
    static func message(in datagram: ByteBuffer) throws -> ByteBuffer {
        var bytes = datagram
        let header = try MessageHeader.read(from: &bytes, maxMessageSize: maxDatagramSize)
        guard let message = datagram.getSlice(at: datagram.readerIndex, length: header.messageSize) else {
            throw ProtocolError("its message of \(header.messageSize) bytes does not fit")
        }
        return message
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard isClient else {
            promise?.succeed()
            return
        }
        var bytes = unwrapOutboundIn(data)
        if unsent == nil { unsent = context.channel.allocator.buffer(capacity: bytes.readableBytes) }
        unsent?.writeBuffer(&bytes)
        if let promise {
            if let unsentPromise { unsentPromise.futureResult.cascade(to: promise) } else { unsentPromise = promise }
        }
    }

    func flush(context: ChannelHandlerContext) {
        guard var bytes = unsent else { return context.flush() }
        let promise = unsentPromise
        unsent = nil
        unsentPromise = nil
        var last: EventLoopFuture<Void>?
        while bytes.readableBytes >= 14,
            let size = bytes.getInteger(at: bytes.readerIndex + 10, endianness: .little, as: Int32.self),
            size >= 14, let message = bytes.readSlice(length: min(Int(size), bytes.readableBytes))
        {
            last = context.write(wrapOutboundOut(message))
        }
        context.flush()
        if let promise {
            if let last { last.cascade(to: promise) } else { promise.succeed() }
        }
    }
}
