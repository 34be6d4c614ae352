import FloeCore
import FloeEncoding
import FloeProtocol
import NIOCore

/// Outgoing messages: requests, batches, and the coalesced writing and flushing that requests
/// and replies share.
extension IceConnectionHandler {

    /// Writes and flushes a message, noting the activity for heartbeats and idle closing.
    func write(_ context: ChannelHandlerContext, _ bytes: ByteBuffer) -> EventLoopFuture<Void> {
        lastWrite = .now()
        bytesQueued += Int64(bytes.readableBytes)
        bytesUnreported.sent += bytes.readableBytes
        reportBytes()
        flushScheduled = false
        unflushedBytes = 0
        unflushedMessages = 0
        return context.writeAndFlush(wrapOutboundOut(bytes))
    }

    /// Writes a request or reply given as its prefix and its encapsulation (never copied), or
    /// as one buffer when `body` is nil. The flush is coalesced: messages written during one
    /// pass of the event loop — replies to a burst of requests, a flood of oneways, pipelined
    /// calls — leave in one vectored write. A message nothing else could join (`alone`: a
    /// twoway request while no other awaits its reply, a reply while no other dispatch runs
    /// and no request follows in the read) leaves at once instead: the peer, waiting for it,
    /// starts on it before this side has finished its own bookkeeping (see Docs/benchmark.md,
    /// "Where the TLS latency gap comes from").
    func write(_ context: ChannelHandlerContext, prefix: ByteBuffer, body: ByteBuffer?, alone: Bool = false) {
        lastWrite = .now()
        context.write(wrapOutboundOut(prefix), promise: nil)
        if let body { context.write(wrapOutboundOut(body), promise: nil) }
        let size = prefix.readableBytes + (body?.readableBytes ?? 0)
        bytesQueued += Int64(size)
        bytesUnreported.sent += size
        unflushedBytes += size
        unflushedMessages += 1
        if alone || unflushedBytes >= Self.flushThreshold || unflushedMessages >= Self.flushMessageThreshold {
            flushNow(context)
        } else if !flushScheduled && !reading {
            // (While reading, channelReadComplete flushes: replies to the requests of one read
            // leave together, with no extra pass of the loop.)
            flushScheduled = true
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let handler = bound.value
                if handler.flushScheduled, let context = handler.context { handler.flushNow(context) }
            }
        }
    }

    /// Unflushed bytes above which a write flushes at once rather than at the end of the pass.
    private static let flushThreshold = 64 * 1024
    /// Unflushed messages at which a write flushes at once. Coalescing a whole burst into one
    /// write saves syscalls but makes the peer wait for the end of the burst before it can
    /// start on the first message; sending every few messages lets both sides work at once.
    private static let flushMessageThreshold = 8

    func flushNow(_ context: ChannelHandlerContext) {
        reportBytes()
        flushScheduled = false
        unflushedBytes = 0
        unflushedMessages = 0
        context.flush()
    }

    /// Sends a request: the future of its reply (twoway), or nil once queued.
    func send(
        _ header: RequestHeader, parameters: ByteBuffer, mode: ProxyMode, compress: Bool, requestId: Int32? = nil
    ) -> EventLoopFuture<Reply?> {
        let reply = eventLoop.makePromise(of: Reply?.self)
        do {
            switch try start(
                header, parameters: parameters, mode: mode, compress: compress, replyTo: .promise(reply),
                requestId: requestId)
            {
            case .sent: reply.succeed(nil)
            case .awaitingReply: break
            case .awaitingWritable(let writable): reply.completeWith(writable.map { nil })
            }
        } catch {
            reply.fail(error)
        }
        return reply.futureResult
    }

    /// What a caller waits for once its request is written.
    enum Started {
        /// Nothing: a oneway request, queued on a connection that takes more.
        case sent
        /// The reply, which resumes the waiter given to `start`.
        case awaitingReply
        /// Back-pressure: the connection's outgoing buffer is above its high-water mark, so a
        /// oneway caller waits until it drains instead of queuing without bound.
        case awaitingWritable(EventLoopFuture<Void>)
    }

    /// Writes a request, or queues a batch oneway one. A oneway call is done once its message
    /// is queued on the connection, as in Ice; a write that fails closes the connection, which
    /// later calls report. A twoway request's reply (or failure) goes to `waiter`, which is
    /// left alone when this throws; oneway requests have none. A twoway request uses
    /// `requestId` when the caller took one (to cancel by it), else the next. `compress` asks
    /// for Ice's message compression (see `+Compression`).
    func start(
        _ header: RequestHeader, parameters: ByteBuffer, mode: ProxyMode, compress: Bool = false,
        replyTo waiter: ReplyWaiter?, requestId: Int32? = nil
    ) throws -> Started {
        guard let context, context.channel.isActive, !closing else {
            // Provably not sent: safe to retry whatever the operation's mode.
            throw LocalError.notSent(.connectionLost, "the connection is closed")
        }
        lastActivity = .now()
        hasSentRequest = true
        if mode == .batchOneway || mode == .batchDatagram {
            var stream = InputStream(buffer: parameters, encoding: .v1_0)
            guard let (encoding, content) = try? stream.readEncapsulation() else {
                throw LocalError(.marshal, "malformed parameters")
            }
            let size = BatchRequestSize.entry(header, content: content.readableBytes)
            if transport == .udp && BatchRequestSize.header + size > maxDatagramSize {
                throw LocalError.notSent(
                    .datagramLimit, "a batched request of \(content.readableBytes) bytes does not fit in a udp datagram"
                )
            }
            appendBatched(Request(requestId: 0, header: header, encoding: encoding, parameters: content), compress)
            return .sent
        }
        // The peer closed (or this side failed) but the channel is still open: over ssl it
        // stays so until the TLS shutdown ends. Written now, the request would fail with the
        // channel and count as sent, and a non-idempotent call would not be retried. (A
        // batched request above is only queued: the batch goes to the next connection.)
        guard !readsNoMore else {
            throw LocalError.notSent(.connectionLost, "the connection is closing")
        }
        guard parameters.readableBytes >= 6 else { throw LocalError(.marshal, "malformed parameters") }
        let twoway = mode == .twoway
        let requestId: Int32 = twoway ? (requestId ?? takeRequestId()) : 0
        var header = header
        let codec = compress ? requestCompression : nil
        if codec?.announce == true { header.context[Self.announcementKey] = Self.announcementValue }
        var prefix = MessagePrefix.request(
            requestId: requestId, header: header, encapsulationSize: parameters.readableBytes)
        var body = prefix.append(small: parameters)
        let size = prefix.readableBytes + (body?.readableBytes ?? 0)
        if transport == .udp && size > maxDatagramSize {
            // Checked before compression, as Ice does.
            throw LocalError.notSent(
                .datagramLimit,
                "a \(size)-byte message does not fit in a udp datagram (\(maxDatagramSize) bytes at most)")
        }
        if let codec {
            do {
                (prefix, body) = try compressed(prefix: prefix, body: body, codec: codec.codec)
            } catch {
                throw LocalError.notSent(.marshal, "cannot compress the request: \(error)")
            }
        }
        trace(
            "sent request \(header.operation) on '\(communicator.identityToString(header.identity))', "
                + "request id \(requestId), \(Self.traced(prefix: prefix, body: body, codec: codec?.codec))")
        // Registered before writing: a write that fails at once closes the connection, and
        // closing fails what is pending — this request included.
        if twoway, let waiter {
            let wireSize = prefix.readableBytes + (body?.readableBytes ?? 0)
            if pending.isEmpty { pendingSince = lastActivity }  // (just set: no second clock read)
            pending[requestId] = Outstanding(
                waiter: waiter, messageSize: Int32(clamping: size), end: bytesQueued + Int64(wireSize))
        }
        write(context, prefix: prefix, body: body, alone: twoway && pending.count == 1)
        if twoway { return .awaitingReply }
        guard !context.channel.isWritable else { return .sent }
        flushNow(context)
        // This request is already queued: if the connection fails, it may have been sent.
        return .awaitingWritable(
            whenWritable(context).flatMapErrorThrowing { error in
                guard let error = error as? LocalError else { throw error }
                throw LocalError(error.code, error.message)
            })
    }

    /// The next request id, skipping any still awaiting its reply: after the ids wrap, a call
    /// that has waited 2³¹ calls long must not lose its waiter to a new one.
    func takeRequestId() -> Int32 {
        var id = nextRequestId
        while pending[id] != nil { id = id == Int32.max ? 1 : id + 1 }
        nextRequestId = id == Int32.max ? 1 : id + 1
        return id
    }

    /// Gives up on a twoway request whose caller was cancelled (or timed out): nothing of it
    /// remains, and its reply, should it come, is ignored.
    func cancelRequest(_ requestId: Int32) {
        // Not written yet (waiting for the connection to take more): it never will be, as in
        // Ice, which takes a timed-out request out of its send queue.
        if let waiting = waitingToStart.removeValue(forKey: requestId) {
            waiting.fail(CancellationError())
            return
        }
        guard let outstanding = pending.removeValue(forKey: requestId) else { return }
        outstanding.waiter.resume(.failure(CancellationError()))
        if pending.isEmpty { releaseRepliesDone() }
    }

    /// Adds a request to the batch. The batch so far goes first if this request would take it
    /// past the limit: sent with it, a batch outgrew the peer's message size limit of the same
    /// size (and a datagram, where the whole batch was then lost).
    func appendBatched(_ request: Request, _ compress: Bool) {
        let size = BatchRequestSize.entry(request.header, content: request.parameters.readableBytes)
        if let limit = batchAutoFlushSize, !batch.isEmpty, batchSize + size > limit { _ = flushBatch() }
        batch.append(request)
        if compress { batchCompress = true }
        batchSize += size
        if let limit = batchAutoFlushSize, batchSize >= limit { _ = flushBatch() }
    }

    /// Puts the batch oneway requests a closed connection never sent ahead of this one's,
    /// flushing as the size limit says; false if this connection has closed too.
    func queueFirst(_ unsent: UnsentBatch) -> Bool {
        guard let context, context.channel.isActive, !closing else { return false }
        let (later, laterCompress) = (batch, batchCompress)
        (batch, batchSize, batchCompress) = ([], BatchRequestSize.header, false)
        for request in unsent.requests { appendBatched(request, unsent.compress) }
        for request in later { appendBatched(request, laterCompress) }
        return true
    }

    /// Writes the queued batch oneway requests as one batch-request message.
    func flushBatch() -> EventLoopFuture<Void> {
        // In the closing window (see `start`) the batch stays, for the next connection.
        guard let context, !batch.isEmpty, !readsNoMore else { return eventLoop.makeSucceededVoidFuture() }
        let message = Message.batchRequest(batch)
        trace("sent batch of \(batch.count) requests")
        let compress = batchCompress
        let expectedSize = batchSize
        batch = []
        batchSize = BatchRequestSize.header
        batchCompress = false
        var bytes = message.encode()
        assert(bytes.readableBytes == expectedSize, "batch of \(bytes.readableBytes) bytes, counted \(expectedSize)")
        if transport == .udp && bytes.readableBytes > maxDatagramSize {
            return eventLoop.makeFailedFuture(
                LocalError.notSent(
                    .datagramLimit,
                    "a batch of \(bytes.readableBytes) bytes does not fit in a udp datagram (\(maxDatagramSize) bytes at most)"
                ))
        }
        if compress, let (prefix, body) = try? compressed(prefix: bytes, body: nil, codec: requestCompression.codec) {
            // (Uncompressed if compression failed: the peer must accept that.)
            bytes = prefix
            if var body { bytes.writeBuffer(&body) }
        }
        return write(context, bytes).flatMapErrorThrowing { error in
            throw LocalError(.connectionLost, "\(error)")
        }
    }
}

