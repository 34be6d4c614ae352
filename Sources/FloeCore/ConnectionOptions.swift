import FloeEncoding
import FloeProtocol

/// How connections behave: idle handling, dispatch limits, connection establishment and
/// tracing. `Communicator(properties:)` fills it from the `Ice.*` properties named below.
public struct ConnectionOptions: Sendable {
    /// Seconds of silence after which a connection counts as idle (`Ice.ACM.Timeout`, or the
    /// 3.8 name `Ice.Connection.IdleTimeout`; 60). Every connection sends a heartbeat when it
    /// has written nothing for half of it, so ZeroC peers' ACM never closes it while it is in
    /// use. 0 disables heartbeats and idle closing.
    public var idleTimeout = 60
    /// `idleTimeout` for outgoing connections only (`Ice.ACM.Client.Timeout`, or
    /// `Ice.Connection.Client.IdleTimeout`); nil: `idleTimeout`.
    public var clientIdleTimeout: Int?
    /// `idleTimeout` for incoming connections only (`Ice.ACM.Server.Timeout`, or
    /// `Ice.Connection.Server.IdleTimeout`); nil: `idleTimeout`.
    public var serverIdleTimeout: Int?
    /// Whether outgoing connections send heartbeats (`Ice.ACM.Client.Heartbeat`, else
    /// `Ice.ACM.Heartbeat`: 0 turns them off; Ice 3.7's 1, 2 and 3 all mean Floe's rule, a
    /// heartbeat whenever nothing was written for half the idle timeout).
    public var clientHeartbeats = true
    /// The same for incoming connections (`Ice.ACM.Server.Heartbeat`, else `Ice.ACM.Heartbeat`).
    public var serverHeartbeats = true
    /// Whether outgoing connections are kept open however long they stay unused: Ice 3.7's
    /// heartbeat 2 (on idle) and 3 (always), whose heartbeats count as the sender's own
    /// activity there, so its idle closing never comes. ZeroC's documented way of keeping a
    /// connection (and a session bound to it) open.
    public var clientKeepsAlive = false
    /// The same for incoming connections.
    public var serverKeepsAlive = false

