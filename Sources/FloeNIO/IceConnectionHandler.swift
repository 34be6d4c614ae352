import FloeCore
import FloeProtocol
import Logging
import NIOCore

/// The Ice protocol on one connection: connection validation, request ids and replies,
/// dispatch of incoming requests to the adapter, and graceful or abrupt closure.
/// Everything here runs on the channel's event loop.
final class IceConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private let communicator: Communicator
    private let adapter: ObjectAdapter?
    private let isClient: Bool
    private var logger: Logger
    private let eventLoop: any EventLoop
    private var context: ChannelHandlerContext?
    private let validation: EventLoopPromise<Void>
    private var isValidated = false
    private var nextRequestId: Int32 = 1
    private var pending: [Int32: EventLoopPromise<Reply?>] = [:]
    private var closing = false
    /// Batch oneway requests waiting for a flush, and their encoded size.
    private var batch: [Request] = []
    private var batchSize = 0
    /// `Ice.BatchAutoFlushSize`: a batch this large is sent without waiting for a flush.
    private let batchAutoFlushSize = 1 << 20

    init(communicator: Communicator, adapter: ObjectAdapter?, isClient: Bool, eventLoop: any EventLoop, logger: Logger)
    {
        self.communicator = communicator
        self.adapter = adapter
        self.isClient = isClient
        self.eventLoop = eventLoop
        self.validation = eventLoop.makePromise()
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        logger[metadataKey: "connection"] = "\(context.channel.remoteAddress.map(String.init(describing:)) ?? "?")"
    }

    private var heartbeat: RepeatedTask?
    private var lastWrite = NIODeadline.now()

    /// Writes and flushes a message, noting the activity for the heartbeat.
    private func write(_ context: ChannelHandlerContext, _ bytes: ByteBuffer) -> EventLoopFuture<Void> {
        lastWrite = .now()
        return context.writeAndFlush(wrapOutboundOut(bytes))
    }

    /// Every half idle timeout, a validate-connection message if nothing else was written.
    private func startHeartbeat(_ context: ChannelHandlerContext) {
        guard communicator.idleTimeout > 0 else { return }
        // Checked four times per heartbeat interval, so a heartbeat goes out at most a quarter
        // interval late whatever the timing of other writes.
        let interval = TimeAmount.milliseconds(Int64(communicator.idleTimeout) * 500)
        let tick = TimeAmount.nanoseconds(interval.nanoseconds / 4)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        heartbeat = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            let handler = bound.value
            guard let context = handler.context, context.channel.isActive,
                NIODeadline.now() - handler.lastWrite >= interval
            else { return }
            _ = handler.write(context, Message.validateConnection.encode())
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        startHeartbeat(context)
        if !isClient {
            // The server speaks first: one validate-connection message.
            _ = write(context, Message.validateConnection.encode())
            isValidated = true
            validation.succeed()
        }
        context.fireChannelActive()
    }

    /// Succeeds once the server's validate-connection has arrived (clients) or at once (servers).
    var validated: EventLoopFuture<Void> { validation.futureResult }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if !isValidated {
            guard frame.header.type == .validateConnection else {
                return fail(context, "connection not validated: first message is a \(frame.header.type)")
            }
            isValidated = true
            validation.succeed()
            return
        }
        guard frame.header.compression != .compressed else {
            return fail(context, "compressed messages are not supported yet")
        }
        let message: Message
        do {
            message = try Message.decode(type: frame.header.type, body: frame.body)
        } catch {
            return fail(context, "malformed \(frame.header.type) message: \(error)")
        }
        switch message {
        case .validateConnection:
            break  // a heartbeat
        case .closeConnection:
            failPending(LocalError(.closeConnection, "the peer closed the connection"))
            context.close(promise: nil)
        case .reply(let reply):
            // A reply to nothing outstanding is ignored, as ZeroC does.
            pending.removeValue(forKey: reply.requestId)?.succeed(reply)
        case .request(let request):
            dispatch(request, context: context)
        case .batchRequest(let requests):
            dispatchBatch(requests, context: context)
        }
    }

    /// Dispatches a request in a task of its own (requests on one connection run concurrently);
    /// the reply, if any, is written back on the event loop.
    private func dispatch(_ request: Request, context: ChannelHandlerContext) {
        guard let adapter, !closing else { return rejectRequest(request, context: context) }
        let incoming = incomingRequest(request, adapter: adapter)
        let requestId = request.requestId
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        Task {
            let reply = await adapter.dispatchToReply(incoming)
            guard requestId != 0 else { return }
            let bytes = Message.reply(reply).encode()
            loop.execute {
                let handler = bound.value
                if let context = handler.context { _ = handler.write(context, bytes) }
            }
        }
    }

    /// Dispatches the requests of one batch in order, as Ice does; no replies.
    private func dispatchBatch(_ requests: [Request], context: ChannelHandlerContext) {
        guard let adapter, !closing else { return }
        let incoming = requests.map { incomingRequest($0, adapter: adapter) }
        Task {
            for request in incoming { _ = await adapter.dispatchToReply(request) }
        }
    }

    private func incomingRequest(_ request: Request, adapter: ObjectAdapter) -> IncomingRequest {
        let current = Current(
            adapter: adapter, id: request.header.identity, facet: request.header.facet,
            operation: request.header.operation, mode: request.header.mode, ctx: request.header.context,
            requestId: request.requestId, encoding: request.encoding)
        if let encapsulation = request.encapsulation {
            return IncomingRequest(current: current, parameters: encapsulation)
        }
        var parameters = OutputStream(encoding: .v1_0)
        parameters.writeEncapsulation(encoding: request.encoding, content: request.parameters.readableBytesView)
        return IncomingRequest(current: current, parameters: parameters.finished())
    }

    /// A connection without an adapter (a pure client) answers requests with object-not-exist.
    private func rejectRequest(_ request: Request, context: ChannelHandlerContext) {
        guard request.requestId != 0 else { return }
        let header = request.header
        let reply = Reply(
            requestId: request.requestId, status: .objectNotExist,
            body: .target(identity: header.identity, facet: header.facet, operation: header.operation))
        context.writeAndFlush(wrapOutboundOut(Message.reply(reply).encode()), promise: nil)
    }

    func send(_ header: RequestHeader, parameters: ByteBuffer, mode: ProxyMode) -> EventLoopFuture<Reply?> {
        let twoway = mode == .twoway
        guard let context, context.channel.isActive, !closing else {
            return eventLoop.makeFailedFuture(LocalError(.connectionLost, "the connection is closed"))
        }
        var stream = InputStream(buffer: parameters, encoding: .v1_0)
        guard let (encoding, content) = try? stream.readEncapsulation() else {
            return context.eventLoop.makeFailedFuture(LocalError(.marshal, "malformed parameters"))
        }
        if mode == .batchOneway || mode == .batchDatagram {
            batch.append(Request(requestId: 0, header: header, encoding: encoding, parameters: content))
            batchSize += content.readableBytes + header.operation.utf8.count + 32
            if batchSize >= batchAutoFlushSize { return flushBatch().map { nil } }
            return context.eventLoop.makeSucceededFuture(nil)
        }
        let requestId: Int32 = twoway ? nextRequestId : 0
        if twoway { nextRequestId = nextRequestId == Int32.max ? 1 : nextRequestId + 1 }
        let request = Request(requestId: requestId, header: header, encoding: encoding, parameters: content)
        let promise = context.eventLoop.makePromise(of: Reply?.self)
        if twoway { pending[requestId] = promise }
        let written = write(context, Message.request(request).encode())
        if !twoway {
            written.whenComplete { result in
                switch result {
                case .success: promise.succeed(nil)
                case .failure(let error): promise.fail(LocalError(.connectionLost, "\(error)"))
                }
            }
        }
        return promise.futureResult
    }

    /// Writes the queued batch oneway requests as one batch-request message.
    func flushBatch() -> EventLoopFuture<Void> {
        guard let context, !batch.isEmpty else { return eventLoop.makeSucceededVoidFuture() }
        let message = Message.batchRequest(batch)
        batch = []
        batchSize = 0
        return write(context, message.encode()).flatMapErrorThrowing { error in
            throw LocalError(.connectionLost, "\(error)")
        }
    }

    /// Sends close-connection once no reply is outstanding, then closes.
    func closeGracefully() -> EventLoopFuture<Void> {
        guard let context, context.channel.isActive else { return eventLoop.makeSucceededVoidFuture() }
        closing = true
        let done = eventLoop.makePromise(of: Void.self)
        let outstanding = pending.values.map { $0.futureResult.map { _ in () } }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        EventLoopFuture.andAllComplete(outstanding, on: eventLoop).whenComplete { _ in
            bound.value.sendCloseConnection(then: done)
        }
        return done.futureResult
    }

    private func sendCloseConnection(then done: EventLoopPromise<Void>) {
        guard let context, context.channel.isActive else { return done.succeed() }
        context.writeAndFlush(wrapOutboundOut(Message.closeConnection.encode()), promise: nil)
        context.close(promise: nil)
        done.succeed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        heartbeat?.cancel()
        failPending(LocalError(.connectionLost, "the connection was lost"))
        validation.fail(LocalError(.connectionLost, "the connection closed before it was validated"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, "\(error)")
    }

    /// Drops the connection for a protocol violation; only this connection suffers.
    private func fail(_ context: ChannelHandlerContext, _ reason: String) {
        logger.warning("closing connection: \(reason)")
        failPending(LocalError(.protocolError, reason))
        validation.fail(LocalError(.protocolError, reason))
        context.close(promise: nil)
    }

    private func failPending(_ error: LocalError) {
        let promises = pending
        pending = [:]
        for promise in promises.values { promise.fail(error) }
    }
}
