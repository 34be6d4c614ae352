import NIOCore
import NIOWebSocket

/// Ice's byte stream over WebSocket, between the frame codec and the Ice handler of a ws or wss
/// connection once upgraded. Binary frames in become their payload: Ice does not align its
/// messages with frames, and the Ice handler splits messages itself. Each write goes out as one
/// binary frame, masked by clients (RFC 6455 §5.3): never one frame for the bytes of two
/// messages, which ZeroC's reader does not take (it closed the connection, "unknown magic
/// number", when pipelined messages shared frames), though it takes a message over two frames. Pings are answered; a close frame is
/// answered and closes the connection; closing sends a close frame first, which ZeroC's
/// transport waits for when it closes gracefully.
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
    /// The status of the close frame this side sends: normal, unless the peer broke the protocol.
    private var closeStatus = WebSocketErrorCode.normalClosure

    init(isClient: Bool) {
        self.isClient = isClient
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Tells the handlers after this one, added once the upgrade succeeded, that the connection
    /// is open, and what TLS learned about the peer before the upgrade.
    func start(tlsEvent: Any?) {
        guard let context else { return }
        context.fireChannelActive()
        if let tlsEvent { context.fireUserInboundEventTriggered(tlsEvent) }
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
            send(context, .pong, frame.unmaskedData, promise: nil)
            context.flush()
        case .pong:
            break
        case .connectionClose:
            // The peer closes: answer with its status code (RFC 6455 §5.5.1), then close.
            if !closeSent {
                closeSent = true
                let data = frame.unmaskedData
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

    /// NIO's frame decoder reports frames it cannot read (too big, malformed) as errors.
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
        let frame = WebSocketFrame(fin: true, opcode: opcode, maskKey: isClient ? .random() : nil, data: data)
        context.write(wrapOutboundOut(frame), promise: promise)
    }

    /// A client frame's payload unmasked into a new buffer, eight bytes at a time (NIO's
    /// `unmaskedData` copies the payload, then unmasks it a byte at a time).
    static func unmasked(_ frame: WebSocketFrame, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard let key = frame.maskKey else { return frame.data }
        let data = frame.data
        let count = data.readableBytes
        var pattern: UInt64 = 0
        withUnsafeMutableBytes(of: &pattern) { bytes in
            for index in 0..<8 { bytes[index] = key[index % 4] }
        }
        var result = allocator.buffer(capacity: count)
        result.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { target in
            data.withUnsafeReadableBytes { source in
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
        return result
    }

    private static func describe(_ error: NIOWebSocketError) -> String {
        switch error {
        case .invalidFrameLength: "a frame longer than Ice.MessageSizeMax"
        case .fragmentedControlFrame: "a fragmented control frame"
        case .multiByteControlFrameLength: "a control frame longer than 125 bytes"
        }
    }
}

/// A peer breaking the WebSocket protocol on a ws or wss connection.
struct WebSocketViolation: Error, CustomStringConvertible {
    let reason: String
    init(_ reason: String) { self.reason = reason }
    var description: String { "WebSocket: \(reason)" }
}
