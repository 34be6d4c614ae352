public import FloeEncoding
public import FloeProtocol
import Logging
import NIOConcurrencyHelpers
public import NIOCore

extension ObjectPrx {
    /// Sends a request and decodes its reply; every generated proxy method calls it.
    ///
    /// - Parameters:
    ///   - returnsData: whether the operation has a result or out-parameters or declares
    ///     exceptions, which a oneway proxy cannot deliver.
    ///   - write: encodes the in-parameters.
    ///   - read: decodes the results of an OK reply.
    ///   - declared: rethrows the user exceptions the operation declares; any other (or one no
    ///     Slice loader knows) is a `DispatchError` with status `unknownUserException`, as a
    ///     reply of that status is: Ice raises `UnknownUserException` for both.
    public func _invoke<R>(
        operation: String, mode: OperationMode, format: FormatType? = nil, context: Context?,
        returnsData: Bool, write: (inout OutputStream) -> Void, read: (inout InputStream) throws -> R,
        declared: (any UserException) throws -> Void = { _ in }
    ) async throws -> R {
        let reference = _reference
        let twoway = reference.data.mode == .twoway
        if returnsData && !twoway {
            throw LocalError(.twowayOnly, "operation '\(operation)' can only be invoked on a twoway proxy")
        }
        var parameters = OutputStream(encoding: reference.data.encodingVersion)
        parameters.startEncapsulation(encoding: reference.data.encodingVersion, format: format)
        write(&parameters)
        parameters.endEncapsulation()
        if let failure = parameters.failure { throw LocalError(.marshal, failure.description) }
        let requestContext = reference.requestContext(context)
        let buffer = parameters.finished()
        let communicator = reference.communicator
        let reply: Reply?
        if communicator.interceptors.isEmpty && reference.interceptors.isEmpty {
            if let metrics = communicator.invocationMetrics {
                reply = try await reference.sendMeasured(
                    metrics, operation: operation, mode: mode, context: requestContext, parameters: buffer)
            } else {
                reply = try await reference.send(
                    operation: operation, mode: mode, context: requestContext, parameters: buffer)
            }
        } else {
            reply = try await reference.sendIntercepted(
                operation: operation, mode: mode, context: requestContext, parameters: buffer)
        }
        guard let reply else {
            // Oneway: no reply to wait for. `R` is Void for every operation a oneway proxy may call.
            guard let none = () as? R else { throw LocalError(.twowayOnly, "no reply for '\(operation)'") }
            return none
        }
        return try Self.decode(reply, communicator: communicator, operation: operation, read: read, declared: declared)
    }
}

// Not generic (unlike `ObjectPrx` extensions, which run unspecialized from generated code), and
// borrowing the reference: a copy of `ProxyReference` retains a dozen fields.
extension ProxyReference {
    /// Sends a request through the communicator's and the proxy's interceptors.
    func sendIntercepted(operation: String, mode: OperationMode, context: Context, parameters: ByteBuffer)
        async throws -> Reply?
    {
        let reference = self
        let communicator = reference.communicator
        let timeout = reference.invocationTimeout ?? communicator.defaultInvocationTimeout
        let request = OutgoingRequest(
            fixed: OutgoingRequest.Fixed(
                reference: reference, operation: operation, mode: mode, parameters: parameters,
                invocationTimeout: timeout > 0 ? .milliseconds(timeout) : nil),
            context: context)
        let interceptors =
            reference.interceptors.isEmpty
            ? communicator.interceptors
            : communicator.interceptors.isEmpty
                ? reference.interceptors : communicator.interceptors + reference.interceptors
        return try await ProxyReference.intercepted(request, interceptors).reply
    }

    /// Runs the interceptors from `index` on, in order, then sends the request.
    static func intercepted(_ request: OutgoingRequest, _ interceptors: [any ClientInterceptor], from index: Int = 0)
        async throws -> IncomingResponse
    {
        guard index < interceptors.count else {
            let reference = request.fixed.reference
            if let metrics = reference.communicator.invocationMetrics {
                return IncomingResponse(
                    reply: try await reference.sendMeasured(
                        metrics, operation: request.operation, mode: request.mode, context: request.context,
                        parameters: request.parameters))
            }
            return IncomingResponse(
                reply: try await reference.send(
                    operation: request.operation, mode: request.mode, context: request.context,
                    parameters: request.parameters))
        }
        return try await interceptors[index].intercept(request) { request in
            try await intercepted(request, interceptors, from: index + 1)
        }
    }

