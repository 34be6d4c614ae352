public import FloeCore
public import FloeEncoding
import FloeProtocol
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// TCP, TLS (`ssl` endpoints) and WebSocket (`ws`, `wss`) on SwiftNIO: the transport a
/// networked `Communicator` uses.
///
/// ```
/// socket ─> [NIOSSLHandler ─> TLSPeerCheck] ─> [WebSocketStream (frames)] ─> IceConnectionHandler (framing, protocol) ─> (replies complete callers; requests go to the adapter)
/// socket <─ [NIOSSLHandler] <───────────────── [WebSocketStream (frames)] <─ IceConnectionHandler <─ (requests from proxies; replies from dispatch)
/// ```
///
/// On ws and wss, HTTP handlers (`WebSocketOpening`) stand where `WebSocketStream` will be
/// until the upgrade.
public struct NIOTransport: Transport {
    let group: any EventLoopGroup
    let logger: Logger
    private let tls: TLSContexts

    /// `tls` configures ssl endpoints; without it, the communicator's IceSSL properties do (see
    /// `TLSSettings.init(properties:)`), read at the first ssl endpoint.
    public init(
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "floe"),
        tls: TLSSettings? = nil
    ) {
        self.group = group
        self.logger = logger
        self.tls = TLSContexts(settings: tls)
    }

    /// Loads TLS certificates and keys again — from `settings`, else from those given at init,
    /// else from the IceSSL properties' files — for connections opened from now on. Open
    /// connections keep theirs. On failure (a missing or bad file) nothing changes.
    public func reloadTLS(_ settings: TLSSettings? = nil) throws {
        try tls.reload(settings)
    }

    /// Over tcp and ws: whether the port accepts. Over ssl and wss: whether the server answers
    /// a ClientHello (`TLSProbe`), so a hung server whose port still accepts does not count.
    public func acceptsConnections(at endpoint: IPEndpointData, timeout: Duration) async -> Bool? {
        guard endpoint.transport != .udp else { return nil }
        let host = endpoint.host.isEmpty ? "127.0.0.1" : endpoint.host
        // (NIO's conversion clamps: a huge `Liveness` timeout cannot overflow.)
        let limit = max(.milliseconds(1), TimeAmount(timeout))
        let secure = endpoint.transport.isSecure
        if secure && TLSProbe.context == nil { return nil }
        let loop = group.next()
        let answered = loop.makePromise(of: Void.self)
        do {
            let channel = try await ClientBootstrap(group: loop).connectTimeout(limit)
                .channelOption(.allowRemoteHalfClosure, value: secure)
                .channelInitializer { channel in
                    guard secure else { return channel.eventLoop.makeSucceededVoidFuture() }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(TLSProbe.handlers(answered: answered))
                    }
                }
                .connect(host: host, port: Int(endpoint.port)).get()
            guard secure else {
                answered.succeed()
                try? await channel.close()
                return true
            }
            // The answer, then the server's close, each within `limit`; the channel is closed
            // whatever happens.
            let timer = loop.scheduleTask(in: limit) { answered.fail(LocalError(.connectTimeout, "no answer")) }
            let alive = (try? await answered.futureResult.get()) != nil
            timer.cancel()
            if alive {
                let backstop = loop.scheduleTask(in: limit) { channel.close(promise: nil) }
                try? await channel.closeFuture.get()
                backstop.cancel()
            } else {
                try? await channel.close()
            }
            return alive
        } catch {
            answered.fail(error)
            return false
        }
    }

    /// Connects and waits for the server's validation, all within the connect timeout
    /// (`Ice.Override.ConnectTimeout`, else the endpoint's `-t`, else 10 s). Cancelled (the
    /// communicator destroyed meanwhile), it closes the channel and ends with
    /// `CancellationError` at once, not at the connect timeout.
    public func connect(to endpoint: IPEndpointData, communicator: Communicator) async throws -> any Connection {
        let host = endpoint.host.isEmpty ? "127.0.0.1" : endpoint.host
        if endpoint.transport == .udp { return try await connectDatagrams(to: endpoint, host: host, communicator) }
        let override = communicator.connectionOptions.connectTimeout
        let milliseconds = override > 0 ? override : endpoint.timeout > 0 ? Int(endpoint.timeout) : 10_000
        let secure = try endpoint.transport.isSecure ? clientTLS(communicator, host: host) : nil
        var bootstrap = ClientBootstrap(group: group)
        let source = endpoint.sourceAddress.isEmpty ? communicator.defaultSourceAddress : endpoint.sourceAddress
        if let source {
            guard let address = try? SocketAddress(ipAddress: source, port: 0) else {
                throw LocalError(.invalidArgument, "the source address must be an IP address, not '\(source)'")
            }
            bootstrap = bootstrap.bind(to: address)
        }
        let opening = Opening()
        return try await withTaskCancellationHandler {
            try await open(
                endpoint, host: host, within: milliseconds, bootstrap: bootstrap, tls: secure, opening, communicator)
        } onCancel: {
            opening.cancel()
        }
    }

    private func open(
        _ endpoint: IPEndpointData, host: String, within milliseconds: Int, bootstrap: ClientBootstrap,
        tls secure: ConnectionTLS?, _ opening: Opening, _ communicator: Communicator
    ) async throws -> any Connection {
        let logger = logger
        let deadline = NIODeadline.now() + .milliseconds(Int64(milliseconds))
        let webSocket = endpoint.transport == .ws || endpoint.transport == .wss
        // Succeeds once a ws or wss connection is upgraded (made by the channel initializer).
        let upgrade = NIOLockedValueBox<EventLoopFuture<Void>?>(nil)
        // Why the connection closed, should it close before `NIOConnection.of` finds it: a
        // server refused by TLS verification closes during the handshake, which `connect`
        // may not have returned from yet.
        let closeReason = NIOLockedValueBox<LocalError?>(nil)
        let channel: any Channel
        do {
            channel =
                try await bootstrap
                .connectTimeout(.milliseconds(Int64(milliseconds)))
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelOption(.writeBufferWaterMark, value: Self.waterMark(communicator))
                .channelOption(.allowRemoteHalfClosure, value: Self.allowsHalfClosure(endpoint.transport))
                .channelInitializer { channel in
                    opening.opened(channel)
                    var side: WebSocketSide?
                    if webSocket {
                        let upgraded = channel.eventLoop.makePromise(of: Void.self)
                        upgrade.withLockedValue { $0 = upgraded.futureResult }
                        side = .client(endpoint: endpoint, host: host, upgraded: upgraded)
                    }
                    return Self.addHandlers(
                        to: channel, communicator: communicator, adapter: nil, transport: endpoint.transport,
                        tls: secure, webSocket: side, logger: logger, closeReason: closeReason)
                }
                .connect(host: host, port: Int(endpoint.port)).get()
            // The channel that won (a host name with several addresses makes one per address,
            // each told to `opening` as it starts): closed here if cancelled meanwhile.
            opening.opened(channel)
        } catch _ where opening.isCancelled {
            throw CancellationError()
        } catch ChannelError.connectTimeout {
            throw LocalError(.connectTimeout, "cannot connect to \(host):\(endpoint.port) within \(milliseconds) ms")
        } catch {
            throw LocalError(.connectionRefused, "cannot connect to \(host):\(endpoint.port)", cause: error)
        }
        // The WebSocket upgrade and the server's validation must come before the deadline too.
        let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
            channel.close(promise: nil)
        }
        do {
            if let upgraded = upgrade.withLockedValue({ $0 }) { try await upgraded.get() }
            let connection = try await NIOConnection.of(channel, closeReason: closeReason)
            try await connection.waitUntilValidated()
            timer.cancel()
            return connection
        } catch {
            timer.cancel()
            if opening.isCancelled { throw CancellationError() }
            if NIODeadline.now() >= deadline {
                throw LocalError(
                    .connectTimeout,
                    "\(host):\(endpoint.port) did not \(webSocket ? "upgrade and " : "")validate the connection within \(milliseconds) ms"
                        + (endpoint.transport == .tcp
                            ? " (a hung server, or one that does not speak Ice over tcp there: an ssl endpoint sends nothing)"
                            : "")
                )
            }
            throw error
        }
    }

    public func listen(on endpoint: IPEndpointData, adapter: ObjectAdapter) async throws -> any Acceptor {
        let wildcard = Self.wildcardHosts.contains(endpoint.host)
        let host = wildcard && endpoint.host != "::" ? "0.0.0.0" : endpoint.host
        let logger = logger
        let communicator = adapter.communicator
        if endpoint.transport == .udp {
            let channel = try await bindDatagrams(host: host, endpoint: endpoint, adapter: adapter)
            return acceptor(channel, endpoint: endpoint, host: host, wildcard: wildcard, communicator)
        }
        let secure = try endpoint.transport.isSecure ? serverTLS(communicator) : nil
        let webSocket: WebSocketSide? = endpoint.transport == .ws || endpoint.transport == .wss ? .server : nil
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: Int32(clamping: communicator.connectionOptions.listenBacklog))
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptPause(transport: endpoint.transport.name, logger: logger))
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: Self.waterMark(communicator))
            .childChannelOption(.allowRemoteHalfClosure, value: Self.allowsHalfClosure(endpoint.transport))
            .childChannelInitializer { channel in
                Self.addHandlers(
                    to: channel, communicator: communicator, adapter: adapter, transport: endpoint.transport,
                    tls: secure, webSocket: webSocket, logger: logger)
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: Int(endpoint.port)).get()
        } catch {
            throw LocalError(.socket, "cannot listen on \(host):\(endpoint.port): \(Self.reason(error))", cause: error)
        }
        return acceptor(channel, endpoint: endpoint, host: host, wildcard: wildcard, communicator)
    }

    /// What a bound channel listens as, and publishes.
    private func acceptor(
        _ channel: any Channel, endpoint: IPEndpointData, host: String, wildcard: Bool, _ communicator: Communicator
    ) -> NIOAcceptor {
        var bound = endpoint
        bound.host = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host
        bound.port = Int32(channel.localAddress?.port ?? Int(endpoint.port))
        if communicator.connectionOptions.traceNetwork >= 2 {
            logger.info(
                "listening for \(endpoint.transport.name) \(endpoint.transport == .udp ? "datagrams" : "connections") at \(host):\(bound.port)"
            )
        }
        let published =
            wildcard
            ? Self.localAddresses(ipv6: host == "::").map { address in
                var published = bound
                published.host = address
                return published
            } : [bound]
        return NIOAcceptor(
            channel: channel, endpoint: bound, publishedEndpoints: published.isEmpty ? [bound] : published)
    }

    /// A failed bind or lookup as a person reads it: "Address already in use", not NIO's
    /// `bind(descriptor:ptr:bytes:): … (errno: 98)`.
    private static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        return "\(error)"
    }

    /// Hosts that mean every interface: Ice's empty host and `*`, and the IPv4 and IPv6 "any".
    private static let wildcardHosts: Set<String> = ["", "*", "0.0.0.0", "::"]

    /// This machine's addresses for a wildcard endpoint's proxies, as Ice publishes them:
    /// IPv4 (and IPv6 when listening on `::`), leaving out loopback unless there is nothing
    /// else, and IPv6 link-local addresses, which need a scope a proxy cannot carry.
    private static func localAddresses(ipv6: Bool) -> [String] {
        let devices = (try? System.enumerateDevices()) ?? []
        var seen = Set<String>()
        var addresses: [String] = []
        var loopback: [String] = []
        for device in devices {
            guard let address = device.address, let text = address.ipAddress, seen.insert(text).inserted else {
                continue
            }
            switch address {
            case .v4:
                if text.hasPrefix("127.") { loopback.append(text) } else { addresses.append(text) }
            case .v6 where ipv6:
                if text == "::1" {
                    loopback.append(text)
                } else if !text.lowercased().hasPrefix("fe80:") {
                    addresses.append(text)
                }
            default:
                continue
            }
        }
        return addresses.isEmpty ? loopback : addresses
    }
}