extension ByteBuffer {
    /// Copies `body` behind this message prefix when it fits in the room the prefix already
    /// has (a ping's parameters, most replies), returning nil; otherwise returns `body`, to be
    /// written as a buffer of its own. One buffer means one pass through the pipeline and one
    /// iovec instead of two; a larger body is never copied.
    mutating func append(small body: ByteBuffer) -> ByteBuffer? {
        guard body.readableBytes <= writableBytes else { return body }
        var body = body
        writeBuffer(&body)
        return nil
    }
}

/// A twoway request awaiting its reply: who waits, and where the request ends in the
/// connection's outgoing byte stream (see `IceConnectionHandler.bytesQueued`).
struct Outstanding {
    let waiter: ReplyWaiter
    /// The request's size before compression: what the peer checks against its
    /// `Ice.MessageSizeMax` (see `failPending`). (Before `end`: it fits in the waiter's padding.)
    let messageSize: Int32
    let end: Int64
}

/// Who waits for a reply: a caller suspended on the connection's own event loop, resumed
/// directly, or a promise for callers elsewhere. (A future per call cost an allocation, a
/// callback and a runtime metadata lookup for `EventLoopFuture<Reply?>` on every request.)
enum ReplyWaiter {
    case continuation(UnsafeContinuation<Reply?, any Error>)
    case promise(EventLoopPromise<Reply?>)

    func resume(_ result: Result<Reply?, any Error>) {
        switch self {
        case .continuation(let continuation): continuation.resume(with: result)
        case .promise(let promise): promise.completeWith(result)
        }
    }
}

/// Sizes in a batch-request message (ice-wire.md §3.4), known before it is encoded.
enum BatchRequestSize {
    /// The message header and the request count.
    static let header = 14 + 4

    /// A request in a batch: its header without a request id, then its encapsulation.
    static func entry(_ header: RequestHeader, content: Int) -> Int {
        func string(_ text: String) -> Int { size(text.utf8.count) + text.utf8.count }
        var bytes = string(header.identity.name) + string(header.identity.category)
        bytes += header.facet.isEmpty ? 1 : 1 + string(header.facet)
        bytes += string(header.operation) + 1
        bytes += size(header.context.count)
        for (key, value) in header.context { bytes += string(key) + string(value) }
        return bytes + 6 + content
    }

    /// The bytes of a size: one below 255, else five.
    private static func size(_ count: Int) -> Int { count < 255 ? 1 : 5 }
}
