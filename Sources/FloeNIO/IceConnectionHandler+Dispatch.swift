import FloeCore
import FloeEncoding
import FloeProtocol
import Logging
import NIOCore

/// Incoming requests: each is dispatched in a task of its own (requests on one connection run
/// concurrently, as with ZeroC's thread pools). A request waits here, in arrival order, while
/// `Ice.Connection.MaxDispatches` dispatches run or while the peer is not reading what this
/// connection already has to send (see `+FlowControl`).
extension IceConnectionHandler {
    /// A request, or a batch of them, that arrived while it could not be dispatched.
    enum Waiting {
        /// A request, and how its reply is compressed (nil: not at all).
        case request(Request, ReplyCompression?)
        case batch(BatchRequestReader)

        /// The same request holding copies of its bytes. A request decoded from a read shares
        /// that read's whole buffer; the copy makes what it holds what it is counted as.
        func compacted() -> Waiting {
            switch self {
            case .request(var request, let codec):
                // The parameters are the content of the encapsulation: copy the encapsulation
                // and take the parameters from the copy.
                if let encapsulation = request.encapsulation {
                    let copy = ByteBuffer(bytes: encapsulation.readableBytesView)
                    request.encapsulation = copy
                    request.parameters =
                        copy.getSlice(at: copy.readerIndex + 6, length: copy.readableBytes - 6) ?? ByteBuffer()
                } else {
                    request.parameters = ByteBuffer(bytes: request.parameters.readableBytesView)
                }
                return .request(request, codec)
            case .batch(let batch):
                return .batch(batch.compacted())
            }
        }

        /// What a waiting request is counted as against `Floe.Connection.MaxQueuedBytes`: its
        /// bytes, its header's strings (a peer may send empty parameters with a megabyte of
        /// context), and a fixed cost for the values decoded from them.
        var cost: Int {
            switch self {
            case .request(let request, _): request.parameters.readableBytes + Self.cost(of: request.header) + 256
            case .batch(let batch): batch.remainingBytes + 256
            }
        }

        private static func cost(of header: RequestHeader) -> Int {
            var bytes = header.identity.name.utf8.count + header.identity.category.utf8.count
            bytes += header.facet.utf8.count + header.operation.utf8.count
            // A dictionary entry costs about 32 bytes besides its strings.
            for (key, value) in header.context { bytes += key.utf8.count + value.utf8.count + 32 }
            return bytes
        }
    }

    /// Waiting requests that may share their read's buffer: at most this many buffers (64 KiB
    /// each at most, NIO's largest read) are held beyond what `MaxQueuedBytes` counts.
    static let uncopiedWaitingRequests = 64

    var atDispatchLimit: Bool { options.maxDispatches > 0 && dispatchCount >= options.maxDispatches }

    /// Whether a request may start now: below the connection's dispatch limit, the peer is
    /// reading what this connection writes (a reply written now would only queue), the adapter
    /// is not holding requests, and the communicator has a place (taken here: the caller must
    /// start a dispatch when this is true).
    func mayDispatch(_ context: ChannelHandlerContext) -> Bool {
        guard !atDispatchLimit, context.channel.isWritable else { return false }
        if let adapter, adapter.isHoldingRequests {
            waitForActivation(of: adapter, context)
            return false
        }
        if communicator.dispatchGate.tryEnter() { return true }
        waitForGate(context)
        return false
    }

    /// Asks the communicator's gate to wake this connection when a place frees up (once).
    private func waitForGate(_ context: ChannelHandlerContext) {
        guard !waitingForGate else { return }
        waitingForGate = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let gate = communicator.dispatchGate
        gate.notifyWhenOpen(ObjectIdentifier(self)) {
            loop.execute {
                let handler = bound.value
                handler.waitingForGate = false
                let started = handler.dispatchCount
                if let context = handler.context, !handler.waiting.isEmpty { handler.startWaiting(context) }
                // The place this was woken for goes to the next connection unless taken here
                // (or by another first: then this waits again).
                if handler.dispatchCount == started, !handler.waitingForGate { gate.passOn() }
            }
        }
    }

