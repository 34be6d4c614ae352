import FloeCore
import FloeEncoding
import FloeProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// A `Connection` over one NIO channel; its state lives in the channel's handler, on the
/// channel's event loop.
final class NIOConnection: Connection {
    private let channel: any Channel
    private let handler: NIOLoopBound<IceConnectionHandler>
    let communicator: Communicator
    var eventLoop: any EventLoop { channel.eventLoop }
    /// Set (on the loop) as soon as the connection starts to close, before its waiting callers
    /// are failed: a caller that retries at once must not be handed this connection again.
    private let ending = Atomic<Bool>(false)

    private let incoming: Bool
    private let transport: EndpointData.Transport
    /// What the TLS handshake told about the peer (ssl connections, once it is done).
    private let tls = NIOLockedValueBox<TLSPeerInfo?>(nil)

    init(
        channel: any Channel, handler: NIOLoopBound<IceConnectionHandler>, communicator: Communicator, incoming: Bool,
        transport: EndpointData.Transport
    ) {
        self.channel = channel
        self.handler = handler
        self.communicator = communicator
        self.incoming = incoming
        self.transport = transport
    }

    /// The channel's addresses once it is active. NIO forgets them when the channel closes, and
    /// what is said about a closed connection (a dispatch it cancelled, a close callback)
    /// should still name its peer.
    private let addresses = NIOLockedValueBox<(local: SocketAddress?, remote: SocketAddress?)>((nil, nil))

    /// Called when the channel becomes active.
    func rememberAddresses() {
        let known = (channel.localAddress, channel.remoteAddress)
        addresses.withLockedValue { $0 = known }
    }

    /// Read when asked: a client channel gets its addresses only once connected.
    var info: ConnectionInfo {
        let known = addresses.withLockedValue { $0 }
        let local = channel.localAddress ?? known.local
        let remote = channel.remoteAddress ?? known.remote
        return ConnectionInfo(
            type: transport.name, isSecure: transport.isSecure, incoming: incoming,
            localAddress: local?.ipAddress ?? "", localPort: local?.port ?? 0,
            remoteAddress: remote?.ipAddress ?? "", remotePort: remote?.port ?? 0,
            tls: tls.withLockedValue { $0 }, headers: headers.withLockedValue { $0 })
    }

    var isDatagram: Bool { transport == .udp }
    var isSecure: Bool { transport.isSecure }

    func setTLS(_ info: TLSPeerInfo) { tls.withLockedValue { $0 = info } }

    /// The HTTP headers of a WebSocket upgrade (ws and wss connections, once upgraded).
    private let headers = NIOLockedValueBox<[String: String]>([:])

    func setHeaders(_ upgrade: [String: String]) { headers.withLockedValue { $0 = upgrade } }

    var description: String {
        let info = info
        return
            "local address = \(info.localAddress):\(info.localPort)\nremote address = \(info.remoteAddress):\(info.remotePort)"
    }

    /// What the handler had queued and not sent when the channel closed (see
    /// `Connection.takeUnsentBatch`).
    private let unsent = NIOLockedValueBox<UnsentBatch?>(nil)

    func keepUnsent(_ batch: UnsentBatch) {
        unsent.withLockedValue { kept in kept = kept.map { $0.followed(by: batch) } ?? batch }
    }

    func takeUnsentBatch() -> UnsentBatch? {
        unsent.withLockedValue { kept in
            defer { kept = nil }
            return kept
        }
    }

    func queue(_ batch: UnsentBatch) async -> Bool {
        let handler = handler
        return (try? await channel.eventLoop.submit { handler.value.queueFirst(batch) }.get()) ?? false
    }

    func onClose(_ callback: @escaping @Sendable () -> Void) {
        channel.closeFuture.whenComplete { _ in callback() }
    }