    /// `send`, timed by operation and outcome (`Observability.metrics`). Measured here, inside
    /// the interceptors, rather than by an interceptor: one costs a pipelined call about 5%
    /// (Docs/benchmark.md, "Observability").
    func sendMeasured(
        _ metrics: CallMetrics, operation: String, mode: OperationMode, context: Context, parameters: ByteBuffer
    ) async throws -> Reply? {
        let start = ContinuousClock.now
        do {
            let reply = try await send(operation: operation, mode: mode, context: context, parameters: parameters)
            metrics.record(
                operation: operation, outcome: reply.map { CallMetrics.outcome($0.status) } ?? "ok", since: start)
            return reply
        } catch {
            metrics.record(operation: operation, outcome: CallMetrics.outcome(ofInvocationError: error), since: start)
            throw error
        }
    }

    /// Sends a request, with Ice's retries (see `RetryPolicy`); nil for a oneway request. The
    /// invocation timeout covers the whole call, retries and the pauses between them included,
    /// as in Ice: it starts with the first attempt.
    func send(operation: String, mode: OperationMode, context: Context, parameters: ByteBuffer) async throws -> Reply? {
        let header = RequestHeader(
            identity: data.identity, facet: data.facet, operation: operation, mode: mode, context: context)
        let communicator = self.communicator
        let timeout = invocationTimeout ?? communicator.defaultInvocationTimeout
        let deadline = timeout > 0 ? ContinuousClock.now + .milliseconds(timeout) : nil
        var attempt = 0
        var askedLocatorAgain = false
        var addedToRouterAgain = false
        var lastFailure: (any Error & Sendable)?
        while true {
            let left = deadline.map { ContinuousClock.now.duration(to: $0) }
            if let left, left <= .zero {
                throw LocalError(
                    .invocationTimeout, "'\(operation)' got no reply within \(timeout) ms", cause: lastFailure)
            }
            do {
                let reply: Reply?
                if let left {
                    reply = try await Self.withTimeout(left, of: timeout, operation: operation) {
                        [self] cancellation in
                        try await communicator.send(
                            header, parameters: parameters, reference: self, cancellation: cancellation)
                    }
                } else {
                    reply = try await communicator.send(header, parameters: parameters, reference: self)
                }
                // Statuses 2 and up are errors, some of them retried.
                if let reply, let failure = DispatchError(failedReply: reply) { throw failure }
                return reply
            } catch let error as DispatchError
                where error.status == .objectNotExist && error.operation == "ice_add_proxy" && routerInfo != nil
                && !addedToRouterAgain
            {
                // Glacier2's way of saying the proxy is not in its routing table (a new
                // session's table, or evicted): add it again and retry, once, as Ice does.
                // (Checked first, as Ice does: for a routed indirect proxy, the locator clause
                // below would ask the locator again and leave the routing table as it was.)
                addedToRouterAgain = true
                routerInfo?.forget(data.identity)
            } catch let error as DispatchError
                where error.status == .objectNotExist && data.endpoints.isEmpty && fixedConnection == nil
                && !askedLocatorAgain && !(error.operation == "ice_add_proxy" && routerInfo != nil)
            {
                // Through the locator, the object was not where the cache said (another server
                // may now use that port): ask the locator again, once, as Ice does.
                askedLocatorAgain = true
                communicator.forgetLocation(of: self)
            } catch {
                // The peer's close-connection promises the request was not dispatched: Ice
                // retries it at once even past the retry limit (Ice.RetryIntervals=-1 included),
                // once. Batched requests are never retried.
                let intervals = communicator.retryIntervals
                let afterClose = (error as? LocalError)?.code == .closeConnection && attempt == intervals.count
                guard attempt < intervals.count || afterClose, fixedConnection == nil,
                    data.mode != .batchOneway, data.mode != .batchDatagram,
                    RetryPolicy.mayRetry(error, idempotent: mode != .normal)
                else { throw error }
                lastFailure = error
                var delay = afterClose ? .zero : Duration.milliseconds(intervals[attempt])
                attempt += 1
                // A pause that would outlast the deadline ends there (the next turn reports it).
                if let deadline { delay = min(delay, max(.zero, ContinuousClock.now.duration(to: deadline))) }
                if delay > .zero { try await Task.sleep(for: delay) }
            }
        }
    }

