public import FloeEncoding
public import FloeProtocol
public import NIOCore

/// Something that answers requests: generated servant protocols extend it, and middleware wraps it.
public protocol Dispatcher: Sendable {
    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse
}

/// A request on its way to a servant: its `Current` and its encoded parameters.
///
/// The parameters stay encoded until a dispatcher decodes them with a fresh stream, so the
/// request itself is `Sendable` and the decoded values start out owned by the dispatch.
public struct IncomingRequest: Sendable {
    public var current: Current
    /// The parameter encapsulation, header included.
    public var parameters: ByteBuffer

    public init(current: Current, parameters: ByteBuffer) {
        self.current = current
        self.parameters = parameters
    }

    /// A stream over the parameter encapsulation, bound to the adapter's communicator.
    public func makeInputStream() -> InputStream {
        current.adapter.communicator.makeInputStream(parameters, encoding: .v1_0)
    }

    /// Runs a dispatch whose parameters may hold class instances: `body` decodes them from the
    /// stream it is given, calls the servant and encodes the response. Once it has returned (and
    /// its values are gone), a graph of received instances that may have a cycle is freed if the
    /// servant kept none of it (see `ReceivedGraph`); reference counting alone would never free it.
    public func withParameters(_ body: (sending InputStream) async throws -> OutgoingResponse) async throws
        -> OutgoingResponse
    {
        let graph = ReceivedGraph()
        let outcome: Result<OutgoingResponse, any Error>
        do {
            // A temporary: no copy of the stream (and of the instances it holds) outlives `body`.
            outcome = .success(try await body(makeInputStream(tracking: graph)))
        } catch {
            outcome = .failure(error)
        }
        graph.release()
        return try outcome.get()
    }

    private func makeInputStream(tracking graph: ReceivedGraph) -> InputStream {
        var stream = makeInputStream()
        stream.receivedGraph = graph
        return stream
    }

    /// Checks that an operation without parameters got none (optional values it does not know
    /// are skipped).
    public func readEmptyParameters() throws {
        // The usual case, an empty 1.0 or 1.1 encapsulation, needs no stream.
        let start = parameters.readerIndex
        if parameters.readableBytes == 6,
            parameters.getInteger(at: start, endianness: .little, as: Int32.self) == 6,
            let major = parameters.getInteger(at: start + 4, as: UInt8.self),
            let minor = parameters.getInteger(at: start + 5, as: UInt8.self),
            EncodingVersion(major: major, minor: minor).isSupported
        {
            return
        }
        var stream = makeInputStream()
        try stream.startEncapsulation()
        try stream.endEncapsulation()
    }

    /// An OK response whose results `write` encodes, in the request's encoding.
    public func makeResponse(format: FormatType? = nil, _ write: (inout OutputStream) -> Void = { _ in }) throws
        -> OutgoingResponse
    {
        try current.makeResponse(format: format, write)
    }

    /// An OK response with no results (see `Current.makeResponse(format:)`).
    public func makeResponse(format: FormatType? = nil) throws -> OutgoingResponse {
        try current.makeResponse(format: format)
    }

    /// A user-exception response.
    public func makeResponse(exception: any UserException, format: FormatType? = nil) throws -> OutgoingResponse {
        try current.makeResponse(exception: exception, format: format)
    }
}

extension Current {
    /// An OK response whose results `write` encodes, in the request's encoding. Throws
    /// `LocalError.marshal` when they cannot be encoded (a class instance in encoding 1.0):
    /// the caller then gets an unknown-local-exception reply, never part of the results.
    public func makeResponse(format: FormatType? = nil, _ write: (inout OutputStream) -> Void = { _ in }) throws
        -> OutgoingResponse
    {
        var stream = OutputStream.forReply()
        stream.startEncapsulation(encoding: encoding, format: format)
        write(&stream)
        stream.endEncapsulation()
        return try OutgoingResponse(replyStatus: .ok, checking: stream)
    }

    /// An OK response with no results, as operations returning `void` without out-parameters
    /// answer: the empty encapsulation, written after the room for the reply header.
    /// (Every ping pays for one: no encapsulation to start and end, no size to patch.) It never
    /// throws; it is declared `throws` so that it stands in for `makeResponse(format:_:)`
    /// wherever that is called without results, generated code included.
    public func makeResponse(format: FormatType? = nil) throws -> OutgoingResponse {
        var stream = OutputStream.forReply()
        stream.writeEmptyEncapsulation(encoding: encoding)
        return OutgoingResponse(replyStatus: .ok, outputStream: stream)
    }

