public import FloeEncoding
public import FloeProtocol

/// A failure detected locally: an invocation that could not be made or completed, a
/// malformed reply, a destroyed communicator.
public struct LocalError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        public static let communicatorDestroyed = Code("communicatorDestroyed")
        public static let objectAdapterDeactivated = Code("objectAdapterDeactivated")
        public static let alreadyRegistered = Code("alreadyRegistered")
        public static let notRegistered = Code("notRegistered")
        /// No endpoint to reach the object (and no collocated adapter hosts it).
        public static let noEndpoint = Code("noEndpoint")
        /// An operation that returns data was called on a oneway or batch proxy.
        public static let twowayOnly = Code("twowayOnly")
        /// A reply or request whose content could not be decoded.
        public static let marshal = Code("marshal")
        /// A call the runtime makes itself (to a locator, a router) got a user exception it does
        /// not expect. (An application's call gets `DispatchError` status `unknownUserException`.)
        public static let unknownUserException = Code("unknownUserException")
        public static let invalidArgument = Code("invalidArgument")
        /// A proxy or endpoint string that does not parse.
        public static let proxyParse = Code("proxyParse")
        public static let connectionRefused = Code("connectionRefused")
        /// The connection broke while a request was outstanding.
        public static let connectionLost = Code("connectionLost")
        /// The peer closed the connection gracefully before answering; retrying is safe.
        public static let closeConnection = Code("closeConnection")
        public static let timeout = Code("timeout")
        /// No connection could be established (and validated) within the connect timeout.
        public static let connectTimeout = Code("connectTimeout")
        /// The peer stayed silent for the idle timeout while a call was outstanding (ACM).
        public static let connectionTimeout = Code("connectionTimeout")
        public static let invocationTimeout = Code("invocationTimeout")
        public static let protocolError = Code("protocolError")
        /// A feature asked for that Floe does not have yet: the call fails rather than quietly
        /// doing something else.
        public static let unsupported = Code("unsupported")
        /// A message too big for one udp datagram (65,507 bytes): Ice's `DatagramLimitException`.
        public static let datagramLimit = Code("datagramLimit")
        /// The locator that resolves an indirect proxy (or takes an adapter's registration) did
        /// not answer; the error underneath is the `cause`.
        public static let locatorUnreachable = Code("locatorUnreachable")
        /// The TLS handshake failed, or a peer's certificate was refused (untrusted, expired,
        /// wrong host name, not on `IceSSL.TrustOnly`): Ice's `SecurityException`.
        public static let security = Code("security")
        /// A local socket could not be set up: an adapter cannot listen on its endpoint (the
        /// port is taken, the address is not this machine's): Ice's `SocketException`.
        public static let socket = Code("socket")

        public var description: String { name }
    }

    public var code: Code
    public var message: String
    /// Whether the request provably never left this process (the connection closed before it
    /// was written): retrying it cannot run it twice, whatever the operation's mode.
    public private(set) var requestNotSent = false
    /// The error underneath, when one caused this (a socket error, a decoding error…). Not part
    /// of equality.
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public static func == (a: LocalError, b: LocalError) -> Bool {
        a.code == b.code && a.message == b.message && a.requestNotSent == b.requestNotSent
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(requestNotSent)
    }

    /// The error of a request that was never written.
    public static func notSent(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) -> LocalError {
        var error = LocalError(code, message, cause: cause)
        error.requestNotSent = true
        return error
    }

    public var description: String { "\(code): \"\(message)\"" + (cause.map { " (cause: \($0))" } ?? "") }
}

/// What a dispatch answers instead of a result: reply statuses 2 and up. Statuses 2–4 name
/// the request that found no target; 5 and up carry a description for people.
public struct DispatchError: Error, Hashable, Sendable, CustomStringConvertible {
    public var status: ReplyStatus
    public var identity: Identity
    public var facet: String
    public var operation: String
    public var message: String

    public init(
        status: ReplyStatus, identity: Identity = Identity(), facet: String = "", operation: String = "",
        message: String = ""
    ) {
        self.status = status
        self.identity = identity
        self.facet = facet
        self.operation = operation
        self.message = message
    }

    /// The error a reply with status 2 or up carries; nil for statuses 0 and 1.
    init?(failedReply reply: Reply) {
        switch reply.body {
        case .target(let identity, let facet, let operation):
            self.init(status: reply.status, identity: identity, facet: facet, operation: operation)
        case .message(let message):
            self.init(status: reply.status, message: message)
        case .encapsulation:
            return nil
        }
    }

    public static func objectNotExist(_ current: Current) -> DispatchError {
        DispatchError(status: .objectNotExist, identity: current.id, facet: current.facet, operation: current.operation)
    }
    public static func facetNotExist(_ current: Current) -> DispatchError {
        DispatchError(status: .facetNotExist, identity: current.id, facet: current.facet, operation: current.operation)
    }
    public static func operationNotExist(_ current: Current) -> DispatchError {
        DispatchError(
            status: .operationNotExist, identity: current.id, facet: current.facet, operation: current.operation)
    }

    public var description: String {
        switch status.rawValue {
        case 2, 3, 4:
            "\(status): identity '\(identity.category.isEmpty ? "" : identity.category + "/")\(identity.name)'"
                + (facet.isEmpty ? "" : " facet '\(facet)'") + " operation '\(operation)'"
        default: "\(status): \"\(message)\""
        }
    }
}