    /// Asks `adapter` to wake this connection once it stops holding requests (once).
    private func waitForActivation(of adapter: ObjectAdapter, _ context: ChannelHandlerContext) {
        guard !waitingForActivation else { return }
        waitingForActivation = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        adapter.wakeWhenNotHolding(ObjectIdentifier(self)) {
            loop.execute {
                let handler = bound.value
                handler.waitingForActivation = false
                if let context = handler.context, !handler.waiting.isEmpty { handler.startWaiting(context) }
            }
        }
    }

    /// The connection's adapter changed from `old` (`setAdapter`): what waited for `old` to
    /// stop holding requests waits for the new one, or, with no adapter now, is answered as
    /// requests to no adapter are.
    func adapterChanged(from old: ObjectAdapter?) {
        if waitingForActivation {
            old?.stopWaking(ObjectIdentifier(self))
            waitingForActivation = false
        }
        guard let context, !waiting.isEmpty else { return }
        guard adapter == nil else { return startWaiting(context) }
        let queued = waiting
        waiting.removeAll()
        waitingCost = 0
        for case .request(let request, _) in queued { rejectRequest(request, context: context) }
        updateReading(context)
    }

    func dispatch(_ request: Request, replyCodec: ReplyCompression?, context: ChannelHandlerContext) {
        guard !closing else { return }  // see closeGracefully
        guard let adapter else { return rejectRequest(request, context: context) }
        guard waiting.isEmpty, mayDispatch(context) else {
            return wait(.request(request, replyCodec), context: context)
        }
        start(request, replyCodec: replyCodec, adapter: adapter, context: context)
    }

    private func start(
        _ request: Request, replyCodec: ReplyCompression?, adapter: ObjectAdapter, context: ChannelHandlerContext
    ) {
        let incoming = incomingRequest(request, adapter: adapter)
        let requestId = request.requestId
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        dispatchCount += 1
        let start = beginDispatchTask()
        let slot = start.slot
        // Runs on this event loop until the servant first suspends: a servant that completes
        // without suspending is dispatched and answered with no thread switch at all.
        // (`incoming` moves into the task: captured as is, it was copied and the copy's
        // original released, a reference count for each of its strings and buffers.)
        let task = Task.immediate { [incoming = consume incoming] in
            var reply: ReplyMessage? = await adapter.dispatchToReplyMessage(incoming)
            if requestId == 0 { reply = nil }  // (not `? nil : message`, which copied it)
            if loop.inEventLoop {
                bound.value.dispatchFinished(reply: reply, codec: replyCodec, slot: slot)
            } else {
                loop.execute { [reply] in bound.value.dispatchFinished(reply: reply, codec: replyCodec, slot: slot) }
            }
        }
        endDispatchTaskStart(start, task, adapter)
    }

    /// Dispatch tasks are kept while they run, so that a connection that dies cancels them (a
    /// servant sees `Task.isCancelled`; its reply would have nowhere to go). One that finishes
    /// while it starts — a servant that never suspends, the common case — is never stored.
    /// Starts nest (a dispatch that finishes at once starts the next waiting request inside its
    /// own start), so the outer start's state is handed back to be restored.
    private func beginDispatchTask() -> (slot: Int, outer: (slot: Int?, finished: Bool)) {
        let outer = (startingSlot, finishedWhileStarting)
        let slot = nextDispatchSlot
        nextDispatchSlot &+= 1
        startingSlot = slot
        finishedWhileStarting = false
        return (slot, outer)
    }

    private func endDispatchTaskStart(
        _ start: (slot: Int, outer: (slot: Int?, finished: Bool)), _ task: Task<Void, Never>, _ adapter: ObjectAdapter
    ) {
        let finished = finishedWhileStarting
        (startingSlot, finishedWhileStarting) = start.outer
        if !finished { runningDispatches[start.slot] = (task, adapter) }
    }

    private func forgetDispatchTask(_ slot: Int) {
        if slot == startingSlot {
            finishedWhileStarting = true
        } else {
            runningDispatches[slot] = nil
        }
    }

    /// The connection is gone: running dispatches are cancelled, and their adapters wait for
    /// them to end before they deactivate.
    func cancelDispatches() {
        let running = runningDispatches
        runningDispatches = [:]
        for (task, adapter) in running.values {
            task.cancel()
            adapter.outliveConnection(task)
        }
    }