    /// The connection this proxy's calls use (`ice_getConnection`), within its invocation
    /// timeout as Ice bounds it: a locator that did not answer held it for ever.
    func connectionWithinInvocationTimeout() async throws -> any Connection {
        let communicator = self.communicator
        let timeout = invocationTimeout ?? communicator.defaultInvocationTimeout
        guard timeout > 0 else { return try await communicator.connection(for: self) }
        return try await Self.withTimeout(.milliseconds(timeout), of: timeout, operation: "ice_getConnection") {
            [self] _ in try await communicator.connection(for: self)
        }
    }

    /// Runs `body`, failing with `invocationTimeout` after `left` (what remains of the call's
    /// `timeout`, in ms). The caller is released at the deadline even if `body` is slow to
    /// notice; `body` is cancelled then, so the connection forgets the request and ignores a
    /// late reply. Nothing of the call outlives it: the timer is cancelled when the reply
    /// comes, and cancelling the caller ends the call at once with `CancellationError`.
    private static func withTimeout<T: Sendable>(
        _ left: Duration, of timeout: Int, operation: String,
        _ body: @escaping @Sendable (CallCancellation) async throws -> T
    ) async throws -> T {
        let cancellation = CallCancellation()
        let call = TimedCall<T>(cancellation)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                call.start(continuation, body: { try await body(cancellation) }) {
                    try? await Task.sleep(for: left)
                    guard !Task.isCancelled else { return }
                    call.finish(
                        .failure(LocalError(.invocationTimeout, "'\(operation)' got no reply within \(timeout) ms")))
                }
            }
        } onCancel: {
            call.finish(.failure(CancellationError()))
        }
    }

}

extension ObjectPrx {
    private static func decode<R>(
        _ reply: Reply, communicator: Communicator, operation: String, read: (inout InputStream) throws -> R,
        declared: (any UserException) throws -> Void
    ) throws -> R {
        switch reply.body {
        case .encapsulation(let encoding, let content) where reply.status == .ok:
            do {
                return try Self.decoding(communicator.makeInputStream(content, encoding: encoding)) { stream in
                    let result = try read(&stream)
                    try stream.finishContent()
                    return result
                }
            } catch let error as MarshalError {
                throw LocalError(.marshal, "reply to '\(operation)': \(error)")
            }
        case .encapsulation(let encoding, let content):
            let exception: any UserException
            do {
                exception = try Self.decoding(communicator.makeInputStream(content, encoding: encoding)) { stream in
                    try stream.readUserException()
                }
            } catch let error as MarshalError where error.code == .unknownUserException {
                communicator.reportUnknownException(error.message)
                throw DispatchError(status: .unknownUserException, message: error.message)
            } catch let error as MarshalError {
                throw LocalError(.marshal, "exception from '\(operation)': \(error)")
            }
            try declared(exception)
            throw DispatchError(status: .unknownUserException, message: exception.ice_id())
        case .target, .message:
            throw DispatchError(failedReply: reply)
                ?? LocalError(.protocolError, "reply \(reply.status) without a body")
        }
    }
}

extension ObjectPrx {
    /// Decodes with `read`; if the decoded instances may form a cycle, frees those the result
    /// does not reach (skipped optional values, the rest of a failed decode). What the result
    /// reaches is the caller's, to keep or drop like any Swift object graph.
    fileprivate static func decoding<T>(_ stream: consuming InputStream, _ read: (inout InputStream) throws -> T)
        throws -> T
    {
        var graph: ReceivedGraph?
        // Runs once `decodingStream` has returned, with the stream gone and the result (or the
        // error) in flight.
        defer {
            if let graph {
                graph.collectUnreachable()
                graph.forget()
            }
        }
        return try decodingStream(stream, &graph, read)
    }

    /// Runs `read`; when this returns, the stream and what it held are gone.
    private static func decodingStream<T>(
        _ stream: consuming InputStream, _ graph: inout ReceivedGraph?, _ read: (inout InputStream) throws -> T
    ) throws -> T {
        var stream = stream
        defer { graph = stream.receivedGraph }
        let result = try read(&stream)
        // Content has no outermost encapsulation whose end would have measured the graph.
        try stream.receivedGraph?.refuseChainsLongerThan(stream.classChainMax)
        return result
    }
}