    /// The idle timeout of an outgoing (`client`) or incoming connection.
    public func idleTimeout(client: Bool) -> Int { (client ? clientIdleTimeout : serverIdleTimeout) ?? idleTimeout }
    /// When outgoing connections are closed for idleness (`Ice.ACM.Client.Close`, else
    /// `Ice.ACM.Close`; default: on invocation and idle, as in Ice 3.7). One with an adapter
    /// (bidirectional) or to a router (a Glacier2 session ends with its connection) is never
    /// closed for idleness.
    public var clientClose = ACMClose.onInvocationAndIdle
    /// The same for incoming connections (`Ice.ACM.Server.Close`, else `Ice.ACM.Close`; default:
    /// on invocation, as in Ice 3.7, so a callback to a client that went silent fails after the
    /// idle timeout instead of waiting forever; not when idle, because a server closing an idle
    /// connection can drop a oneway in flight).
    public var serverClose = ACMClose.onInvocation
    /// Seconds after which an incoming connection with no request, reply or dispatch (heartbeats
    /// do not count) is closed gracefully (`Ice.Connection.InactivityTimeout`, as in Ice 3.8:
    /// 300; 0 never closes it). Clients reconnect transparently; `serverClose` can close sooner.
    public var inactivityTimeout = 300
    /// Milliseconds to establish a connection, including the peer's validation
    /// (`Ice.Override.ConnectTimeout`; otherwise the endpoint's `-t` timeout, else 10 s).
    public var connectTimeout = -1
    /// Requests dispatched at once per connection (`Ice.Connection.MaxDispatches`, 100); beyond
    /// it, requests wait in arrival order, and the connection stops reading only when they hold
    /// `Floe.Connection.MaxQueuedBytes`. 0 means no limit.
    public var maxDispatches = 100
    /// Requests dispatched at once by all of a communicator's connections together
    /// (`Floe.MaxDispatches`, 10,000; 0 means no limit). Beyond it, requests wait on their
    /// connections as they do at `maxDispatches`.
    public var maxCommunicatorDispatches = 10_000
    /// Seconds after which a connection whose requests wait while no dispatch finishes logs a
    /// warning naming the limit that holds them (`Floe.Connection.DispatchStallWarning`, 10; 0
    /// never warns): nested calls back over a connection deadlock at `maxDispatches`, as they do
    /// at a ZeroC server's thread pool size, and without a word the process only seems to hang.
    public var dispatchStallWarning = 10
    /// Bytes a connection may hold for a peer in each direction
    /// (`Floe.Connection.MaxQueuedBytes`, 4 MiB): written but not yet taken by the peer, and
    /// requests read but not yet dispatched. Past it, no request is dispatched and callers wait
    /// until the peer reads, and reading stops until waiting requests drain.
    public var maxQueuedBytes = 4 << 20
    /// Bytes of batched oneway requests after which a connection sends its batch without
    /// waiting for a flush (`Ice.BatchAutoFlushSize`, in KiB as in Ice: 1,024; 0 never does).
    /// A batch is sent before the request that would take it past this size, so a batch stays
    /// within a peer's `Ice.MessageSizeMax` of the same size. Over udp, a datagram's size
    /// bounds it too.
    public var batchAutoFlushSize = 1 << 20
    /// Seconds a connection may stay above `maxQueuedBytes` of unsent data before it is closed
    /// as stalled (`Floe.Connection.WriteStallTimeout`, 60; 0 never closes it).
    public var writeStallTimeout = 60
    /// Connections the kernel completes for a listening endpoint before the server accepts them
    /// (`Ice.TCP.Backlog`, 4096 as ZeroC's `SOMAXCONN`; the kernel caps it at
    /// `net.core.somaxconn`). Beyond it, connection attempts wait for a SYN retry, a second.
    public var listenBacklog = 4096
    /// Seconds a graceful close may wait for replies to this side's calls, and then for the peer
    /// to close after close-connection, before the connection is closed forcefully
    /// (`Ice.Connection.CloseTimeout`, 10; 0 waits forever). Running dispatches are waited for
    /// however long they take, as in Ice (`Communicator.abortConnections()` ends them).
    public var closeTimeout = 10
    /// The default for proxies' `ice_endpointSelection` (`Ice.Default.EndpointSelection`).
    public var endpointSelection = EndpointSelection.random
    /// The default for proxies' `ice_preferSecure` (`Ice.Default.PreferSecure`, 0).
    public var preferSecure = false
    /// `Ice.Trace.Network`: 1 logs connections opened and closed, 2 also listening sockets.
    public var traceNetwork = 0
    /// `Ice.Trace.Protocol`: 1 logs every message sent and received.
    public var traceProtocol = 0
    /// `Ice.Warn.Dispatch` (1, as in Ice): 1 logs a warning for each dispatch that failed with
    /// an unexpected error (one the client gets as an unknown exception), naming the operation,
    /// the identity and the whole error; 2 also for a missing object, facet or operation.
    public var warnDispatch = 1
    /// `Ice.Warn.Connections` (0): 1 logs connections lost or timed out as warnings (else at
    /// debug level). Peers breaking the protocol or refused by TLS are always warnings.
    public var warnConnections = 0
    /// `Floe.Warn.PerSecond` (20): at most this many warnings a second about what peers send
    /// (failed dispatches, connections closed for breaking the protocol); 0 lifts the cap.
    public var warningsPerSecond = 20
    /// `Floe.Dispatch.ErrorDetails` (0): 1 sends clients the whole description of unexpected
    /// errors, for development; by default they get the error's type (and an enum's case) only,
    /// while `Ice.Warn.Dispatch` logs the whole error on the server.
    public var sendsErrorDetails = false
    /// `Ice.Compression.Level`: 1 (fastest, ZeroC's default) to 9 (smallest).
    public var compressionLevel = 1
    /// `Floe.Compression.Codec`: the codec of compressed requests (replies use the request's).
    public var compressionCodec = CompressionCodecChoice.auto
    /// `Ice.Override.Compress`: when set, whether every request is compressed, whatever its
    /// proxy or endpoint says.
    public var overrideCompress: Bool?