    /// Dispatches the requests of one batch in order, as Ice does; no replies.
    func dispatchBatch(_ batch: BatchRequestReader, context: ChannelHandlerContext) {
        guard adapter != nil, !closing else { return }
        guard waiting.isEmpty, mayDispatch(context) else { return wait(.batch(batch), context: context) }
        startBatch(batch, context: context)
    }

    private func startBatch(_ batch: BatchRequestReader, context: ChannelHandlerContext) {
        guard let adapter else { return }
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let connection: (any Connection)? = connection
        dispatchCount += 1
        let start = beginDispatchTask()
        let slot = start.slot
        let task = Task.immediate {
            let failure = await dispatchInOrder(batch, adapter: adapter, connection: connection)
            if loop.inEventLoop {
                bound.value.batchFinished(failure, slot: slot)
            } else {
                loop.execute { bound.value.batchFinished(failure, slot: slot) }
            }
        }
        endDispatchTaskStart(start, task, adapter)
    }

    private func batchFinished(_ failure: (any Error)?, slot: Int) {
        if let failure, let context { fail(context, "malformed batch request: \(failure)") }
        dispatchFinished(reply: nil, codec: nil, slot: slot)
    }

    /// Queues a request that cannot start yet; the queue's size decides whether reading goes on
    /// (see `updateReading`).
    private func wait(_ request: Waiting, context: ChannelHandlerContext) {
        // The first few keep sharing their read's buffer (pipelined calls beyond
        // `MaxDispatches` wait all the time, and a copy each would cost an allocation per
        // request); past them, what waits holds only its own bytes.
        let request = waiting.count < Self.uncopiedWaitingRequests ? request : request.compacted()
        waitingCost += request.cost
        waiting.append(request)
        updateReading(context)
        if dispatchStall == nil { watchForDispatchStall(context) }
    }

    /// Starts waiting requests while they may start.
    func startWaiting(_ context: ChannelHandlerContext) {
        guard let adapter else { return }
        while !closing, let next = waiting.first, mayDispatch(context) {
            waiting.removeFirst()
            waitingCost -= next.cost
            switch next {
            case .request(let request, let codec): start(request, replyCodec: codec, adapter: adapter, context: context)
            case .batch(let batch): startBatch(batch, context: context)
            }
        }
        updateReading(context)
    }

    func dispatchFinished(reply: ReplyMessage?, codec: ReplyCompression?, slot: Int) {
        forgetDispatchTask(slot)
        dispatchCount -= 1
        communicator.dispatchGate.leave()
        lastActivity = .now()
        guard let context else { return }
        let frame: (prefix: ByteBuffer, body: ByteBuffer?)?
        switch reply {
        case .framed(let message): frame = (message, nil)
        case .reply(let reply):
            let encoded = ReplyFrame(reply)
            frame = (encoded.prefix, encoded.body)
        case nil: frame = nil
        }
        if var (prefix, body) = frame {
            // (Read before compression, which moves them.)
            let traced = options.traceProtocol >= 1 ? Self.tracedReply(prefix) : ""
            if let codec {
                do {
                    (prefix, body) = try compressed(
                        prefix: prefix, body: body, codec: codec.codec, evenIfSmall: codec.evenIfSmall)
                } catch {
                    // (Never seen: compressing memory cannot fail but for lack of it.) The
                    // reply goes out uncompressed, which the peer must accept.
                    logger.warning("sending a reply uncompressed: \(error)")
                }
            }
            trace("sent reply, \(traced), \(Self.traced(prefix: prefix, body: body, codec: codec?.codec))")
            let alone = dispatchCount == 0 && waiting.isEmpty && (!reading || readEndsWithThisRequest)
            write(context, prefix: prefix, body: body, alone: alone)
        }
        if !waiting.isEmpty { startWaiting(context) }
        if dispatchCount == 0 {
            let waiters = dispatchesDone
            dispatchesDone = []
            for waiter in waiters { waiter.succeed() }
        }
    }

