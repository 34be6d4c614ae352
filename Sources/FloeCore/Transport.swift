public import FloeEncoding
public import FloeProtocol
public import NIOCore

/// What a network transport provides to the runtime. FloeCore knows transports only through
/// this protocol; FloeNIO implements it over TCP.
public protocol Transport: Sendable {
    /// Opens a client connection and waits for the server's connection validation.
    func connect(to endpoint: IPEndpointData, communicator: Communicator) async throws -> any Connection
    /// Listens for connections whose requests `adapter` dispatches; the returned acceptor
    /// reports the endpoint actually bound (port 0 becomes a real port).
    func listen(on endpoint: IPEndpointData, adapter: ObjectAdapter) async throws -> any Acceptor
    /// Whether a server answers at `endpoint` within `timeout`, told without finishing a TLS
    /// handshake or speaking Ice: over tcp and ws the connection is accepted; over ssl and wss
    /// the server answers a ClientHello. The connection is closed at once. Nil when the
    /// transport cannot tell. (A registry checks this way a server whose TLS handshake it
    /// could not complete without a certificate of its own.)
    func acceptsConnections(at endpoint: IPEndpointData, timeout: Duration) async -> Bool?
}

extension Transport {
    public func acceptsConnections(at endpoint: IPEndpointData, timeout: Duration) async -> Bool? { nil }
}

/// An established connection that carries requests, in both directions: a client connection
/// given an adapter (`setAdapter`) serves requests its peer sends back over it (bidirectional
/// connections, for callbacks through firewalls).
public protocol Connection: AnyObject, Sendable, CustomStringConvertible {
    /// Sends a request as `mode` says: a twoway request returns its reply; a oneway request
    /// returns nil once written; a batch oneway request is queued (nil) until the batch is
    /// flushed, explicitly or when it would grow past `Ice.BatchAutoFlushSize` (1 MiB; a
    /// datagram on udp). A twoway request
    /// registers with `cancellation`, when given, how to forget it if the call ends early.
    /// `compress` asks for Ice's message compression (`-z`, `ice_compress`).
    func send(
        _ header: RequestHeader, parameters: ByteBuffer, mode: ProxyMode, compress: Bool,
        cancellation: CallCancellation?
    ) async throws -> Reply?
    /// Sends the queued batch oneway requests as one batch message.
    func flushBatchRequests() async throws
    /// Closes gracefully: waits for outstanding replies (dispatching the peer's requests
    /// meanwhile, as Ice's `close(GracefullyWithWait)`, though calls those make over this
    /// connection fail), then for running dispatches, then sends close-connection.
    func close() async
    /// Closes gracefully, failing this side's outstanding calls with `error` at once instead of
    /// waiting for their replies (which are ignored should they come): what
    /// `Communicator.destroy()` does to its client connections, as Ice's does, so that a
    /// dispatch waiting on such a call ends.
    func close(failingCalls error: LocalError) async
    /// Closes at once, without close-connection: outstanding calls fail with `connectionLost`
    /// and running dispatches are cancelled (Ice's forceful close, 3.8's `abort()`).
    func abort() async
    /// The communicator this connection belongs to.
    var communicator: Communicator { get }
    var isClosed: Bool { get }
    /// The adapter that dispatches requests arriving on this connection (nil: they are
    /// answered with object-not-exist). Incoming connections start with their listener's adapter.
    func setAdapter(_ adapter: ObjectAdapter?) async
    func getAdapter() async -> ObjectAdapter?
    /// Changes this connection's active connection management, as Ice's `setACM` does: its idle
    /// timeout in seconds (heartbeats go out after half of it without a write), when it closes
    /// for idleness, and whether it sends heartbeats; nil keeps a setting. Glacier2 clients
    /// keep the router's connection alive this way (Floe does it for them, see
    /// `createObjectAdapterWithRouter`).
    func setACM(timeout: Int?, close: ACMClose?, heartbeats: Bool?) async
    /// Where the connection runs (Ice's `ConnectionInfo`): addresses, ports, transport.
    var info: ConnectionInfo { get }
    /// Whether the connection is over udp, as `info` says; read on every call through a fixed
    /// proxy, so a transport answers it without building `info` (addresses, headers).
    var isDatagram: Bool { get }
    /// Whether the connection is encrypted (ssl, wss), as `info` says; read as `isDatagram` is.
    var isSecure: Bool { get }
    /// Calls `callback` once when the connection is closed, for whatever reason (at once if it
    /// already is): a server learns that a client it calls back has left. Each call adds a
    /// callback, kept until the connection closes (Ice's `setCloseCallback` replaces instead):
    /// register once per connection, not once per request.
    func onClose(_ callback: @escaping @Sendable () -> Void)
    /// Sends a heartbeat (validate-connection) now, as Ice's `Connection.heartbeat` does; a
    /// closed connection throws.
    func heartbeat() async throws
    /// The batch oneway requests this connection had queued and never sent when it closed,
    /// taken once. The communicator queues them on its next connection to the same place: Ice
    /// keeps a batch on its proxy, so a connection closing before the flush loses nothing.
    func takeUnsentBatch() -> UnsentBatch?
    /// Queues `batch` ahead of the batch oneway requests queued here since; false if this
    /// connection has closed too.
    func queue(_ batch: UnsentBatch) async -> Bool
}