    public init() {}
}

/// Which codec compressed messages use (`Floe.Compression.Codec`). Received messages are read
/// in either, whatever this says.
public enum CompressionCodecChoice: String, Sendable, CaseIterable {
    /// bzip2 until the peer shows it reads zlib (a Floe peer), then zlib: ZeroC 3.7 peers get
    /// bzip2, Floe peers zlib, with nothing configured.
    case auto
    /// Always zlib, which ZeroC 3.7 peers cannot read.
    case zlib
    /// Always bzip2, as ZeroC 3.7 does.
    case bzip2
}

/// When active connection management closes a connection (ZeroC's `Ice::ACMClose`).
public enum ACMClose: Int, Sendable {
    case off = 0
    /// Gracefully, once nothing was sent or received for the idle timeout and nothing is outstanding.
    case onIdle = 1
    /// Forcefully, when a call is outstanding but the peer sent nothing (not even a heartbeat)
    /// for the idle timeout: the peer is presumed dead.
    case onInvocation = 2
    /// Both of the above.
    case onInvocationAndIdle = 3
    /// Forcefully once idle, even with calls outstanding.
    case onIdleForceful = 4

    public var closesWhenIdle: Bool { self == .onIdle || self == .onInvocationAndIdle }
    public var closesOnSilentInvocation: Bool { self == .onInvocation || self == .onInvocationAndIdle }
}

