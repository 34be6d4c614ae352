import FloeCore
import FloeEncoding
import FloeProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// The Ice protocol on one connection: framing, connection validation, request ids and replies,
/// dispatch of incoming requests to the adapter, active connection management, and graceful
/// or abrupt closure. Everything here runs on the channel's event loop; the dispatch and ACM
/// parts live in the extensions next to this file.
final class IceConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let communicator: Communicator
    /// The communicator's, until `setACM` changes this connection's.
    var options: ConnectionOptions
    /// Dispatches incoming requests; nil answers them with object-not-exist.
    var adapter: ObjectAdapter?
    let isClient: Bool
    /// Whether `ConnectionMetrics` counted this connection open (refused ones never are).
    var countedOpen = false
    /// A ws or wss server connection's place against `MaxConnections`, handed over by its
    /// upgrade: registering the connection takes it (see `ObjectAdapter.reserveOpening`).
    var holdsOpening = false
    /// Bytes read and written since `ConnectionMetrics` was last told: it is told once per
    /// read pass and per flush, not per message.
    var bytesUnreported = (received: 0, sent: 0)

    func reportBytes() {
        guard let metrics = communicator.connectionMetrics else { return }
        if bytesUnreported.received > 0 { metrics.received(bytes: bytesUnreported.received) }
        if bytesUnreported.sent > 0 { metrics.sent(bytes: bytesUnreported.sent) }
        bytesUnreported = (0, 0)
    }
    var logger: Logger
    let eventLoop: any EventLoop
    var context: ChannelHandlerContext?
    /// The `Connection` the runtime sees; dropped when the channel goes away.
    private(set) var connection: NIOConnection?
    private let validation: EventLoopPromise<Void>
    private(set) var isValidated = false
    var nextRequestId: Int32 = 1
    /// Whether any request went out on this connection (see idle closing in `+ACM`).
    var hasSentRequest = false
    /// Twoway requests waiting for their reply, by request id.
    var pending: [Int32: Outstanding] = [:]
    /// Bytes handed to the channel since it opened. Less what the channel still buffers, they
    /// are the bytes that reached the socket: a request whose end lies beyond never left.
    var bytesQueued: Int64 = 0
    /// Twoway requests that wait for the connection to take more before they are written (see
    /// `NIOConnection.send`); one cancelled meanwhile leaves it and is never written.
    var waitingToStart: [Int32: EventLoopPromise<Reply?>] = [:]
    /// Graceful closes waiting for `pending` to empty.
    var repliesDone: [EventLoopPromise<Void>] = []
    /// Set once a graceful close stops taking requests (see `closeGracefully`): none is
    /// dispatched from then on.
    var closing = false
    /// Set once a graceful close has its replies and waits only for running dispatches: the
    /// close timeout no longer applies.
    var drainingDispatches = false
    /// Batch oneway requests waiting for a flush, and the size of their batch message.
    var batch: [Request] = []
    var batchSize = BatchRequestSize.header
    /// The largest batch message sent without a flush (`Ice.BatchAutoFlushSize`; over udp, a
    /// datagram at most); nil: no limit.
    var batchAutoFlushSize: Int? {
        let configured = options.batchAutoFlushSize
        if transport == .udp { return configured > 0 ? min(configured, maxDatagramSize) : maxDatagramSize }
        return configured > 0 ? configured : nil
    }
    /// Requests (or batches) being dispatched, and who waits for them to finish.
    var dispatchCount = 0
    /// Dispatch tasks still running (see `+Dispatch`), by slot.
    var runningDispatches: [Int: (task: Task<Void, Never>, adapter: ObjectAdapter)] = [:]
    var nextDispatchSlot = 0
    var startingSlot: Int?
    var finishedWhileStarting = false
    var dispatchesDone: [EventLoopPromise<Void>] = []
    /// Requests that cannot be dispatched yet (see `+FlowControl`), in arrival order, and
    /// what they count against `Floe.Connection.MaxQueuedBytes`. (The smallest buffer to start
    /// with, growing as it fills: NIO's default room for 16 requests was 2.4 KB on every
    /// connection, a third of an idle one's memory, for a queue most connections never use.)
    var waiting = CircularBuffer<Waiting>(initialCapacity: 1)
    var waitingCost = 0
    /// Whether reading stopped because too many requests wait.
    var readPaused = false
    /// Bytes inflated since the event loop last served anything else, and whether this
    /// connection waits for its next turn (see `yieldAfterInflating`).
    var inflatedThisTurn = 0
    var yielding = false
    /// Set once close-connection is on its way: nothing may follow it, heartbeats included.
    var sentCloseConnection = false
    /// Set once close-connection has been written: the connection reads on until the peer
    /// closes (see `sendCloseConnection`).
    var awaitingPeerClose = false
    /// The graceful close under way, once `closeGracefully` has started one.
    var gracefulClose: EventLoopFuture<Void>?
    /// Set once the peer has closed its side: the frames kept while reading was paused are
    /// decoded for their replies and close-connection only.
    var draining = false
    /// Bytes of object-not-exist replies written by a connection without an adapter and not
    /// yet taken by the kernel (see `rejectRequest`).
    var refusalBytesPending = 0
    /// Whether the communicator's dispatch gate will wake this connection.
    var waitingForGate = false
    /// Set while this connection waits for its adapter to stop holding requests.
    var waitingForActivation = false
    /// Watches waiting requests for a dispatch limit that no longer moves (see `+FlowControl`).
    var dispatchStall: Scheduled<Void>?
    var dispatchStallReported = false
    /// Closes the connection if the peer reads nothing for `Floe.Connection.WriteStallTimeout`.
    var writeStall: Scheduled<Void>?
    /// For heartbeats and idle closing.
    var lastWrite = NIODeadline.now()
    var lastRead = NIODeadline.now()
    /// When `pending` last went from empty to not: the peer owes a reply since then.
    var pendingSince = NIODeadline.now()
    var lastActivity = NIODeadline.now()
    var monitor: RepeatedTask?
    /// Coalesced flushing (see `write(_:prefix:body:alone:)`).
    var flushScheduled = false
    /// While a frame read is handled: nothing follows it in the bytes read, so a reply to it
    /// that is ready at once has nothing to wait for.
    var readEndsWithThisRequest = false
    /// Between channelRead and channelReadComplete.
    var reading = false
    var writabilityWaiters: [EventLoopPromise<Void>] = []
    var unflushedBytes = 0
    /// Splits the byte stream into messages. Framing happens here rather than in a
    /// `ByteToMessageHandler` in front: that generic handler looked up type metadata and wrapped
    /// every frame in `NIOAny` for one more pipeline hop, a measurable part of a small call.
    private let frameDecoder: IceFrameDecoder
    /// The start of a message whose end has not arrived yet.
    private var partialFrame: ByteBuffer?
    var unflushedMessages = 0
    /// Whether the peer reads zlib-compressed messages; nil until it shows (see `+Compression`).
    var peerReadsZlib: Bool?
    /// Whether a queued batch oneway request asked for compression: the batch is compressed.
    var batchCompress = false

    /// tcp, ssl (TLS handlers in front of this one), ws or wss (an HTTP upgrade, then
    /// WebSocket frames, in front of this one).
    let transport: EndpointData.Transport
    /// Whether `fail` closed the connection.
    private var failed = false
    /// Whether nothing more is read: `fail` closed the connection, or the peer sent
    /// close-connection. Over ssl the channel stays active until close_notify, and what
    /// follows, in the same read or later ones, is neither dispatched nor answered.
    private(set) var readsNoMore = false

    /// Where `fail` leaves its error for whoever opened the connection (see
    /// `NIOTransport.connect`), should the channel close before they find this handler.
    private let closeReason: NIOLockedValueBox<LocalError?>?

    init(
        communicator: Communicator, adapter: ObjectAdapter?, eventLoop: any EventLoop, logger: Logger,
        transport: EndpointData.Transport = .tcp, closeReason: NIOLockedValueBox<LocalError?>? = nil
    ) {
        self.transport = transport
        self.closeReason = closeReason
        self.communicator = communicator
        self.options = communicator.connectionOptions
        self.adapter = adapter
        self.isClient = adapter == nil
        self.eventLoop = eventLoop
        self.validation = eventLoop.makePromise()
        self.logger = logger
        self.frameDecoder = IceFrameDecoder(maxMessageSize: communicator.messageSizeMax)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        connection = NIOConnection(
            channel: context.channel, handler: NIOLoopBound(self, eventLoop: context.eventLoop),
            communicator: communicator, incoming: !isClient, transport: transport)
        if context.channel.isActive { connection?.rememberAddresses() }
        logger[metadataKey: "peer"] =
            "\(context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?")"
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if holdsOpening { adapter?.releaseOpening() }
        holdsOpening = false
        // A channel that never became active gets no channelInactive: settle everything here.
        failPending(LocalError(.connectionLost, "the connection closed"))
        validation.fail(LocalError.notSent(.connectionLost, "the connection closed before it was validated"))
        self.context = nil
        connection = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        connection?.rememberAddresses()
        // (A client's channel has no remote address until it connects.)
        if isClient, let remote = context.channel.remoteAddress {
            logger[metadataKey: "peer"] = "\(remote.ipAddress ?? "?"):\(remote.port ?? 0)"
        }
        // (A udp server's channel is its endpoint, traced as listening.)
        if options.traceNetwork >= 1 && (isClient || transport != .udp) {
            logger.info(
                "\(isClient ? "established" : "accepted") \(transport.name) connection \(connection?.description ?? "")"
            )
        }
        let consumingOpening = holdsOpening
        holdsOpening = false
        if let adapter, let connection, !adapter.register(connection, consumingOpening: consumingOpening) {
            if !adapter.isDeactivated { adapter.reportRefusal(logger) }  // (else it is not full, but closing)
            return context.close(promise: nil)
        }
        if let connection, !communicator.liveConnections.add(connection, incoming: !isClient) {
            return context.close(promise: nil)  // (the communicator is aborting its connections)
        }
        communicator.connectionMetrics?.opened(incoming: !isClient)
        countedOpen = true
        if transport == .udp {
            // No validation, heartbeats or idle closing over udp, as in Ice: a server's channel
            // is its endpoint, and a client's sends datagrams only.
            isValidated = true
            validation.succeed()
        } else if !isClient {
            startMonitor(context)
            // The server speaks first: one validate-connection message.
            trace("sent validate connection")
            _ = write(context, Message.validateConnection.encode())
            isValidated = true
            validation.succeed()
        } else {
            startMonitor(context)
        }
        context.fireChannelActive()
    }

    /// Succeeds once the server's validate-connection has arrived (clients) or at once (servers).
    var validated: EventLoopFuture<Void> { validation.futureResult }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        inflatedThisTurn = 0
        reportBytes()
        if unflushedBytes > 0 { flushNow(context) }
        context.fireChannelReadComplete()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A connection being closed for an error reads no further: on ssl, the close waits for
        // the peer's close_notify while its data keeps arriving, out of step with the framing.
        guard !readsNoMore else { return }
        reading = true
        lastRead = .now()
        var bytes = unwrapInboundIn(data)
        bytesUnreported.received += bytes.readableBytes
        if var partial = partialFrame {
            partialFrame = nil
            partial.writeBuffer(&bytes)
            bytes = partial
        }
        decodeFrames(&bytes, context: context)
    }

    /// Handles the whole frames in `bytes` and keeps the rest. Paused reading (see
    /// `+FlowControl`) pauses this too: the frames of one read can cost far more than their
    /// bytes (each compressed one may inflate to `Ice.MessageSizeMax`; each request to a pure
    /// client calls for a reply echoing it), so the bound would otherwise be overshot by a
    /// whole read's worth of them.
    private func decodeFrames(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        do {
            while !readPaused || draining, let frame = try frameDecoder.decodeFrame(&bytes) {
                readEndsWithThisRequest = bytes.readableBytes == 0
                received(frame, context: context)
                readEndsWithThisRequest = false
                if inflatedThisTurn >= Self.inflatedPerTurn, !draining { yieldAfterInflating(context) }
                // A message may close the connection (a protocol error, close-connection).
                guard !readsNoMore, context.channel.isActive, self.context != nil else { return }
            }
        } catch {
            return fail(context, "\(error)")
        }
        // Keep only the unread bytes (not the whole receive buffer, which frames handed to
        // dispatch may share).
        if bytes.readableBytes > 0 { partialFrame = bytes.slice() }
    }

    /// Reading resumed: the frames kept while it was paused come first (the peer may be
    /// waiting for their replies and send nothing more).
    func decodeKeptFrames(_ context: ChannelHandlerContext) {
        // (Inside `decodeFrames`, `partialFrame` is nil: its loop goes on by itself.)
        guard !readPaused || draining, !readsNoMore, var bytes = partialFrame else { return }
        partialFrame = nil
        decodeFrames(&bytes, context: context)
    }

    private func received(_ compressedFrame: Frame, context: ChannelHandlerContext) {
        var frame = compressedFrame
        if !isValidated {
            guard frame.header.type == .validateConnection else {
                return fail(context, "connection not validated: first message is a \(frame.header.type)")
            }
            trace("received validate connection")
            isValidated = true
            // Idleness counts from here: the caller that opened the connection is about to use it.
            lastActivity = lastRead
            validation.succeed()
            return
        }
        // (The peer has gone, or this side is closing: nothing more is dispatched, nor
        // inflated to be. Requests arriving then are dropped, see `closeGracefully`.)
        if draining || closing, frame.header.type == .request || frame.header.type == .batchRequest { return }
        let status = frame.header.compression
        var codec: MessageCodec?
        if status == .compressed {
            do {
                (frame, codec) = try Self.inflate(frame, maxMessageSize: communicator.messageSizeMax)
                inflatedThisTurn += frame.body.readableBytes
            } catch {
                return fail(context, "bad compressed \(frame.header.type) message: \(error)")
            }
        }
        if frame.header.type == .batchRequest {
            // Decoded entry by entry as it is dispatched (see BatchRequestReader).
            do {
                let batch = try BatchRequestReader(body: frame.body)
                lastActivity = lastRead  // the time its bytes were read; no second clock read
                trace("received batch of \(batch.count) requests")
                return dispatchBatch(batch, context: context)
            } catch {
                return fail(context, "malformed batch request message: \(error)")
            }
        }
        if frame.header.type == .request {
            do {
                var request = try Request.decode(messageBody: frame.body)
                return received(
                    &request, status: status, codec: codec, wireSize: compressedFrame.header.messageSize,
                    context: context)
            } catch {
                return fail(context, "malformed request message: \(error)")
            }
        }
        let message: Message
        do {
            message = try Message.decode(type: frame.header.type, body: frame.body)
        } catch {
            return fail(context, "malformed \(frame.header.type) message: \(error)")
        }
        switch message {
        case .validateConnection:
            trace("received heartbeat")
        case .closeConnection where transport == .udp:
            trace("ignored close connection (udp)")
        case .closeConnection:
            trace("received close connection")
            readsNoMore = true
            failPending(LocalError(.closeConnection, "the peer closed the connection"))
            context.close(promise: nil)
        case .reply(let reply):
            lastActivity = lastRead  // the time its bytes were read; no second clock read
            trace(
                "received reply, request id \(reply.requestId), status \(reply.status), "
                    + Self.traced(size: compressedFrame.header.messageSize, status: status, codec: codec, reply: true))
            learnCodec(fromReplyIn: codec)
            // A reply to nothing outstanding is ignored, as ZeroC does.
            if let outstanding = pending.removeValue(forKey: reply.requestId) {
                outstanding.waiter.resume(.success(reply))
                if pending.isEmpty { releaseRepliesDone() }
            }
        case .request, .batchRequest:
            break  // handled above
        }
    }

    private func received(
        _ request: inout Request, status: CompressionStatus, codec: MessageCodec?, wireSize: Int,
        context: ChannelHandlerContext
    ) {
        lastActivity = lastRead  // the time its bytes were read; no second clock read
        // Over udp a request is oneway whatever its id, as in Ice: no reply goes back.
        if transport == .udp { request.requestId = 0 }
        trace(
            "received request \(request.header.operation) on "
                + "'\(communicator.identityToString(request.header.identity))', request id \(request.requestId), "
                + Self.traced(size: wireSize, status: status, codec: codec))
        let replyCodec = replyCodec(for: &request, status: status, receivedIn: codec)
        dispatch(request, replyCodec: replyCodec, context: context)
    }

    /// Once no reply is outstanding and no dispatch is running, sends close-connection and
    /// closes. While this side's own calls are outstanding, requests are still dispatched, as
    /// during Ice's `close(GracefullyWithWait)`: the peer may need an answer (a callback on a
    /// bidirectional connection) before it replies, and dropping it held the close until its
    /// timeout. (One level: what those dispatches call over this connection fails, as it takes
    /// no new calls.) Requests stop being taken earlier if they would stop reading (a held
    /// adapter's, past `MaxQueuedBytes`): the replies must still arrive. From then on, requests
    /// arriving are dropped: close-connection tells the peer that they were not dispatched, so
    /// it retries them elsewhere. The wait for this side's replies is bounded by the close
    /// timeout; the wait for running dispatches is not, as in Ice.
    func closeGracefully() -> EventLoopFuture<Void> {
        guard let context, context.channel.isActive else { return eventLoop.makeSucceededVoidFuture() }
        // A second close (the application's beside a deactivation's) joins the first: one
        // close-connection, one timer.
        if let gracefulClose { return gracefulClose }
        let done = eventLoop.makePromise(of: Void.self)
        gracefulClose = done.futureResult  // (first: the kept frames decoded below may close too)
        connection?.markEnding()
        updateReading(context)  // (paused by waiting requests: they go now, see `updateReading`)
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        if pending.isEmpty {
            stopTakingRequests(then: done)
        } else {
            let replies = eventLoop.makePromise(of: Void.self)
            repliesDone.append(replies)
            replies.futureResult.whenComplete { _ in bound.value.stopTakingRequests(then: done) }
        }
        if options.closeTimeout > 0, !sentCloseConnection {
            // A reply that never comes must not keep the connection open forever.
            let limit = options.closeTimeout
            let timer = context.eventLoop.scheduleTask(in: .seconds(Int64(limit))) {
                let handler = bound.value
                // Once close-connection is out, its own bound applies (see `sendCloseConnection`).
                guard !handler.sentCloseConnection else { return }
                // Running dispatches are waited for however long they take, as in Ice (a server
                // cut them off after 10 s, and their callers saw the connection lost though the
                // work was done); `Communicator.abortConnections()` ends them. (Not `closing`:
                // a close still waiting for replies sets it when requests queue up.)
                guard !handler.drainingDispatches else { return }
                defer { done.succeed() }  // whatever happened meanwhile, the close is over
                guard let context = handler.context, context.channel.isActive else { return }
                handler.fail(context, "graceful close did not finish within \(limit) s", code: .connectionLost)
            }
            // Left to fire, the timer would hold this handler, and through it the communicator,
            // for the whole timeout after every close.
            done.futureResult.whenComplete { _ in timer.cancel() }
        }
        return done.futureResult
    }

    /// The second step of a graceful close: requests are dropped from here on; close-connection
    /// goes once the running dispatches have replied.
    private func stopTakingRequests(then done: EventLoopPromise<Void>) {
        // (A connection failed meanwhile, its close timed out, say, sends nothing more.)
        guard let context, context.channel.isActive, !failed else { return done.succeed() }
        closing = true
        drainingDispatches = true
        waiting.removeAll()
        waitingCost = 0
        updateReading(context)  // replies to this side's requests must still arrive
        guard dispatchCount > 0 else { return sendCloseConnection(then: done) }
        let dispatches = eventLoop.makePromise(of: Void.self)
        dispatchesDone.append(dispatches)
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        dispatches.futureResult.whenComplete { _ in bound.value.sendCloseConnection(then: done) }
    }

    private func sendCloseConnection(then done: EventLoopPromise<Void>) {
        guard let context, context.channel.isActive, !failed else { return done.succeed() }
        guard transport != .udp else {
            // Nothing to tell a udp peer (Ice sends no close-connection over udp).
            context.close(promise: nil)
            return done.succeed()
        }
        trace("sent close connection")
        // Closed once the peer closes, after reading close-connection, as Ice's closing side
        // does: closing at once dropped what the kernel had not taken yet (a large last reply
        // to a peer reading slowly, and the close-connection itself), and closing as soon as
        // it was written did too, whenever the peer sent anything more before reading it (a
        // request or a heartbeat reaching a closed socket resets the connection, which drops
        // what the kernel still had to send). Bounded by the close timeout (else the
        // write-stall timeout), for a peer that reads nothing more or never closes.
        sentCloseConnection = true
        let limit = options.closeTimeout > 0 ? options.closeTimeout : options.writeStallTimeout
        guard limit > 0 else {
            // No bound for the wait: closed at once, as before.
            context.writeAndFlush(wrapOutboundOut(Message.closeConnection.encode()), promise: nil)
            context.close(promise: nil)
            return done.succeed()
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(Message.closeConnection.encode()), promise: written)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let timer = context.eventLoop.scheduleTask(in: .seconds(Int64(limit))) {
            let handler = bound.value
            guard let context = handler.context, context.channel.isActive else { return }
            if handler.awaitingPeerClose {
                // Everything was written; the peer just never closed. (Ice's close timeout.)
                handler.trace("closed: the peer did not close within \(limit) s of close connection")
                return context.close(promise: nil)
            }
            handler.fail(
                context, "the peer did not read what was left to send within \(limit) s of the close",
                code: .connectionLost)
        }
        context.channel.closeFuture.whenComplete { _ in
            timer.cancel()
            done.succeed()
        }
        written.futureResult.whenComplete { result in
            let handler = bound.value
            guard case .success = result, let context = handler.context, context.channel.isActive else {
                handler.context?.close(promise: nil)
                return
            }
            // Reading goes on, whatever paused it, so that the peer's end arrives (and a
            // close-connection of its own, when both ends close at once).
            handler.awaitingPeerClose = true
            handler.updateReading(context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        monitor?.cancel()
        monitor = nil
        writeStall?.cancel()
        dispatchStall?.cancel()
        if options.traceNetwork >= 1 {
            logger.info("closed \(transport.name) connection \(connection?.description ?? "")")
        }
        // Running dispatches are cancelled, and counted by their adapters until they end, before
        // the adapter forgets the connection: a deactivation in between would see neither.
        cancelDispatches()
        if let adapter, let connection { adapter.unregister(connection) }
        if let connection { communicator.liveConnections.remove(connection) }
        // Requests still waiting (for a held adapter, or a dispatch place) will never run.
        adapter?.stopWaking(ObjectIdentifier(self))  // (whatever the flag says: one lock)
        if waitingForGate { communicator.dispatchGate.stopWaiting(ObjectIdentifier(self)) }
        waiting.removeAll()
        waitingCost = 0
        // Batch oneway requests never sent go to the next connection (`takeUnsentBatch`); an
        // accepted connection has no next one.
        if !batch.isEmpty, isClient {
            connection?.keepUnsent(UnsentBatch(requests: batch, compress: batchCompress))
            batch = []
            batchSize = BatchRequestSize.header
            batchCompress = false
        }
        reportBytes()
        if countedOpen { communicator.connectionMetrics?.closed(incoming: !isClient) }
        countedOpen = false
        failPending(LocalError(.connectionLost, "the connection was lost"), peerLost: true)
        validation.fail(LocalError.notSent(.connectionLost, "the connection closed before it was validated"))
        // A graceful close waiting for the (cancelled) dispatches is over: their replies have
        // nowhere to go.
        let closes = dispatchesDone
        dispatchesDone = []
        for close in closes { close.succeed() }
        context.fireChannelInactive()
    }

    /// The peer closed its side (the channel allows half-closure so that this arrives while
    /// the unsent part of the outgoing buffer can still be told apart): the connection is lost.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let upgraded = event as? WebSocketUpgraded {
            connection?.setHeaders(upgraded.headers)
            return
        }
        if let verified = event as? TLSPeerVerified {
            connection?.setTLS(verified.info)
            if options.traceNetwork >= 1 {
                logger.info(
                    "TLS \(verified.info.protocolVersion) with \(verified.info.subject ?? "a peer without certificate")"
                )
            }
            return
        }
        guard case ChannelEvent.inputClosed = event else { return context.fireUserInboundEventTriggered(event) }
        if options.traceNetwork >= 1 {
            logger.info("the peer closed \(transport.name) connection \(connection?.description ?? "")")
        }
        // Frames kept while reading was paused arrived before the end: their replies and a
        // close-connection still count (callers would hear connectionLost instead, and a
        // non-idempotent call could not be retried). Their requests are not queued: this
        // connection dispatches nothing more.
        if partialFrame != nil, !readsNoMore {
            draining = true
            decodeKeptFrames(context)
        }
        failPending(LocalError(.connectionLost, "the peer closed the connection"), peerLost: true)
        validation.fail(LocalError.notSent(.connectionLost, "the peer closed the connection before validating it"))
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let closing = ClosingReason(error)
        fail(context, closing.reason, code: closing.code, logLevel: closing.logLevel, peerLost: true)
    }

    /// Drops the connection for a protocol violation; only this connection suffers.
    func fail(
        _ context: ChannelHandlerContext, _ reason: String, code: LocalError.Code = .protocolError,
        logLevel: Logger.Level = .warning, peerLost: Bool = false
    ) {
        guard !failed else { return }
        if transport == .udp {
            // A bad datagram (or a socket error, as after an ICMP port unreachable) loses
            // nothing but itself: the channel serves, or sends for, every other datagram.
            return ClosingReason("dropped a datagram: \(reason)", code: .connectionLost).log(
                logger, communicator, warnConnections: options.warnConnections, what: "udp")
        }
        ClosingReason(reason, code: code, logLevel: logLevel).log(
            logger, communicator, warnConnections: options.warnConnections)
        failed = true
        readsNoMore = true
        closeReason?.withLockedValue { $0 = LocalError(code, reason) }
        failPending(LocalError(code, reason), peerLost: peerLost)
        validation.fail(LocalError.notSent(code, reason))
        context.close(promise: nil)
    }

    /// Fails the requests awaiting replies, and the callers waiting to write theirs. Called
    /// while the channel is still open, it tells the requests that never reached the socket
    /// (still in the channel's buffer) from those that may have reached the peer: only the
    /// latter are subject to the operation's idempotency when the call is retried.
    /// `peerLost`: the peer closed or reset the connection (see `explained`).
    func failPending(_ error: LocalError, peerLost: Bool = false) {
        connection?.markEnding()
        let outstanding = pending
        pending = [:]
        let notSent = LocalError.notSent(error.code, error.message)
        let sent = bytesSent()
        for request in outstanding.values {
            let reached = sent.map { request.end <= $0 } ?? true
            let failure = reached ? error : notSent
            request.waiter.resume(.failure(peerLost ? Self.explained(failure, request) : failure))
        }
        releaseRepliesDone()
        releaseWritabilityWaiters(notSent)
    }

    /// A lost connection after a request larger than Ice's default `Ice.MessageSizeMax` (1 MiB)
    /// says so: a peer refuses such a message by closing the connection, which a ZeroC client
    /// reports as a bare connection loss.
    /// (The peer closes at the header, often with the rest of the request still in this side's
    /// buffer: a request counted as not sent is explained too, and keeps that flag.)
    static func explained(_ error: LocalError, _ request: Outstanding) -> LocalError {
        guard error.code == .connectionLost, request.messageSize > 1 << 20 else { return error }
        var explained = error
        explained.message +=
            ", after a \(request.messageSize)-byte request (over 1 MiB, the default Ice.MessageSizeMax: the peer may have refused it for its size)"
        return explained
    }

    /// The bytes that have left through the socket, while the channel is open; nil when that
    /// cannot be known, which counts all as sent: the channel closed and dropped its buffer, or
    /// the connection is not tcp. There the channel buffers TLS records or WebSocket frames,
    /// each bigger than the message bytes it carries, so subtracting them from the plaintext queued would call requests
    /// the peer may have read and dispatched not-sent, and retry them whatever their mode.
    private func bytesSent() -> Int64? {
        guard transport == .tcp, let context, context.channel.isActive,
            let buffered = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)
        else { return nil }
        return bytesQueued - Int64(buffered)
    }

    /// Fails this side's calls awaiting replies, and those waiting to be written, with `error`
    /// (see `Connection.close(failingCalls:)`); replies that come later are ignored.
    func failOutstandingCalls(_ error: LocalError) {
        let (outstanding, unwritten) = (pending, waitingToStart)
        (pending, waitingToStart) = ([:], [:])
        for request in outstanding.values { request.waiter.resume(.failure(error)) }
        for reply in unwritten.values { reply.fail(error) }
        releaseRepliesDone()
    }

    func releaseRepliesDone() {
        let done = repliesDone
        repliesDone = []
        for promise in done { promise.succeed() }
    }

    /// `Ice.Trace.Protocol` output.
    func trace(_ message: @autoclosure () -> String) {
        if options.traceProtocol >= 1 { logger.info("\(message())") }
    }

    /// The protocol trace's account of a message: its size on the wire and its compression
    /// status (what ZeroC's trace shows as "compression status"), `codec` naming a compressed
    /// message's codec. (Status 1, "a compressed reply is welcome", means nothing on a reply.)
    static func traced(size: Int, status: CompressionStatus, codec: MessageCodec?, reply: Bool = false) -> String {
        switch status {
        case .notCompressed: "\(size) bytes"
        case .compressionSupported: reply ? "\(size) bytes" : "\(size) bytes, not compressed, compressed reply welcome"
        case .compressed: "\(size) bytes, compressed (\(codec.map { "\($0)" } ?? "unknown codec"))"
        }
    }

    /// `traced(size:status:codec:)` of a message about to be written, from its header.
    static func traced(prefix: ByteBuffer, body: ByteBuffer?, codec: MessageCodec?) -> String {
        let type = prefix.getInteger(at: prefix.readerIndex + 8, as: UInt8.self)
        let byte = prefix.getInteger(at: prefix.readerIndex + 9, as: UInt8.self) ?? 0
        return traced(
            size: prefix.readableBytes + (body?.readableBytes ?? 0),
            status: CompressionStatus(rawValue: byte) ?? .notCompressed, codec: codec,
            reply: type == MessageType.reply.rawValue)
    }
}

extension ObjectAdapter {
    /// Logs that a connection was refused for `NAME.MaxConnections` (at most once per 10 s).
    func reportRefusal(_ logger: Logger) {
        guard shouldReportRefusal() else { return }
        logger.warning(
            "refusing connection: adapter '\(name)' has \(maxConnections) connections (\(name).MaxConnections)")
    }
}