extension Connection {
    /// (A transport that cannot fail its calls early closes as `close()` does.)
    public func close(failingCalls error: LocalError) async { await close() }

    public var isDatagram: Bool { info.type == "udp" }
    public var isSecure: Bool { info.isSecure }

    public func heartbeat() async throws {
        throw LocalError(.unsupported, "this connection sends no heartbeats")
    }

    public func takeUnsentBatch() -> UnsentBatch? { nil }
    public func queue(_ batch: UnsentBatch) async -> Bool { false }

    /// `close()` when `gracefully`, else `abort()`.
    public func close(gracefully: Bool) async {
        if gracefully { await close() } else { await abort() }
    }
}

/// Batch oneway requests a connection queued and never sent (see `Connection.takeUnsentBatch`).
public struct UnsentBatch: Sendable {
    public var requests: [Request]
    /// Whether any of them asked for compression.
    public var compress: Bool

    public init(requests: [Request], compress: Bool) {
        self.requests = requests
        self.compress = compress
    }

    /// `self`, then `later`.
    package func followed(by later: UnsentBatch) -> UnsentBatch {
        UnsentBatch(requests: requests + later.requests, compress: compress || later.compress)
    }
}

/// What Ice's `ConnectionInfo`/`IPConnectionInfo` tell about a connection.
public struct ConnectionInfo: Hashable, Sendable, CustomStringConvertible {
    /// The endpoint type: `tcp`, `ssl`, `ws`, `wss` or `udp`.
    public var type: String
    /// Whether the connection is encrypted (ssl, wss).
    public var isSecure: Bool
    /// What TLS told about the peer, on ssl and wss connections once the handshake is done.
    public var tls: TLSPeerInfo?
    /// Whether this side accepted the connection (a server) rather than opened it.
    public var incoming: Bool
    public var localAddress: String
    public var localPort: Int
    public var remoteAddress: String
    public var remotePort: Int
    /// The HTTP headers of a ws or wss connection's upgrade, as sent: the client's request on
    /// the server, the server's response on the client (ZeroC's `WSConnectionInfo.headers`);
    /// a name sent twice has its values joined by ", ". Empty on other connections.
    public var headers: [String: String]

    public init(
        type: String, isSecure: Bool, incoming: Bool, localAddress: String, localPort: Int, remoteAddress: String,
        remotePort: Int, tls: TLSPeerInfo? = nil, headers: [String: String] = [:]
    ) {
        self.tls = tls
        self.headers = headers
        self.type = type
        self.isSecure = isSecure
        self.incoming = incoming
        self.localAddress = localAddress
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
    }

    public var description: String {
        "\(type) \(localAddress):\(localPort) \(incoming ? "<-" : "->") \(remoteAddress):\(remotePort)"
    }
}

extension Connection {
    /// Sends a request that cannot end early.
    public func send(_ header: RequestHeader, parameters: ByteBuffer, mode: ProxyMode) async throws -> Reply? {
        try await send(header, parameters: parameters, mode: mode, compress: false, cancellation: nil)
    }

    /// A proxy for `id` that is bound to this connection (`ice_fixed`), e.g. to call back a
    /// client over the connection it opened.
    public func createProxy(_ id: Identity) -> any ObjectPrx {
        ObjectPrxI(
            _reference: ProxyReference(
                communicator: communicator, data: ProxyData(identity: id), fixedConnection: self))
    }
}

/// The peer of an ssl connection as its TLS handshake showed it (Ice's `SSLConnectionInfo`).
public struct TLSPeerInfo: Hashable, Sendable {
    /// The peer certificate's subject, in certificate order as IceSSL prints it
    /// (`C=US, O=Example, CN=client`); nil when the peer sent no certificate.
    public var subject: String?
    /// The peer's certificate (DER), which the handshake verified unless verification is off
    /// (`IceSSL.VerifyPeer=0`, or `1` on a server and the client sent none).
    public var certificate: [UInt8]?
    /// The chain the handshake verified (DER): the peer's certificate first, then each issuer up
    /// to the trusted root. Unverified, just the certificate the peer sent; empty without one.
    public var chain: [[UInt8]]
    /// Whether the certificate was verified against the trusted CAs.
    public var verified: Bool
    /// The negotiated protocol: `TLSv1.2` or `TLSv1.3`.
    public var protocolVersion: String

    public init(
        subject: String?, certificate: [UInt8]?, chain: [[UInt8]] = [], verified: Bool, protocolVersion: String
    ) {
        self.subject = subject
        self.certificate = certificate
        self.chain = chain.isEmpty ? certificate.map { [$0] } ?? [] : chain
        self.verified = verified
        self.protocolVersion = protocolVersion
    }
}

/// A listening socket.
public protocol Acceptor: Sendable {
    /// Where it listens, as a local peer reaches it (a wildcard host as the loopback address).
    var endpoint: IPEndpointData { get }
    /// What proxies of its adapter carry: for a wildcard host, one endpoint per address of
    /// this machine, as Ice publishes them.
    var publishedEndpoints: [IPEndpointData] { get }
    func close() async
}

extension Acceptor {
    public var publishedEndpoints: [IPEndpointData] { [endpoint] }
}