extension NIOTransport {
    /// A connection turns unwritable above `Floe.Connection.MaxQueuedBytes` of unsent data, and
    /// writable again once half of it has gone.
    fileprivate static func waterMark(_ communicator: Communicator) -> ChannelOptions.Types.WriteBufferWaterMark {
        let high = communicator.connectionOptions.maxQueuedBytes
        return .init(low: high / 2, high: high)
    }

    /// Whether a connection's channel allows half-closure. On tcp and ws the peer's end-of-file
    /// then arrives as `inputClosed` while NIO still holds the unsent bytes, which tells unsent
    /// requests apart (`bytesSent`). On ssl and wss that count is not kept, and half-closure is
    /// off: with it on, swift-nio-ssl in its closing state passes the peer's close_notify on as
    /// `inputClosed` instead of finishing its shutdown, and waits for its 5 s shutdown timeout,
    /// so both ends of every closed ssl connection stayed open 5 s
    /// (`TLSTests.aClosedSSLConnectionClosesAtOnceAtBothEnds`).
    fileprivate static func allowsHalfClosure(_ transport: EndpointData.Transport) -> Bool { !transport.isSecure }

    /// The pipeline of every Ice connection: TLS on ssl and wss connections, the WebSocket
    /// opening on ws and wss (which adds the rest once upgraded), then the protocol handler,
    /// which also splits the byte stream into messages (a client when there is no adapter).
    fileprivate static func addHandlers(
        to channel: any Channel, communicator: Communicator, adapter: ObjectAdapter?,
        transport: EndpointData.Transport, tls: ConnectionTLS?, webSocket: WebSocketSide?, logger: Logger,
        closeReason: NIOLockedValueBox<LocalError?>? = nil
    ) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            if let tls {
                let (handler, check) = try tls.makeHandlers()
                try pipeline.addHandler(handler)
                try pipeline.addHandler(check)
            }
            let addIce: @Sendable (any Channel) throws -> Void = { channel in
                try channel.pipeline.syncOperations.addHandler(
                    IceConnectionHandler(
                        communicator: communicator, adapter: adapter, eventLoop: channel.eventLoop, logger: logger,
                        transport: transport, closeReason: closeReason))
            }
            switch webSocket {
            case nil:
                try addIce(channel)
            case .server:
                try WebSocketOpening.addServerHandlers(
                    to: channel, adapter: adapter, communicator: communicator, logger: logger,
                    timeout: handshakeTimeout(communicator), addIce: addIce)
            case .client(let endpoint, let host, let upgraded):
                try WebSocketOpening.addClientHandlers(
                    to: channel, communicator: communicator, endpoint: endpoint, host: host, upgraded: upgraded,
                    addIce: addIce)
            }
        }
    }

    /// How long a TLS handshake may take, on either side, and a server waits for a WebSocket
    /// upgrade: `Ice.Override.ConnectTimeout` when set, else 10 s.
    fileprivate static func handshakeTimeout(_ communicator: Communicator) -> TimeAmount {
        let milliseconds = communicator.connectionOptions.connectTimeout
        return .milliseconds(Int64(milliseconds > 0 ? milliseconds : 10_000))
    }

    /// What an outgoing ssl connection needs.
    private func clientTLS(_ communicator: Communicator, host: String) throws -> ConnectionTLS {
        let contexts = try tls.contexts(for: communicator)
        // SNI and name checking take a DNS name; an IP address is checked against the
        // certificate's IP addresses by the connected address instead.
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        let hostname = isAddress ? nil : host
        return ConnectionTLS {
            let failure = TLSVerificationFailure()
            return (
                try NIOSSLClientHandler(
                    context: contexts.client, serverHostname: hostname,
                    customVerificationCallbackWithMetadata: contexts.clientVerifier.callback(failure: failure)),
                TLSPeerCheck(
                    filter: contexts.settings.trustedServers,
                    verifies: verifiesPeers(contexts.settings.client.certificateVerification),
                    filterName: "IceSSL.TrustOnly.Client", handshakeTimeout: Self.handshakeTimeout(communicator),
                    verificationFailure: failure)
            )
        }
    }

    /// What the incoming connections of an ssl endpoint need: the contexts are looked up for
    /// each connection, so that connections accepted after `reloadTLS` use the new ones.
    private func serverTLS(_ communicator: Communicator) throws -> ConnectionTLS {
        let tls = tls
        @Sendable func server() throws -> (NIOSSLContext, TLSConfiguration, TLSChainVerifier, SubjectFilter) {
            let contexts = try tls.contexts(for: communicator)
            guard let context = contexts.server, let configuration = contexts.settings.server,
                let verifier = contexts.serverVerifier
            else {
                throw LocalError(
                    .invalidArgument,
                    "an ssl or wss endpoint needs a certificate: set IceSSL.CertFile and IceSSL.KeyFile")
            }
            return (context, configuration, verifier, contexts.settings.trustedClients)
        }
        _ = try server()  // fails the listen, not the first connection
        return ConnectionTLS {
            let (context, configuration, verifier, filter) = try server()
            let failure = TLSVerificationFailure()
            return (
                NIOSSLServerHandler(
                    context: context, customVerificationCallbackWithMetadata: verifier.callback(failure: failure)),
                TLSPeerCheck(
                    filter: filter, verifies: verifiesPeers(configuration.certificateVerification),
                    filterName: "IceSSL.TrustOnly.Server", handshakeTimeout: Self.handshakeTimeout(communicator),
                    verificationFailure: failure)
            )
        }
    }
}