/// A call racing its deadline: whichever of the reply, the deadline and the caller's
/// cancellation comes first settles it, and cancels the tasks of the others.
private final class TimedCall<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var tasks: [Task<Void, Never>] = []
        /// Set once settled; a call cancelled before it started is settled at `start`.
        var result: Result<T, any Error>?
    }

    private let state = NIOLockedValueBox(State())
    /// Tells the connection to forget the request when the call ends early.
    private let cancellation: CallCancellation

    init(_ cancellation: CallCancellation) { self.cancellation = cancellation }

    func start(
        _ continuation: CheckedContinuation<T, any Error>, body: @escaping @Sendable () async throws -> T,
        timer: @escaping @Sendable () async -> Void
    ) {
        let early = state.withLockedValue { state -> Result<T, any Error>? in
            if let result = state.result { return result }
            state.continuation = continuation
            return nil
        }
        if let early { return continuation.resume(with: early) }
        let work = Task {
            do {
                self.finish(.success(try await body()))
            } catch {
                self.finish(.failure(error))
            }
        }
        let deadline = Task { await timer() }
        let settled = state.withLockedValue { state in
            state.tasks = [work, deadline]
            return state.result != nil
        }
        if settled {
            work.cancel()
            deadline.cancel()
        }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, tasks) = state.withLockedValue {
            state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
            guard state.result == nil else { return (nil, []) }
            state.result = result
            defer { state.continuation = nil }
            return (state.continuation, state.tasks)
        }
        for task in tasks { task.cancel() }
        if case .failure = result { cancellation.cancel() }
        continuation?.resume(with: result)
    }
}

/// When Ice retries an invocation transparently (ice-wire.md §9.5).
enum RetryPolicy {
    static func mayRetry(_ error: any Error, idempotent: Bool) -> Bool {
        if let error = error as? LocalError {
            if error.requestNotSent { return true }
            switch error.code {
            // Never sent, or the peer promised it dispatched nothing it did not answer.
            case .connectionRefused, .connectTimeout, .closeConnection: return true
            // Sent, outcome unknown: only when running it twice is harmless.
            case .connectionLost, .connectionTimeout, .protocolError: return idempotent
            default: return false
            }
        }
        if let error = error as? DispatchError, error.status.rawValue >= 5 { return idempotent }
        return false
    }
}

extension ObjectPrx {
    /// Sends the batch oneway requests queued on this proxy's connection.
    public func ice_flushBatchRequests() async throws {
        try await _reference.communicator.flushBatchRequests(for: _reference)
    }
}

extension Communicator {
    /// Sends the batch oneway requests queued on every connection of this communicator, the
    /// ones it opened and those its adapters accepted (Ice's `Communicator.flushBatchRequests`).
    /// The batch of an outgoing connection that closed before it was sent goes first on the
    /// connection to the same place, if one is open (none is opened for it); one an adapter
    /// accepted is lost with it.
    public func flushBatchRequests() async {
        await queueUnsentBatchesOnOpenConnections()
        let outgoing = state.withLockedValue { $0.connections.values.compactMap(\.settledConnection) }
        let adapters = state.withLockedValue { Array($0.adapters.values) }
        for connection in outgoing + adapters.flatMap(\.openConnections) where !connection.isClosed {
            try? await connection.flushBatchRequests()
        }
    }

    func flushBatchRequests(for reference: ProxyReference) async throws {
        // Collocated batches are never queued.
        guard reference.fixedConnection != nil || collocatedAdapter(for: reference) == nil else { return }
        try await connection(for: reference).flushBatchRequests()
    }

    /// The transport seam: a request for an object of one of this communicator's adapters is
    /// dispatched in process from its encoded parameters, and the reply comes back encoded,
    /// exactly as over a connection; any other goes to the connection its route gives.
    /// Returns nil for oneway requests.
    func send(
        _ header: RequestHeader, parameters: ByteBuffer, reference: ProxyReference,
        cancellation: CallCancellation? = nil
    ) async throws -> Reply? {
        guard !isDestroyed else { throw LocalError(.communicatorDestroyed, "communicator destroyed") }
        let twoway = reference.data.mode == .twoway
        guard reference.fixedConnection == nil, let adapter = collocatedAdapter(for: reference) else {
            let route = try await route(for: reference)
            return try await route.connection.send(
                header, parameters: parameters, mode: reference.data.mode, compress: route.compress,
                cancellation: cancellation)
        }
        let encoding = try? makeInputStream(parameters, encoding: .v1_0).peekEncapsulationEncoding()
        let current = Current(
            adapter: adapter, id: header.identity, facet: header.facet, operation: header.operation, mode: header.mode,
            ctx: header.context, requestId: twoway ? 1 : 0, encoding: encoding ?? .v1_1)
        let request = IncomingRequest(current: current, parameters: parameters)
        guard twoway else {
            Task { _ = await adapter.dispatchCollocated(request) }
            return nil
        }
        return await adapter.dispatchCollocated(request)
    }
}

