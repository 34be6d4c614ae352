import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Ice's byte stream over WebSocket, between the socket (or TLS) and the Ice handler of a ws or
/// wss connection once upgraded. It reads and writes frames itself (RFC 6455 §5): a data frame's
/// payload goes on as it arrives (unmasked, when a client sent it), and the Ice handler splits
/// messages from it as it does a tcp stream (Ice does not align its messages with frames).
/// NIO's frame codec, used before, gathered each frame before the Ice handler gathered the
/// message again (Docs/benchmark.md, "WebSocket").
///
/// Each write goes out as one binary frame, masked by clients (§5.3): never one frame for the
/// bytes of two messages, which ZeroC's reader does not take (it closed the connection, "unknown
/// magic number", when pipelined messages shared frames), though it takes a message over two
/// frames. Pings are answered; a close frame is answered and closes the connection; closing sends
/// a close frame first, which ZeroC's transport waits for when it closes gracefully.
final class WebSocketStream: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let isClient: Bool
    private let maxFrameSize: Int
    private var context: ChannelHandlerContext?
    /// The data frame whose payload is arriving, if one is.
    private var frame: WebSocketFrameHeader?
    /// Bytes of a header, or of a control frame, that is not all in yet (at most 131).
    private var held: ByteBuffer?
    /// On a server, the client's payload bytes from the current read, unmasked, passed on at
    /// its end: one buffer per read, as over tcp, so that the Ice handler's framing (and its
    /// flushing, which looks at where a read ends) sees reads, not frames.
    private var gathered: ByteBuffer?
    /// A pong was written during the current read: one flush at its end.
    private var pongOwed = false
    /// A data frame without FIN came last: continuation frames follow.
    private var continuing = false
    /// The peer broke the protocol or sent its close frame: nothing more is read.
    private var stopped = false
    private var closeSent = false
    /// The status of the close frame this side sends: normal, unless the peer broke the protocol.
    private var closeStatus = WebSocketErrorCode.normalClosure

    init(isClient: Bool, maxFrameSize: Int) {
        self.isClient = isClient
        self.maxFrameSize = maxFrameSize
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Tells the handlers after this one, added once the upgrade succeeded, that the connection
    /// is open, what TLS learned about the peer before the upgrade, and the upgrade's headers.
    func start(tlsEvent: Any?, headers: HTTPHeaders) {
        guard let context else { return }
        context.fireChannelActive()
        if let tlsEvent { context.fireUserInboundEventTriggered(tlsEvent) }
        // Repeated headers joined once each: joined one repeat at a time, NIO's 65,534 fields of
        // one name (80 KiB of request) copied gigabytes on the event loop.
        var repeated: [String: [String]] = [:]
        for (name, value) in headers { repeated[name, default: []].append(value) }
        let upgrade = repeated.mapValues { $0.joined(separator: ", ") }
        context.fireUserInboundEventTriggered(WebSocketUpgraded(headers: upgrade))
    }

    /// The most a header or control frame can need: 2 + 4 (the mask) + 125.
    private static let heldLimit = 131

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !stopped else { return }
        var bytes = unwrapInboundIn(data)
        do {
            // A header or control frame cut by the last read: finished from the front of this
            // one, copying no more of it than that can need.
            while var joined = held, bytes.readableBytes > 0, !stopped {
                held = nil
                var head = bytes.readSlice(length: min(bytes.readableBytes, Self.heldLimit)) ?? ByteBuffer()
                joined.writeBuffer(&head)
                try frames(&joined, context: context)
            }
            if held == nil { try frames(&bytes, context: context) }
        } catch {
            if error.isTooLong { closeStatus = .messageTooLarge }
            gathered = nil
            violation(context, error.reason)
        }
        passOn(context)
        if pongOwed {
            pongOwed = false
            context.flush()
        }
    }

    /// Reads frames until `bytes` is used up; holds a copy of what is left of a header or control
    /// frame that is not all in.
    private func frames(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) throws(WebSocketViolation) {
        while bytes.readableBytes > 0, !stopped {
            if frame != nil {
                payload(&bytes, context: context)
            } else if !(try nextFrame(&bytes, context: context)) {
                held = ByteBuffer(bytes: bytes.readableBytesView)
                return
            }
        }
    }

    /// Passes on the payload bytes gathered from the current read.
    private func passOn(_ context: ChannelHandlerContext) {
        guard let buffer = gathered else { return }
        gathered = nil
        context.fireChannelRead(wrapInboundOut(buffer))
    }

    /// Starts the frame at the front of `bytes`; false when its header (or, for a control frame,
    /// the whole frame) is not all in yet.
    private func nextFrame(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) throws(WebSocketViolation) -> Bool
    {
        guard let (header, headerSize) = try WebSocketFrameHeader.peek(bytes, maxLength: maxFrameSize) else {
            return false
        }
        // Clients mask every frame, servers none (RFC 6455 §5.1).
        guard (header.maskKey != nil) != isClient else {
            throw WebSocketViolation(isClient ? "the server sent a masked frame" : "the client sent an unmasked frame")
        }
        switch header.opcode {
        case WebSocketFrameHeader.binary where !continuing, WebSocketFrameHeader.continuation where continuing:
            continuing = !header.fin
            bytes.moveReaderIndex(forwardBy: headerSize)
            if header.length > 0 { frame = header }
            return true
        case WebSocketFrameHeader.ping, WebSocketFrameHeader.pong, WebSocketFrameHeader.close:
            guard bytes.readableBytes >= headerSize + header.length else { return false }
            bytes.moveReaderIndex(forwardBy: headerSize)
            let payload = header.unmasked(
                bytes.readSlice(length: header.length) ?? ByteBuffer(), allocator: context.channel.allocator)
            control(header.opcode, payload, context: context)
            return true
        case WebSocketFrameHeader.text:
            throw WebSocketViolation("a text frame (Ice sends binary frames only)")
        case WebSocketFrameHeader.binary, WebSocketFrameHeader.continuation:
            throw WebSocketViolation(
                continuing
                    ? "a binary frame inside a fragmented message" : "a continuation frame with nothing to continue")
        default:
            throw WebSocketViolation("a frame with reserved opcode \(header.opcode)")
        }
    }

    /// Takes what has arrived of the current data frame's payload: a client's, unmasked, into
    /// the read's gathered bytes; a server's (unmasked) passed on as a slice of the read, uncopied.
    private func payload(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        guard var header = frame else { return }
        let count = min(header.length - header.read, bytes.readableBytes)
        let chunk = bytes.readSlice(length: count) ?? ByteBuffer()
        if header.maskKey != nil {
            // (Taken out while written to, so that it is not shared and never copied.)
            var target = gathered ?? context.channel.allocator.buffer(capacity: count + bytes.readableBytes)
            gathered = nil
            header.unmask(chunk, appendingTo: &target)
            gathered = target
        } else {
            context.fireChannelRead(wrapInboundOut(chunk))
        }
        header.read += count
        frame = header.read == header.length ? nil : header
    }

    private func control(_ opcode: UInt8, _ payload: ByteBuffer, context: ChannelHandlerContext) {
        switch opcode {
        case WebSocketFrameHeader.ping:
            // A peer that pings without reading gets no pong while its unread bytes are above the
            // high-water mark: pongs bypass the Ice handler's bound on what it queues.
            guard context.channel.isWritable else { return }
            send(context, WebSocketFrameHeader.pong, payload, promise: nil)
            pongOwed = true
        case WebSocketFrameHeader.close:
            // The peer closes: what came before goes on, the close is answered (RFC 6455
            // §5.5.1), and the connection closes. The Ice handler hears of it now: over TLS the
            // channel stays open until the peer's close_notify, and new requests must not be
            // written into a closed WebSocket meanwhile.
            passOn(context)
            stopped = true
            if !closeSent {
                closeSent = true
                send(context, WebSocketFrameHeader.close, Self.closeAnswer(payload), promise: nil)
                context.flush()
            }
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            context.close(mode: .all, promise: nil)
        default:
            break  // a pong
        }
    }

    /// The answer to a close frame: its status when it is one an endpoint may send, none for
    /// none, else 1002 (a one-byte payload, or a reserved status such as 1005).
    static func closeAnswer(_ payload: ByteBuffer) -> ByteBuffer {
        guard payload.readableBytes > 0 else { return ByteBuffer() }
        var answer = ByteBuffer()
        if payload.readableBytes >= 2, let status = payload.getInteger(at: payload.readerIndex, as: UInt16.self),
            (1000...1003).contains(status) || (1007...1011).contains(status) || (3000...4999).contains(status)
        {
            answer.writeInteger(status)
        } else {
            answer.write(webSocketErrorCode: .protocolError)
        }
        return answer
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Nothing follows a close frame (RFC 6455 §5.5.1).
        guard !closeSent else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        send(context, WebSocketFrameHeader.binary, unwrapOutboundIn(data), promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // Closing: nothing more is read (TLS may keep the channel open a while, for the peer's
        // close_notify).
        if mode == .all { stopped = true }
        if mode == .all, !closeSent, context.channel.isActive {
            closeSent = true
            var status = context.channel.allocator.buffer(capacity: 2)
            status.write(webSocketErrorCode: closeStatus)
            send(context, WebSocketFrameHeader.close, status, promise: nil)
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }

    /// The Ice handler closes the connection, logging why; the close frame says protocol error
    /// (1002, or 1009 for a frame too long), as ZeroC's does.
    private func violation(_ context: ChannelHandlerContext, _ reason: String) {
        stopped = true
        if closeStatus == .normalClosure { closeStatus = .protocolError }
        context.fireErrorCaught(WebSocketViolation(reason))
    }

    private func send(
        _ context: ChannelHandlerContext, _ opcode: UInt8, _ data: ByteBuffer, promise: EventLoopPromise<Void>?
    ) {
        let (header, payload) = WebSocketFrameHeader.encode(
            opcode, data, masked: isClient, allocator: context.channel.allocator)
        if let payload {
            context.write(wrapOutboundOut(header), promise: nil)
            context.write(wrapOutboundOut(payload), promise: promise)
        } else {
            context.write(wrapOutboundOut(header), promise: promise)
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
    /// A frame longer than the connection takes (closed with status 1009, not 1002).
    var isTooLong = false
    init(_ reason: String, isTooLong: Bool = false) {
        self.reason = reason
        self.isTooLong = isTooLong
    }
    var description: String { "WebSocket: \(reason)" }
}