extension ConnectionOptions {
    init(properties: Properties) throws {
        idleTimeout = try properties.int(
            "Ice.ACM.Timeout", default: try properties.int("Ice.Connection.IdleTimeout", default: 60))
        clientIdleTimeout = try Self.optionalInt(
            properties, "Ice.ACM.Client.Timeout", "Ice.Connection.Client.IdleTimeout")
        serverIdleTimeout = try Self.optionalInt(
            properties, "Ice.ACM.Server.Timeout", "Ice.Connection.Server.IdleTimeout")
        // A negative timeout turned connection management off without a word.
        for (name, value) in [
            ("Ice.ACM.Timeout", idleTimeout), ("Ice.ACM.Client.Timeout", clientIdleTimeout ?? 0),
            ("Ice.ACM.Server.Timeout", serverIdleTimeout ?? 0),
        ] where value < 0 {
            throw LocalError(.invalidArgument, "\(name) must be 0 (off) or more seconds, not \(value)")
        }
        let heartbeat = try properties.int("Ice.ACM.Heartbeat", default: 1)
        let clientHeartbeat = try Self.heartbeat(properties, "Ice.ACM.Client.Heartbeat", heartbeat)
        let serverHeartbeat = try Self.heartbeat(properties, "Ice.ACM.Server.Heartbeat", heartbeat)
        (clientHeartbeats, clientKeepsAlive) = (clientHeartbeat != 0, clientHeartbeat >= 2)
        (serverHeartbeats, serverKeepsAlive) = (serverHeartbeat != 0, serverHeartbeat >= 2)
        let close = try properties.int("Ice.ACM.Close", default: -1)
        clientClose = try Self.close(properties, "Ice.ACM.Client.Close", close, default: .onInvocationAndIdle)
        serverClose = try Self.close(properties, "Ice.ACM.Server.Close", close, default: .onInvocation)
        // Ice 3.8's names (`Ice.Connection.Client.*`, `.Server.*`; seconds) are read too, after
        // Floe's: one value serves both sides where Floe has one.
        connectTimeout =
            try Self.optionalInt(properties, "Ice.Override.ConnectTimeout")
            ?? Self.optionalInt(properties, "Ice.Connection.Client.ConnectTimeout").map { seconds in
                guard seconds > 0 else { return -1 }
                let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1000)
                return overflow ? -1 : milliseconds  // (more seconds than ever pass: no limit)
            }
            ?? -1
        maxDispatches =
            try Self.optionalInt(properties, "Ice.Connection.MaxDispatches", "Ice.Connection.Server.MaxDispatches")
            ?? 100
        closeTimeout =
            try Self.optionalInt(
                properties, "Ice.Connection.CloseTimeout", "Ice.Connection.Server.CloseTimeout",
                "Ice.Connection.Client.CloseTimeout") ?? 10
        listenBacklog = max(1, try properties.int("Ice.TCP.Backlog", default: 4096))
        inactivityTimeout =
            try Self.optionalInt(
                properties, "Ice.Connection.InactivityTimeout", "Ice.Connection.Server.InactivityTimeout") ?? 300
        maxQueuedBytes = max(try properties.int("Floe.Connection.MaxQueuedBytes", default: 4 << 20), 64 * 1024)
        writeStallTimeout = try properties.int("Floe.Connection.WriteStallTimeout", default: 60)
        let autoFlush = try properties.int("Ice.BatchAutoFlushSize", default: 1024)
        batchAutoFlushSize = autoFlush <= 0 ? 0 : autoFlush > Int(Int32.max) / 1024 ? Int(Int32.max) : autoFlush * 1024
        maxCommunicatorDispatches = try properties.int("Floe.MaxDispatches", default: 10_000)
        dispatchStallWarning = try properties.int("Floe.Connection.DispatchStallWarning", default: 10)
        let selection = properties["Ice.Default.EndpointSelection"] ?? "Random"
        guard let parsed = EndpointSelection(rawValue: selection) else {
            throw LocalError(
                .invalidArgument, "Ice.Default.EndpointSelection must be Random or Ordered, not '\(selection)'")
        }
        endpointSelection = parsed
        preferSecure = try properties.int("Ice.Default.PreferSecure", default: 0) != 0
        traceNetwork = try properties.int("Ice.Trace.Network", default: 0)
        traceProtocol = try properties.int("Ice.Trace.Protocol", default: 0)
        warnDispatch = try properties.int("Ice.Warn.Dispatch", default: 1)
        warnConnections = try properties.int("Ice.Warn.Connections", default: 0)
        warningsPerSecond = max(0, try properties.int("Floe.Warn.PerSecond", default: 20))
        sendsErrorDetails = try properties.int("Floe.Dispatch.ErrorDetails", default: 0) > 0
        compressionLevel = try properties.int("Ice.Compression.Level", default: 1)
        guard (1...9).contains(compressionLevel) else {
            throw LocalError(.invalidArgument, "Ice.Compression.Level must be between 1 and 9, not \(compressionLevel)")
        }
        let codec = properties["Floe.Compression.Codec"] ?? "auto"
        guard let choice = CompressionCodecChoice(rawValue: codec) else {
            throw LocalError(.invalidArgument, "Floe.Compression.Codec must be auto, zlib or bzip2, not '\(codec)'")
        }
        compressionCodec = choice
        if properties["Ice.Override.Compress"] != nil {
            overrideCompress = try properties.int("Ice.Override.Compress", default: 0) > 0
        }
    }

    /// The first of these properties that is set, as an integer.
    private static func optionalInt(_ properties: Properties, _ names: String...) throws -> Int? {
        for key in names where properties[key] != nil { return try properties.int(key, default: 0) }
        return nil
    }

    /// Ice 3.7's `ACMHeartbeat`: 0 off, 1 on dispatch, 2 on idle, 3 always.
    private static func heartbeat(_ properties: Properties, _ name: String, _ general: Int) throws -> Int {
        let value = try properties.int(name, default: general)
        guard (0...3).contains(value) else {
            throw LocalError(.invalidArgument, "\(name) must be between 0 and 3, not \(value)")
        }
        return value
    }

    private static func close(_ properties: Properties, _ name: String, _ general: Int, default: ACMClose) throws
        -> ACMClose
    {
        let value = try properties.int(name, default: general >= 0 ? general : `default`.rawValue)
        guard let close = ACMClose(rawValue: value) else {
            throw LocalError(.invalidArgument, "\(name) must be between 0 and 4, not \(value)")
        }
        return close
    }
}