/// A reply ready to send: usually the whole message in one buffer (the servant's results with
/// the reply header written in the room left in front of them), otherwise a reply to encode.
public enum ReplyMessage: Sendable {
    case framed(ByteBuffer)
    case reply(Reply)
}

extension ObjectAdapter {
    /// Dispatches and turns the outcome into the reply a server sends: results, a user
    /// exception, a missing target, or a description of any other failure.
    public func dispatchToReply(_ request: IncomingRequest) async -> Reply {
        let outcome =
            if let metrics = communicator.dispatchMetrics {
                await measuredOutcome(of: request, metrics)
            } else {
                await outcome(of: request)
            }
        return switch outcome {
        case .encapsulation(let status, let buffer): reply(request.current.requestId, status, buffer)
        case .failure(let reply): reply
        }
    }

    /// As `dispatchToReply`, but as the message to write: a response the servant encoded gets
    /// its header in place, so it is neither copied nor written as two buffers.
    public func dispatchToReplyMessage(_ request: IncomingRequest) async -> ReplyMessage {
        let requestId = request.current.requestId
        let outcome =
            if let metrics = communicator.dispatchMetrics {
                await measuredOutcome(of: request, metrics)
            } else {
                await outcome(of: request)
            }
        // (Consumed: a second reference to the buffer would make framing it in place copy it.)
        switch consume outcome {
        case .encapsulation(let status, var buffer):
            if MessagePrefix.frameReply(&buffer, requestId: requestId, status: status) { return .framed(buffer) }
            return .reply(reply(requestId, status, buffer))
        case .failure(let reply):
            return .reply(reply)
        }
    }

    private enum Outcome {
        /// Statuses 0 and 1: the encapsulation a servant (or its exception) encoded.
        case encapsulation(ReplyStatus, ByteBuffer)
        case failure(Reply)
    }

    /// `outcome(of:)`, timed by operation and outcome (`Observability.metrics`); a request
    /// for a missing object, facet or operation counts as operation `unknown`. Measured here
    /// rather than by a middleware, which costs a pipelined call about 4%.
    private func measuredOutcome(of request: IncomingRequest, _ metrics: CallMetrics) async -> Outcome {
        let start = ContinuousClock.now
        let outcome = await outcome(of: request)
        let status =
            switch outcome {
            case .encapsulation(let status, _): status
            case .failure(let reply): reply.status
            }
        let name = CallMetrics.outcome(status)
        metrics.record(
            operation: CallMetrics.isUnknownTarget(name) ? "unknown" : request.current.operation, outcome: name,
            since: start)
        return outcome
    }

    private func outcome(of request: IncomingRequest) async -> Outcome {
        do {
            // (Not `dispatch(request)`: the usual case makes one async call, not three.)
            let dispatcher: any Dispatcher
            if let found = try dispatcherUnlessHeld(for: request.current) {
                dispatcher = found
            } else {
                dispatcher = try await self.dispatcher(for: request.current)
            }
            return checked(try await dispatcher.dispatch(request), requestId: request.current.requestId)
        } catch {
            return outcome(of: error, current: request.current)
        }
    }