    /// A user-exception response; throws as `makeResponse(format:_:)`.
    public func makeResponse(exception: any UserException, format: FormatType? = nil) throws -> OutgoingResponse {
        var stream = OutputStream.forReply()
        stream.startEncapsulation(encoding: encoding, format: format)
        stream.write(exception: exception)
        stream.endEncapsulation()
        return try OutgoingResponse(replyStatus: .userException, exceptionId: exception.ice_id(), checking: stream)
    }
}

extension OutputStream {
    /// A stream for a reply's encapsulation that leaves room in front of it for the reply's
    /// header, so the reply is sent as this one buffer (`MessagePrefix.frameReply`).
    static func forReply() -> OutputStream {
        var buffer = ByteBufferAllocator().buffer(capacity: 256)
        buffer.writeRepeatingByte(0, count: MessagePrefix.replyHeadroom)
        buffer.moveReaderIndex(forwardBy: MessagePrefix.replyHeadroom)
        return OutputStream(appendingTo: buffer, encoding: .v1_0)
    }
}

/// What a dispatch produces: a reply status and, for 0 and 1, the encapsulation that follows it.
public struct OutgoingResponse: Sendable {
    public var replyStatus: ReplyStatus
    public var exceptionId: String?
    /// The encapsulation (statuses 0 and 1), size field first. `makeResponse` leaves room in
    /// front of it for the reply header, so the reply is sent without copying it.
    public var encapsulation: ByteBuffer

    public init(replyStatus: ReplyStatus, exceptionId: String? = nil, encapsulation: ByteBuffer) {
        self.replyStatus = replyStatus
        self.exceptionId = exceptionId
        self.encapsulation = encapsulation
    }

    /// A response whose encapsulation `outputStream` wrote (in encoding 1.0 framing). Check the
    /// stream's `failure` first: this sends whatever it holds.
    public init(replyStatus: ReplyStatus, exceptionId: String? = nil, outputStream: consuming OutputStream) {
        self.init(replyStatus: replyStatus, exceptionId: exceptionId, encapsulation: outputStream.finished())
    }

    /// As `init(replyStatus:exceptionId:outputStream:)`, but throws `LocalError.marshal` when the
    /// stream could not encode everything. (A failure carried in the response instead made every
    /// generated dispatch's async frame larger, and one more `malloc` per request.)
    init(replyStatus: ReplyStatus, exceptionId: String? = nil, checking stream: consuming OutputStream) throws {
        if let failure = stream.failure {
            throw LocalError(.marshal, "the results could not be encoded: \(failure)")
        }
        self.init(replyStatus: replyStatus, exceptionId: exceptionId, outputStream: stream)
    }
}

/// Static facts about a Slice interface that generated dispatch and casts use.
public protocol SliceTraits {
    /// The most-derived type id.
    static var staticId: String { get }
    /// Every type id the interface implements, `::Ice::Object` included, sorted.
    static var staticIds: [String] { get }
}

/// Answers the operations every Ice object has (`ice_ping`, `ice_isA`, `ice_id`, `ice_ids`),
/// or nil for any other operation. Generated dispatch calls it last.
public func dispatchBuiltin<T: SliceTraits>(_ request: IncomingRequest, traits: T.Type) throws
    -> OutgoingResponse?
{
    switch request.current.operation {
    case "ice_ping":
        try request.readEmptyParameters()
        return try request.makeResponse()
    case "ice_isA":
        var stream = request.makeInputStream()
        try stream.startEncapsulation()
        let id = try stream.read(String.self)
        try stream.endEncapsulation()
        return try request.makeResponse { $0.write(traits.staticIds.contains(id)) }
    case "ice_id":
        try request.readEmptyParameters()
        return try request.makeResponse { $0.write(traits.staticId) }
    case "ice_ids":
        try request.readEmptyParameters()
        return try request.makeResponse { traits.staticIds.encode(to: &$0) }
    default:
        return nil
    }
}

/// The root interface: what `Object*` proxies and servants have in common.
public struct ObjectTraits: SliceTraits {
    public static let staticId = "::Ice::Object"
    public static let staticIds = ["::Ice::Object"]
}

/// Carries the values generated dispatch code decoded from one request to the servant as
/// separate `sending` parameters. The compiler sees one region (they came from one stream, and
/// may share instances) and would refuse; the dispatch vouches for them instead: it never
/// touches them again, and they all go to the same call.
public struct SendingBox<Value>: @unchecked Sendable {
    public let value: Value

    public init(_ value: Value) { self.value = value }
}
