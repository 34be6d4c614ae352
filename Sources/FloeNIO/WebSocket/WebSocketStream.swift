import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Ice's byte stream over WebSocket, between the frame codec and the Ice handler of a ws or wss
/// connection once upgraded. Binary frames in become their payload: Ice does not align its
/// messages with frames, and the Ice handler splits messages itself. Each write goes out as one
/// binary frame, masked by clients (RFC 6455 §5.3): never one frame for the bytes of two
/// messages, which ZeroC's reader does not take (it closed the connection, "unknown magic
/// number", when pipelined messages shared frames), though it takes a message over two frames.
/// Pings are answered; a close frame is answered and closes the connection; closing sends a
/// close frame first, which ZeroC's transport waits for when it closes gracefully.
final class WebSocketStream: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    private let isClient: Bool
    private var context: ChannelHandlerContext?
    /// A data frame without FIN came last: continuation frames follow.
    private var continuing = false
    private var closeSent = false
    /// The context of NIO's frame encoder: frames are written through it, past the encoder,
    /// as bytes this handler encoded. NIO's encoder masks a byte at a time, which cost a Floe
    /// client half of its 1 MiB sends' throughput; its upgraders add it, and it cannot be removed.
    private var wire: ChannelHandlerContext?
    /// The status of the close frame this side sends: normal, unless the peer broke the protocol.
    private var closeStatus = WebSocketErrorCode.normalClosure

    init(isClient: Bool) {
        self.isClient = isClient
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        wire = nil
    }

    /// Tells the handlers after this one, added once the upgrade succeeded, that the connection
    /// is open, what TLS learned about the peer before the upgrade, and the upgrade's headers.
    func start(tlsEvent: Any?, headers: HTTPHeaders) {
        guard let context else { return }
        wire = try? context.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self)
        context.fireChannelActive()
        if let tlsEvent { context.fireUserInboundEventTriggered(tlsEvent) }
        var upgrade: [String: String] = [:]
        for (name, value) in headers {
            upgrade[name] = upgrade[name].map { "\($0), \(value)" } ?? value
        }
        context.fireUserInboundEventTriggered(WebSocketUpgraded(headers: upgrade))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // Clients mask every frame, servers none (RFC 6455 §5.1).
        guard (frame.maskKey != nil) != isClient else {
            return violation(context, isClient ? "the server sent a masked frame" : "the client sent an unmasked frame")
        }
        switch frame.opcode {
        case .binary where !continuing, .continuation where continuing:
            continuing = !frame.fin
            context.fireChannelRead(wrapInboundOut(Self.unmasked(frame, allocator: context.channel.allocator)))
        case .ping:
            // A peer that pings without reading gets no pong while its unread bytes are above the
            // high-water mark: pongs bypass the Ice handler's bound on what it queues.
            guard context.channel.isWritable else { return }
            send(context, .pong, Self.unmasked(frame, allocator: context.channel.allocator), promise: nil)
            context.flush()
        case .pong:
            break
        case .connectionClose:
            // The peer closes: answer with its status code (RFC 6455 §5.5.1), then close.
            if !closeSent {
                closeSent = true
                let data = Self.unmasked(frame, allocator: context.channel.allocator)
                send(
                    context, .connectionClose, data.getSlice(at: data.readerIndex, length: 2) ?? ByteBuffer(),
                    promise: nil)
                context.flush()
            }
            context.close(mode: .all, promise: nil)
        case .text:
            violation(context, "a text frame (Ice sends binary frames only)")
        default:
            violation(
                context,
                continuing
                    ? "a \(frame.opcode) frame inside a fragmented message" : "an unexpected \(frame.opcode) frame")
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        send(context, .binary, unwrapOutboundIn(data), promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all, !closeSent, context.channel.isActive {
            closeSent = true
            var status = context.channel.allocator.buffer(capacity: 2)
            status.write(webSocketErrorCode: closeStatus)
            send(context, .connectionClose, status, promise: nil)
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }

    /// NIO's frame decoder (still reading frames: only writing bypasses it) reports frames it
    /// cannot read (too big, malformed) as errors.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? NIOWebSocketError {
            if error == .invalidFrameLength { closeStatus = .messageTooLarge }
            return violation(context, Self.describe(error))
        }
        context.fireErrorCaught(error)
    }

    /// The Ice handler closes the connection, logging why; the close frame says protocol error
    /// (1002, or 1009 for a frame too long), as ZeroC's does.
    private func violation(_ context: ChannelHandlerContext, _ reason: String) {
        if closeStatus == .normalClosure { closeStatus = .protocolError }
        context.fireErrorCaught(WebSocketViolation(reason))
    }

    private func send(
        _ context: ChannelHandlerContext, _ opcode: WebSocketOpcode, _ data: ByteBuffer,
        promise: EventLoopPromise<Void>?
    ) {
        guard let wire else {
            let frame = WebSocketFrame(fin: true, opcode: opcode, maskKey: isClient ? .random() : nil, data: data)
            return context.write(wrapOutboundOut(frame), promise: promise)
        }
        let (header, payload) = Self.encode(opcode, data, masked: isClient, allocator: context.channel.allocator)
        if let payload {
            wire.write(NIOAny(header), promise: nil)
            wire.write(NIOAny(payload), promise: promise)
        } else {
            wire.write(NIOAny(header), promise: promise)
        }
    }

    /// A frame's payload, unmasked into a new buffer when masked (NIO's `unmaskedData` copies
    /// the payload, then unmasks it a byte at a time).
    static func unmasked(_ frame: WebSocketFrame, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard let key = frame.maskKey else { return frame.data }
        var result = allocator.buffer(capacity: frame.data.readableBytes)
        masking(frame.data, with: key, into: &result)
        return result
    }

    /// The bytes of a frame (RFC 6455 §5.2): the header, and the payload masked into the same
    /// buffer for a client; for a server the payload follows as it is when it is big.
    static func encode(_ opcode: WebSocketOpcode, _ payload: ByteBuffer, masked: Bool, allocator: ByteBufferAllocator)
        -> (header: ByteBuffer, payload: ByteBuffer?)
    {
        let count = payload.readableBytes
        let copied = masked || count <= 1024
        var header = allocator.buffer(capacity: 14 + (copied ? count : 0))
        header.writeInteger(0x80 | UInt8(webSocketOpcode: opcode))
        let maskBit: UInt8 = masked ? 0x80 : 0
        if count < 126 {
            header.writeInteger(maskBit | UInt8(count))
        } else if count <= Int(UInt16.max) {
            header.writeInteger(maskBit | 126)
            header.writeInteger(UInt16(count))
        } else {
            header.writeInteger(maskBit | 127)
            header.writeInteger(UInt64(count))
        }
        if masked {
            let key = WebSocketMaskingKey.random()
            header.writeBytes(key)
            masking(payload, with: key, into: &header)
            return (header, nil)
        }
        guard copied else { return (header, payload) }
        var payload = payload
        header.writeBuffer(&payload)
        return (header, nil)
    }

    /// Appends `source` XORed with the masking key, eight bytes at a time.
    private static func masking(_ source: ByteBuffer, with key: WebSocketMaskingKey, into target: inout ByteBuffer) {
        let count = source.readableBytes
        var pattern: UInt64 = 0
        withUnsafeMutableBytes(of: &pattern) { bytes in
            for index in 0..<8 { bytes[index] = key[index % 4] }
        }
        target.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { target in
            source.withUnsafeReadableBytes { source in
                var index = 0
                while index + 8 <= count {
                    let word = source.loadUnaligned(fromByteOffset: index, as: UInt64.self) ^ pattern
                    target.storeBytes(of: word, toByteOffset: index, as: UInt64.self)
                    index += 8
                }
                while index < count {
                    target[index] = source[index] ^ key[index % 4]
                    index += 1
                }
            }
            return count
        }
    }

    private static func describe(_ error: NIOWebSocketError) -> String {
        switch error {
        case .invalidFrameLength: "a frame longer than Ice.MessageSizeMax"
        case .fragmentedControlFrame: "a fragmented control frame"
        case .multiByteControlFrameLength: "a control frame longer than 125 bytes"
        }
    }
}

/// The upgrade's HTTP headers, for the connection's info (see `ConnectionInfo.headers`).
struct WebSocketUpgraded {
    let headers: [String: String]
}

/// A peer breaking the WebSocket protocol on a ws or wss connection.
struct WebSocketViolation: Error, CustomStringConvertible {
    let reason: String
    init(_ reason: String) { self.reason = reason }
    var description: String { "WebSocket: \(reason)" }
}