/// Whether a verification mode checks the certificates peers present.
private func verifiesPeers(_ mode: CertificateVerification) -> Bool {
    switch mode {
    case .none(let options): options.validatePresentedCertificates
    case .noHostnameVerification, .fullVerification: true
    }
}

/// Which end of a WebSocket opening a ws or wss connection is.
enum WebSocketSide {
    case server
    case client(endpoint: IPEndpointData, host: String, upgraded: EventLoopPromise<Void>)
}

/// How the connections of one endpoint set up TLS: the handlers each new channel gets.
struct ConnectionTLS: Sendable {
    let makeHandlers: @Sendable () throws -> (NIOSSLHandler, TLSPeerCheck)
}

struct NIOAcceptor: Acceptor {
    let channel: any Channel
    let endpoint: IPEndpointData
    let publishedEndpoints: [IPEndpointData]

    func close() async { try? await channel.close() }
}

extension NIOTransport {
    /// The handler an accepted connection of `adapter` gets, so that a server connection can be
    /// driven without a socket (the frame fuzzer in Tools/fuzz feeds it through a testing
    /// channel). Not for applications.
    @_spi(Testing) public static func serverConnectionHandler(
        adapter: ObjectAdapter, eventLoop: any EventLoop, logger: Logger
    ) -> any ChannelInboundHandler {
        IceConnectionHandler(communicator: adapter.communicator, adapter: adapter, eventLoop: eventLoop, logger: logger)
    }

