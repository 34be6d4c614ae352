import FloeCore
import FloeProtocol
import NIOCore

/// Incoming requests: each is dispatched in a task of its own (requests on one connection run
/// concurrently, as with ZeroC's thread pools), at most `Ice.Connection.MaxDispatches` at once:
/// beyond that, requests wait here in arrival order and the connection stops reading.
extension IceConnectionHandler {
    /// A request, or a batch of them, that arrived while the dispatch limit was reached.
    enum Waiting {
        case request(Request)
        case batch([Request])
    }

    private var atDispatchLimit: Bool { options.maxDispatches > 0 && dispatchCount >= options.maxDispatches }

    func dispatch(_ request: Request, context: ChannelHandlerContext) {
        guard !closing else { return }  // see closeGracefully
        guard let adapter else { return rejectRequest(request, context: context) }
        guard !atDispatchLimit else { return wait(.request(request), context: context) }
        let incoming = incomingRequest(request, adapter: adapter)
        let requestId = request.requestId
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        dispatchStarted(context)
        // Runs on this event loop until the servant first suspends: a servant that completes
        // without suspending is dispatched and answered with no thread switch at all.
        Task.immediate {
            let message = await adapter.dispatchToReplyMessage(incoming)
            let reply = requestId == 0 ? nil : message
            if loop.inEventLoop {
                bound.value.dispatchFinished(reply: reply)
            } else {
                loop.execute { bound.value.dispatchFinished(reply: reply) }
            }
        }
    }

    /// Dispatches the requests of one batch in order, as Ice does; no replies.
    func dispatchBatch(_ requests: [Request], context: ChannelHandlerContext) {
        guard let adapter, !closing else { return }
        guard !atDispatchLimit else { return wait(.batch(requests), context: context) }
        let incoming = requests.map { incomingRequest($0, adapter: adapter) }
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        dispatchStarted(context)
        Task.immediate {
            for request in incoming { _ = await adapter.dispatchToReplyMessage(request) }
            if loop.inEventLoop {
                bound.value.dispatchFinished(reply: nil)
            } else {
                loop.execute { bound.value.dispatchFinished(reply: nil) }
            }
        }
    }

    private func dispatchStarted(_ context: ChannelHandlerContext) { dispatchCount += 1 }

    /// Queues a request beyond the limit and stops reading until the queue drains, so the
    /// socket pushes back on the peer. (Reaching the limit alone changes nothing: a servant that
    /// answers at once never makes the connection toggle its reading.)
    private func wait(_ request: Waiting, context: ChannelHandlerContext) {
        waiting.append(request)
        if waiting.count == 1 {
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
    }

    private func dispatchFinished(reply: ReplyMessage?) {
        dispatchCount -= 1
        lastActivity = .now()
        guard let context else { return }
        switch reply {
        case .framed(let message):
            trace("sent reply")
            write(context, prefix: message, body: nil)
        case .reply(let reply):
            trace("sent reply")
            let frame = ReplyFrame(reply)
            write(context, prefix: frame.prefix, body: frame.body)
        case nil:
            break
        }
        if !waiting.isEmpty {
            switch waiting.removeFirst() {
            case .request(let request): dispatch(request, context: context)
            case .batch(let requests): dispatchBatch(requests, context: context)
            }
            if waiting.isEmpty {
                context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
                context.read()
            }
        }
        if dispatchCount == 0 {
            let waiters = dispatchesDone
            dispatchesDone = []
            for waiter in waiters { waiter.succeed() }
        }
    }

    private func incomingRequest(_ request: Request, adapter: ObjectAdapter) -> IncomingRequest {
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
    private func rejectRequest(_ request: Request, context: ChannelHandlerContext) {
        guard request.requestId != 0 else { return }
        let header = request.header
        let reply = Reply(
            requestId: request.requestId, status: .objectNotExist,
            body: .target(identity: header.identity, facet: header.facet, operation: header.operation))
        _ = write(context, Message.reply(reply).encode())
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