    /// What a failed dispatch answers. Kept out of the async function above: every request's
    /// async frame would otherwise hold room for all these replies and errors, and a frame
    /// that outgrows the task's allocation slab costs a `malloc` per request.
    private func outcome(of error: any Error, current: Current) -> Outcome {
        let requestId = current.requestId
        let options = communicator.connectionOptions
        if error is CancellationError && Task.isCancelled {
            // Cancelled with its caller: the connection died (or a collocated caller gave up).
            // No one reads this reply, and a warning would blame the servant for it.
            communicator.logger.debug(
                "dispatch of '\(current.operation)' cancelled: its caller is gone",
                metadata: [
                    "operation": "\(current.operation)", "identity": "\(communicator.identityToString(current.id))",
                ])
            return .failure(Reply(requestId: requestId, status: .unknownException, body: .message("cancelled")))
        }
        switch error {
        case let exception as any UserException:
            do {
                return checked(try current.makeResponse(exception: exception), requestId: requestId)
            } catch {
                warnDispatch(current, "its user exception could not be encoded: \(error)", level: 1)
                return .failure(
                    Reply(requestId: requestId, status: .unknownUserException, body: .message(exception.ice_id())))
            }
        case let error as DispatchError:
            switch error.status.rawValue {
            case 2, 3, 4:
                warnDispatch(current, "\(error.status)", level: 2)
                // What the servant left empty is the request's, as Ice fills it in (a default
                // servant's `throw DispatchError(status: .objectNotExist)`).
                let identity = error.identity.name.isEmpty ? current.id : error.identity
                let facet = error.facet.isEmpty ? current.facet : error.facet
                let operation = error.operation.isEmpty ? current.operation : error.operation
                return .failure(
                    Reply(
                        requestId: requestId, status: error.status,
                        body: .target(identity: identity, facet: facet, operation: operation)))
            case 0, 1:
                // No failure status: a reply with one of these and a message would be malformed.
                let message = "DispatchError with status \(error.status): \(error.message)"
                warnDispatch(current, message, level: 1)
                return .failure(Reply(requestId: requestId, status: .unknownLocalException, body: .message(message)))
            default:
                warnDispatch(current, "\(error.status): \(error.message)", level: 1)
                return .failure(Reply(requestId: requestId, status: error.status, body: .message(error.message)))
            }
        case let error as LocalError:
            warnDispatch(current, error.description, level: 1)
            return .failure(
                Reply(requestId: requestId, status: .unknownLocalException, body: .message(error.description)))
        case let error as MarshalError:
            warnDispatch(current, "\(error)", level: 1)
            return .failure(Reply(requestId: requestId, status: .unknownLocalException, body: .message("\(error)")))
        default:
            let details = String(describing: error)
            warnDispatch(current, "\(ErrorSummary.typeName(of: error)): \(details)", level: 1)
            let message = options.sendsErrorDetails ? details : ErrorSummary.of(error)
            return .failure(Reply(requestId: requestId, status: .unknownException, body: .message(message)))
        }
    }

    /// `Ice.Warn.Dispatch`: one warning per failed dispatch at or above its level, within
    /// `Floe.Warn.PerSecond`.
    private func warnDispatch(_ current: Current, _ error: @autoclosure () -> String, level: Int) {
        guard communicator.connectionOptions.warnDispatch >= level,
            let suppressed = communicator.peerWarnings.admit()
        else { return }
        let identity = communicator.identityToString(current.id)
        var metadata: Logger.Metadata = ["operation": "\(current.operation)", "identity": "\(identity)"]
        if !current.facet.isEmpty { metadata["facet"] = "\(current.facet)" }
        if let info = current.con?.info { metadata["peer"] = "\(info.remoteAddress):\(info.remotePort)" }
        let facet = current.facet.isEmpty ? "" : " facet '\(current.facet)'"
        let message = "dispatch of '\(current.operation)' on '\(identity)'\(facet) failed: \(error())"
        communicator.logger.warning(
            "\(WarningLimiter.message(message, afterSuppressing: suppressed))", metadata: metadata)
    }

    /// A response as an outcome: only statuses 0 and 1 carry an encapsulation.
    private func checked(_ response: consuming OutgoingResponse, requestId: Int32) -> Outcome {
        guard response.replyStatus == .ok || response.replyStatus == .userException else {
            return .failure(
                Reply(
                    requestId: requestId, status: .unknownLocalException,
                    body: .message("the servant returned status \(response.replyStatus) with results")))
        }
        return .encapsulation(response.replyStatus, response.encapsulation)
    }

    /// The reply carrying an encapsulation; one a servant got wrong becomes a failure.
    private func reply(_ requestId: Int32, _ status: ReplyStatus, _ buffer: ByteBuffer) -> Reply {
        var stream = InputStream(buffer: buffer, encoding: .v1_0)
        guard let (encoding, content) = try? stream.readEncapsulation(), stream.remaining == 0 else {
            return Reply(
                requestId: requestId, status: .unknownLocalException,
                body: .message("the servant produced a malformed response"))
        }
        return Reply(requestId: requestId, status: status, body: .encapsulation(encoding: encoding, content: content))
    }
}

extension InputStream {
    /// The encoding version of the encapsulation that starts here, without consuming it.
    func peekEncapsulationEncoding() throws -> EncodingVersion {
        var copy = self
        return try copy.skipEncapsulation()
    }
}
