import FloeCore
import FloeEncoding
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The opening of ws and wss connections, as ZeroC's transport does it: after TLS on wss, an
/// HTTP/1.1 upgrade to WebSocket with Ice's subprotocol `ice.zeroc.com` (the request's resource
/// is the endpoint's `-r`; servers accept any). Only once upgraded is the Ice handler added,
/// behind a `WebSocketStream`; a server's validate-connection follows its upgrade response.
enum WebSocketOpening {
    static let subprotocol = "ice.zeroc.com"

    /// The largest frame read: ZeroC sends an Ice message as one frame.
    static func maxFrameSize(_ communicator: Communicator) -> Int {
        let limit = communicator.messageSizeMax
        return limit > 0 ? min(limit, Int(UInt32.max)) : Int(UInt32.max)
    }

    /// An accepted connection's handlers until the upgrade; `addIce` adds the Ice handler.
    static func addServerHandlers(
        to channel: any Channel, adapter: ObjectAdapter?, communicator: Communicator, logger: Logger,
        timeout: TimeAmount, addIce: @escaping @Sendable (any Channel) throws -> Void
    ) throws {
        let maxFrameSize = maxFrameSize(communicator)
        let handshake = NIOWebSocketServerUpgrader(
            shouldUpgrade: { channel, head in
                let headers = responseHeaders(head)
                if headers == nil,
                    let opening = try? channel.pipeline.syncOperations.handler(type: WebSocketAcceptance.self)
                {
                    // (Cut: the log line is the peer's to fill, up to NIO's 80 KiB of headers.)
                    let offered = head.headers["Sec-WebSocket-Protocol"].joined(separator: ", ").prefix(200)
                    opening.refusal = "the client asks for subprotocol '\(offered)', not '\(subprotocol)'"
                }
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededVoidFuture() })
        let upgrader = ServerUpgrader(handshake: handshake) { channel, request in
            do {
                let opening = try channel.pipeline.syncOperations.handler(type: WebSocketAcceptance.self)
                try upgraded(
                    channel, isClient: false, maxFrameSize: maxFrameSize, headers: request.headers, addIce: addIce,
                    finish: opening.finish(handingOpeningTo:))
            } catch {
                channel.close(promise: nil)  // (Never seen: the pipeline was already torn down.)
                throw error
            }
        }
        let pipeline = channel.pipeline.syncOperations
        try pipeline.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }), withErrorHandling: false)
        try pipeline.addHandler(
            WebSocketAcceptance(
                adapter: adapter, timeout: timeout, communicator: communicator, logger: logger,
                warnConnections: communicator.connectionOptions.warnConnections))
    }

    /// An outgoing connection's handlers until the upgrade: `upgraded` succeeds once the Ice
    /// handler is in place, or fails with why the server did not upgrade.
    static func addClientHandlers(
        to channel: any Channel, communicator: Communicator, endpoint: IPEndpointData, host: String,
        upgraded promise: EventLoopPromise<Void>, addIce: @escaping @Sendable (any Channel) throws -> Void
    ) throws {
        let maxFrameSize = maxFrameSize(communicator)
        let handshake = NIOWebSocketClientUpgrader(upgradePipelineHandler: { channel, _ in
            channel.eventLoop.makeSucceededVoidFuture()
        })
        let upgrader = ClientUpgrader(handshake: handshake, refused: promise) { channel, response in
            do {
                let opening = try channel.pipeline.syncOperations.handler(type: WebSocketRequest.self)
                try upgraded(
                    channel, isClient: true, maxFrameSize: maxFrameSize, headers: response.headers, addIce: addIce,
                    finish: { _ in opening.finish() })
                promise.succeed()
            } catch {
                promise.fail(error)  // (Never seen: the pipeline was already torn down.)
                channel.close(promise: nil)
                throw error
            }
        }
        let pipeline = channel.pipeline.syncOperations
        // Bytes after the upgrade response (the server's validate-connection may share its read)
        // go on to the WebSocket decoder.
        try pipeline.addHTTPClientHandlers(
            leftOverBytesStrategy: .forwardBytes,
            withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
        let hostHeader = host.contains(":") ? "[\(host)]:\(endpoint.port)" : "\(host):\(endpoint.port)"
        try pipeline.addHandler(
            WebSocketRequest(resource: endpoint.resource, host: hostHeader, upgraded: promise))
    }

    /// The HTTP handlers are gone: the stream and the Ice handler take over. `finish` removes
    /// the opening's own handler once they are in place, handing the Ice handler what it held
    /// (what TLS learned; on a server, its place against `MaxConnections`).
    private static func upgraded(
        _ channel: any Channel, isClient: Bool, maxFrameSize: Int, headers: HTTPHeaders,
        addIce: (any Channel) throws -> Void, finish: (IceConnectionHandler) -> Any?
    ) throws {
        let stream = WebSocketStream(isClient: isClient, maxFrameSize: maxFrameSize)
        try channel.pipeline.syncOperations.addHandler(stream)
        try addIce(channel)
        let ice = try channel.pipeline.syncOperations.handler(type: IceConnectionHandler.self)
        stream.start(tlsEvent: finish(ice), headers: headers)
    }

    /// The headers a server adds to its upgrade response, or nil to refuse: a client that names
    /// subprotocols must name Ice's only, as ZeroC's server requires.
    private static func responseHeaders(_ head: HTTPRequestHead) -> HTTPHeaders? {
        let offered = head.headers[canonicalForm: "Sec-WebSocket-Protocol"]
        guard offered.allSatisfy({ $0 == Substring(subprotocol) }) else { return nil }
        return offered.isEmpty ? HTTPHeaders() : HTTPHeaders([("Sec-WebSocket-Protocol", subprotocol)])
    }
}