    /// "request id N, status S" of an uncompressed reply, for the protocol trace.
    static func tracedReply(_ prefix: ByteBuffer) -> String {
        let requestId = prefix.getInteger(at: prefix.readerIndex + 14, endianness: .little, as: Int32.self) ?? 0
        let status = prefix.getInteger(at: prefix.readerIndex + 18, as: UInt8.self).map(ReplyStatus.init(rawValue:))
        return "request id \(requestId), status \(status.map { "\($0)" } ?? "?")"
    }

    func incomingRequest(_ request: Request, adapter: ObjectAdapter) -> IncomingRequest {
        Self.incomingRequest(request, adapter: adapter, connection: connection)
    }

    static func incomingRequest(_ request: Request, adapter: ObjectAdapter, connection: (any Connection)?)
        -> IncomingRequest
    {
        let current = Current(
            adapter: adapter, id: request.header.identity, facet: request.header.facet,
            operation: request.header.operation, mode: request.header.mode, ctx: request.header.context,
            requestId: request.requestId, encoding: request.encoding, con: connection)
        if let encapsulation = request.encapsulation {
            return IncomingRequest(current: current, parameters: encapsulation)
        }
        var parameters = OutputStream(encoding: .v1_0)
        parameters.writeEncapsulation(encoding: request.encoding, content: request.parameters.readableBytesView)
        return IncomingRequest(current: current, parameters: parameters.finished())
    }

    /// A connection without an adapter (a pure client) answers requests with object-not-exist.
    /// Each reply echoes its request's identity and operation, so a peer that sends requests
    /// and reads none of the replies stops being read once `MaxQueuedBytes` of them wait to be
    /// written, until they drain (without this, the outgoing buffer grew with everything the
    /// peer sent, until `WriteStallTimeout`). Only these replies count: this side's own
    /// requests filling the channel do not stop it reading their replies.
    private func rejectRequest(_ request: Request, context: ChannelHandlerContext) {
        guard request.requestId != 0 else { return }
        let header = request.header
        let reply = Reply(
            requestId: request.requestId, status: .objectNotExist,
            body: .target(identity: header.identity, facet: header.facet, operation: header.operation))
        let message = Message.reply(reply).encode()
        let size = message.readableBytes
        refusalBytesPending += size
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        write(context, message).whenComplete { _ in
            let handler = bound.value
            handler.refusalBytesPending -= size
            if let context = handler.context { handler.updateReading(context) }
        }
        updateReading(context)
    }
}

/// A reply that was not framed in place, as the buffers to write: an encapsulation goes out
/// as it was encoded, uncopied.
struct ReplyFrame: Sendable {
    var prefix: ByteBuffer
    var body: ByteBuffer?

    init(_ reply: Reply) {
        guard case .encapsulation(let encoding, let content) = reply.body else {
            prefix = Message.reply(reply).encode()
            return
        }
        prefix = MessagePrefix.reply(
            requestId: reply.requestId, status: reply.status, encoding: encoding, contentSize: content.readableBytes)
        body = prefix.append(small: content)
    }
}

/// Dispatches a batch's requests one after the other, decoding each when its turn comes;
/// returns what stopped it early, if anything did. (A free function: as a static member of the
/// handler, the task calling it tripped the compiler's region checker.)
///
/// Every `batchEntriesPerTurn` entries it lets the event loop serve others, and it stops once
/// its connection has died (the dispatch is cancelled): entries that never suspend (to an
/// unknown identity, or a servant that does not await) ran all in one go, and a 100-byte
/// compressed batch can hold about 87,000 of them.
private func dispatchInOrder(
    _ batch: BatchRequestReader, adapter: ObjectAdapter, connection: (any Connection)?
) async -> (any Error)? {
    var batch = batch
    var count = 0
    do {
        while let request = try batch.next() {
            let incoming = IceConnectionHandler.incomingRequest(request, adapter: adapter, connection: connection)
            _ = await adapter.dispatchToReplyMessage(incoming)
            count += 1
            if count % batchEntriesPerTurn == 0 {
                await Task.yield()
                if Task.isCancelled { return nil }
            }
        }
        return nil
    } catch {
        return error
    }
}

/// How many batch entries run before the event loop serves others.
let batchEntriesPerTurn = 64