    /// The connection of a channel whose pipeline has an `IceConnectionHandler`; when the
    /// channel closed already, the error it failed with (`closeReason`), if it failed.
    static func of(_ channel: any Channel, closeReason: NIOLockedValueBox<LocalError?>) async throws -> NIOConnection {
        try await channel.eventLoop.submit {
            // A channel the peer closed at once has no handler left.
            guard let handler = try? channel.pipeline.syncOperations.handler(type: IceConnectionHandler.self),
                let connection = handler.connection
            else {
                if let reason = closeReason.withLockedValue({ $0 }) {
                    throw LocalError.notSent(reason.code, reason.message)
                }
                throw LocalError.notSent(.connectionLost, "the connection closed while opening")
            }
            return connection
        }.get()
    }

    func waitUntilValidated() async throws {
        let handler = handler
        try await channel.eventLoop.flatSubmit { handler.value.validated }.get()
    }

    var isClosed: Bool { ending.load(ordering: .acquiring) || !channel.isActive }

    func markEnding() { ending.store(true, ordering: .releasing) }

    /// Sends a request. A twoway request is forgotten when `cancellation` fires (the call's
    /// deadline passed or its caller was cancelled). Off the connection's loop, a cancelled
    /// caller is also released at once; on it, only calls with a deadline are, since a task
    /// cancellation handler around every call cost 14% of pipelined calls.
    func send(
        _ header: RequestHeader, parameters: ByteBuffer, mode: ProxyMode, compress: Bool,
        cancellation: CallCancellation?
    ) async throws -> Reply? {
        let handler = handler
        let loop = channel.eventLoop
        // A call that ended (its deadline passed) while it waited for this connection, or for
        // the locator, is not sent: its caller has been told it failed, and may try again.
        if cancellation?.isCancelled == true { throw CancellationError() }
        // Already on the loop (Swift concurrency running on NIO's event loops) and the peer is
        // reading: no hop. (Otherwise callers wait for writability below, before writing; see
        // IceConnectionHandler+FlowControl.)
        if loop.inEventLoop, channel.isWritable {
            if mode == .twoway {
                // Taken now, while on the loop, so that cancellation can name the request.
                let requestId = handler.value.takeRequestId()
                cancellation?.onCancel { loop.execute { handler.value.cancelRequest(requestId) } }
                // The handler resumes this caller with the reply; no future in between.
                return try await withUnsafeThrowingContinuation { continuation in
                    Self.start(header, parameters, mode, compress, handler, requestId, continuation)
                }
            }
            // A oneway request is done once queued: no suspension at all.
            switch try handler.value.start(
                header, parameters: parameters, mode: mode, compress: compress, replyTo: nil)
            {
            case .sent, .awaitingReply: return nil
            case .awaitingWritable(let writable):
                try await writable.get()
                return nil
            }
        }
        guard mode == .twoway else {
            return try await loop.flatSubmit {
                guard cancellation?.isCancelled != true else { return loop.makeFailedFuture(CancellationError()) }
                return Self.send(header, parameters, mode, compress, handler, requestId: nil)
            }
            .get()
        }
        // The request id, once taken on the loop, and whether the caller was cancelled first.
        let state = NIOLockedValueBox<(requestId: Int32?, cancelled: Bool)>((nil, false))
        return try await withTaskCancellationHandler {
            try await loop.flatSubmit {
                guard !state.withLockedValue({ $0.cancelled }), cancellation?.isCancelled != true else {
                    return loop.makeFailedFuture(CancellationError())
                }
                let requestId = handler.value.takeRequestId()
                state.withLockedValue { $0.requestId = requestId }
                cancellation?.onCancel { loop.execute { handler.value.cancelRequest(requestId) } }
                return Self.send(header, parameters, mode, compress, handler, requestId: requestId)
            }.get()
        } onCancel: {
            loop.execute {
                let requestId = state.withLockedValue { state in
                    state.cancelled = true
                    return state.requestId
                }
                if let requestId { handler.value.cancelRequest(requestId) }
            }
        }
    }