/// NIO's WebSocket upgrader for the handshake (its checks of the request, the accept key and
/// the call to `shouldUpgrade`) without its frame codec, which it adds when it upgrades:
/// `WebSocketStream` reads and writes frames itself. `upgrade` runs once the HTTP handlers
/// are gone; bytes that followed the request reach the handlers it adds.
private struct ServerUpgrader: HTTPServerProtocolUpgrader, Sendable {
    let handshake: NIOWebSocketServerUpgrader
    let upgraded: @Sendable (any Channel, HTTPRequestHead) throws -> Void

    var supportedProtocol: String { handshake.supportedProtocol }
    var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    func buildUpgradeResponse(
        channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        handshake.buildUpgradeResponse(
            channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        let channel = context.channel
        return channel.eventLoop.makeCompletedFuture { try upgraded(channel, upgradeRequest) }
    }
}

/// The client's side of the same: NIO's upgrader adds the key to the request and checks the
/// server's accept key; the frames are `WebSocketStream`'s.
private struct ClientUpgrader: NIOHTTPClientProtocolUpgrader, Sendable {
    let handshake: NIOWebSocketClientUpgrader
    /// Failed with the reason when the server's answer is refused.
    let refused: EventLoopPromise<Void>
    let upgraded: @Sendable (any Channel, HTTPResponseHead) throws -> Void

    var supportedProtocol: String { handshake.supportedProtocol }
    var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        handshake.addCustom(upgradeRequestHeaders: &upgradeRequestHeaders)
    }

    /// NIO checks the accept key; the subprotocol, if the server names one, must be Ice's, the
    /// only one offered (RFC 6455 §4.1; ZeroC's clients check it too).
    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        let chosen = upgradeResponse.headers[canonicalForm: "Sec-WebSocket-Protocol"]
        guard chosen.allSatisfy({ $0 == Substring(WebSocketOpening.subprotocol) }) else {
            refused.fail(
                LocalError.notSent(
                    .connectionRefused,
                    "the server chose WebSocket subprotocol '\(chosen.joined(separator: ", ").prefix(200))', "
                        + "not '\(WebSocketOpening.subprotocol)'"))
            return false
        }
        return handshake.shouldAllowUpgrade(upgradeResponse: upgradeResponse)
    }

    func upgrade(context: ChannelHandlerContext, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<Void> {
        let channel = context.channel
        return channel.eventLoop.makeCompletedFuture { try upgraded(channel, upgradeResponse) }
    }
}