    /// The same for an outgoing connection of `communicator`: the fuzzer feeds it what a hostile
    /// server could send. Not for applications.
    @_spi(Testing) public static func clientConnectionHandler(
        communicator: Communicator, eventLoop: any EventLoop, logger: Logger
    ) -> any ChannelInboundHandler {
        IceConnectionHandler(communicator: communicator, adapter: nil, eventLoop: eventLoop, logger: logger)
    }

    /// How many twoway calls of the Ice handler in `channel`'s pipeline wait for their replies,
    /// on the channel's event loop.
    @_spi(Testing) public static func outstandingCalls(in channel: any Channel) throws -> Int {
        try channel.pipeline.syncOperations.handler(type: IceConnectionHandler.self).pending.count
    }

    /// The connection of the Ice handler in `channel`'s pipeline, on the channel's event loop.
    @_spi(Testing) public static func connection(in channel: any Channel) throws -> (any Connection)? {
        try channel.pipeline.syncOperations.handler(type: IceConnectionHandler.self).connection
    }
}

/// A client channel being opened, closed if its opener is cancelled (before or after the
/// channel exists).
private final class Opening: Sendable {
    private let state = NIOLockedValueBox<(channel: (any Channel)?, cancelled: Bool)>((nil, false))

    var isCancelled: Bool { state.withLockedValue { $0.cancelled } }

    func opened(_ channel: any Channel) {
        let cancelled = state.withLockedValue { state in
            state.channel = channel
            return state.cancelled
        }
        if cancelled { channel.close(promise: nil) }
    }

    func cancel() {
        let channel = state.withLockedValue { state in
            state.cancelled = true
            return state.channel
        }
        channel?.close(promise: nil)
    }
}