    /// On the loop: starts a twoway request whose caller waits on `continuation`.
    private static func start(
        _ header: RequestHeader, _ parameters: ByteBuffer, _ mode: ProxyMode, _ compress: Bool,
        _ handler: NIOLoopBound<IceConnectionHandler>, _ requestId: Int32,
        _ continuation: UnsafeContinuation<Reply?, any Error>
    ) {
        do {
            _ = try handler.value.start(
                header, parameters: parameters, mode: mode, compress: compress, replyTo: .continuation(continuation),
                requestId: requestId)
        } catch {
            continuation.resume(throwing: error)
        }
    }

    /// On the loop: sends once the connection takes more (see `send`).
    private static func send(
        _ header: RequestHeader, _ parameters: ByteBuffer, _ mode: ProxyMode, _ compress: Bool,
        _ handler: NIOLoopBound<IceConnectionHandler>, requestId: Int32?
    ) -> EventLoopFuture<Reply?> {
        // Taking more now (the usual case): sent at once, nothing to take back.
        guard let context = handler.value.context, !context.channel.isWritable else {
            return handler.value.send(
                header, parameters: parameters, mode: mode, compress: compress, requestId: requestId)
        }
        let writable = handler.value.whenWritable(context)
        guard let requestId else {
            return writable.flatMap {
                handler.value.send(header, parameters: parameters, mode: mode, compress: compress)
            }
        }
        // Until written, `cancelRequest` can take it back (see `waitingToStart`).
        let reply = handler.value.eventLoop.makePromise(of: Reply?.self)
        handler.value.waitingToStart[requestId] = reply
        writable.whenComplete { result in
            guard handler.value.waitingToStart.removeValue(forKey: requestId) != nil else { return }
            switch result {
            case .success:
                reply.completeWith(
                    handler.value.send(
                        header, parameters: parameters, mode: mode, compress: compress, requestId: requestId))
            case .failure(let error): reply.fail(error)
            }
        }
        return reply.futureResult
    }

    func flushBatchRequests() async throws {
        let handler = handler
        try await channel.eventLoop.flatSubmit { handler.value.flushBatch() }.get()
    }

    func close() async {
        let handler = handler
        try? await channel.eventLoop.flatSubmit { handler.value.closeGracefully() }.get()
    }

    func close(failingCalls error: LocalError) async {
        let handler = handler
        try? await channel.eventLoop.flatSubmit {
            handler.value.failOutstandingCalls(error)
            return handler.value.closeGracefully()
        }.get()
    }

    func abort() async {
        let handler = handler
        try? await channel.eventLoop.submit {
            guard let context = handler.value.context else { return }
            if handler.value.transport == .udp {
                // (`fail` drops one datagram and keeps the channel; the application closes it.)
                context.close(promise: nil)
            } else {
                handler.value.fail(
                    context, "closed forcefully by the application", code: .connectionLost, logLevel: .debug)
            }
        }.get()
        try? await channel.closeFuture.get()
    }

    func setAdapter(_ adapter: ObjectAdapter?) async {
        let handler = handler
        try? await channel.eventLoop.submit {
            let old = handler.value.adapter
            handler.value.adapter = adapter
            handler.value.adapterChanged(from: old)
        }.get()
    }

    func setACM(timeout: Int?, close: ACMClose?, heartbeats: Bool?) async {
        let handler = handler
        try? await channel.eventLoop.submit {
            handler.value.setACM(timeout: timeout, close: close, heartbeats: heartbeats)
        }
        .get()
    }

    func heartbeat() async throws {
        let handler = handler
        try await channel.eventLoop.submit { try handler.value.heartbeat() }.get()
    }

    func getAdapter() async -> ObjectAdapter? {
        let handler = handler
        return try? await channel.eventLoop.submit { handler.value.adapter }.get()
    }
}