/// The server's side until the upgrade: a request that is not an upgrade, or one NIO's upgrader
/// refused, closes the connection with a logged reason; so does a client that has not upgraded
/// within the handshake timeout. Until then the connection counts against the adapter's
/// `MaxConnections` (a connection beyond it is closed at once, as over tcp). What TLS learned
/// about the peer waits here for the Ice handler.
final class WebSocketAcceptance: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart

    private let adapter: ObjectAdapter?
    /// This connection holds one of the adapter's openings (see `ObjectAdapter.reserveOpening`).
    private var reserved = false
    private let timeout: TimeAmount
    private let communicator: Communicator
    private let logger: Logger
    private let warnConnections: Int
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var tlsEvent: Any?
    private var refused = false
    /// Why the upgrader refused the request, when it was for a reason this side knows.
    var refusal: String?

    init(adapter: ObjectAdapter?, timeout: TimeAmount, communicator: Communicator, logger: Logger, warnConnections: Int)
    {
        self.adapter = adapter
        self.timeout = timeout
        self.communicator = communicator
        self.logger = logger
        self.warnConnections = warnConnections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let limit = timeout
        timer = context.eventLoop.scheduleTask(in: limit) {
            bound.value.refuse(
                "no WebSocket upgrade within \(limit.nanoseconds / 1_000_000) ms", code: .connectionTimeout)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        // Closed before the upgrade (an upgrade hands the place over, see `finish`).
        if reserved { adapter?.releaseOpening() }
        reserved = false
        self.context = nil
    }

    /// The upgrade succeeded: leaves the pipeline, handing over what TLS told, and the
    /// connection's place against `MaxConnections` to the Ice handler, which registers the
    /// connection in its place in one step (released first, another connection accepted
    /// meanwhile on another event loop could take it).
    func finish(handingOpeningTo ice: IceConnectionHandler) -> Any? {
        timer?.cancel()
        if reserved {
            reserved = false
            ice.holdsOpening = true
        }
        if let context { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
        return tlsEvent
    }

    func channelActive(context: ChannelHandlerContext) {
        if let adapter {
            guard adapter.reserveOpening() else {
                if !adapter.isDeactivated { adapter.reportRefusal(logger) }  // (else it is closing)
                refused = true
                return context.close(promise: nil)
            }
            reserved = true
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        refuse("not a WebSocket upgrade request: \(head.method) \(head.uri.prefix(200))", code: .protocolError)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TLSPeerVerified {
            tlsEvent = event
        } else if case ChannelEvent.inputClosed = event {
            // The client left without upgrading (as a port check does): no warning, and its
            // place counts no longer. (Channels allow half-closure for Ice's sake.)
            refused = true
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOWebSocketUpgradeError {
            return refuse(
                "WebSocket upgrade refused: \(refusal ?? "not a valid WebSocket request")", code: .protocolError)
        }
        let closing = ClosingReason(error)
        refuse(closing.reason, code: closing.code, logLevel: closing.logLevel)
    }

    private func refuse(_ reason: String, code: LocalError.Code, logLevel: Logger.Level = .warning) {
        guard !refused, let context else { return }
        refused = true
        ClosingReason(reason, code: code, logLevel: logLevel).log(
            logger, communicator, warnConnections: warnConnections)
        context.close(promise: nil)
    }
}

/// The client's side until the upgrade: sends the upgrade request (NIO's upgrader adds the
/// WebSocket headers to it) and fails `upgraded` when the server answers anything but an
/// upgrade, or the connection fails first.
final class WebSocketRequest: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Never
    typealias OutboundOut = HTTPClientRequestPart

    private let resource: String
    private let host: String
    private let upgraded: EventLoopPromise<Void>
    private var context: ChannelHandlerContext?
    private var tlsEvent: Any?

    init(resource: String, host: String, upgraded: EventLoopPromise<Void>) {
        self.resource = resource.isEmpty ? "/" : resource
        self.host = host
        self.upgraded = upgraded
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { sendRequest(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context)
        context.fireChannelActive()
    }

    private func sendRequest(_ context: ChannelHandlerContext) {
        // The resource comes from proxies, some received from peers: one with a space or a
        // control character would write another request line, or headers of its choosing.
        guard resource.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
            return fail(
                context,
                LocalError(
                    .invalidArgument,
                    "ws resource '\(resource.prefix(200).debugDescription.dropFirst().dropLast())' has a space or a control character, which an HTTP request line cannot hold"
                ))
        }
        let headers = HTTPHeaders([
            ("Host", host), ("Sec-WebSocket-Protocol", WebSocketOpening.subprotocol),
            ("Content-Length", "0"),
        ])
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: resource, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// The upgrade succeeded: leaves the pipeline, handing over what TLS told.
    func finish() -> Any? {
        if let context { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
        return tlsEvent
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        fail(
            context,
            LocalError.notSent(
                .connectionRefused,
                "the server did not upgrade to WebSocket: HTTP \(head.status.code) \(head.status.reasonPhrase)"))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TLSPeerVerified {
            tlsEvent = event
        } else if case ChannelEvent.inputClosed = event {
            fail(
                context,
                LocalError.notSent(.connectionLost, "the server closed the connection during the WebSocket upgrade"))
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let closing = ClosingReason(error)
        let reason = error is NIOHTTPClientUpgradeError ? "the WebSocket upgrade failed: \(error)" : closing.reason
        fail(context, LocalError.notSent(closing.code == .protocolError ? .connectionRefused : closing.code, reason))
    }

    func channelInactive(context: ChannelHandlerContext) {
        upgraded.fail(LocalError.notSent(.connectionLost, "the connection closed during the WebSocket upgrade"))
        context.fireChannelInactive()
    }

    private func fail(_ context: ChannelHandlerContext, _ error: LocalError) {
        upgraded.fail(error)
        context.close(promise: nil)
    }
}
