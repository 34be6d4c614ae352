public import FloeEncoding
public import NIOCore

/// How an operation may be retried (`Ice::OperationMode`).
public enum OperationMode: UInt8, Sendable, Hashable {
    case normal = 0
    /// Ice 3.7's spelling of idempotent for `["nonmutating"]` and built-in operations.
    case nonmutating = 1
    case idempotent = 2
}

/// A request context: string pairs carried with each request.
public typealias Context = [String: String]

/// The fields of a request that precede its parameters: what a servant sees in `Current`.
public struct RequestHeader: Hashable, Sendable {
    public var identity: Identity
    public var facet: String
    public var operation: String
    public var mode: OperationMode
    public var context: Context

    public init(
        identity: Identity, facet: String = "", operation: String, mode: OperationMode = .normal,
        context: Context = [:]
    ) {
        self.identity = identity
        self.facet = facet
        self.operation = operation
        self.mode = mode
        self.context = context
    }
}

/// One request: its id (0 for oneway; absent inside a batch), header and parameter encapsulation.
public struct Request: Sendable {
    public var requestId: Int32
    public var header: RequestHeader
    public var encoding: EncodingVersion
    /// The encoded parameters, without the encapsulation header.
    public var parameters: ByteBuffer
    /// The whole parameter encapsulation, header included, when the request was decoded from
    /// a frame: a slice of the frame, so a server can hand it on without copying.
    public var encapsulation: ByteBuffer?

    public init(
        requestId: Int32, header: RequestHeader, encoding: EncodingVersion, parameters: ByteBuffer,
        encapsulation: ByteBuffer? = nil
    ) {
        self.requestId = requestId
        self.header = header
        self.encoding = encoding
        self.parameters = parameters
        self.encapsulation = encapsulation
    }
}

extension OutputStream {
    /// Writes identity, facet, operation, mode and context. Contexts are written sorted by
    /// key, as ZeroC's C++ runtime does, so the bytes are deterministic.
    public mutating func write(_ header: RequestHeader) {
        header.identity.encode(to: &self)
        writeFacet(header.facet)
        write(header.operation)
        write(header.mode.rawValue)
        writeSize(header.context.count)
        for key in header.context.keys.sorted() {
            write(key)
            write(header.context[key] ?? "")
        }
    }
}

extension InputStream {
    public mutating func read(_: RequestHeader.Type) throws -> RequestHeader {
        // Identity, facet, operation and mode through one raw reader: every request pays for
        // this, and each read through the stream checks its buffer again.
        let (identity, facet, operation, rawMode, noContext) = try withRawReader { reader in
            let identity = Identity(name: try reader.read(String.self), category: try reader.read(String.self))
            let facet: String
            switch try reader.readSize() {
            case 0: facet = ""
            case 1: facet = try reader.read(String.self)
            case let n: throw MarshalError(.invalidValue, "facet path with \(n) elements")
            }
            let operation = try reader.read(String.self)
            let rawMode = try reader.read(UInt8.self)
            // Most requests carry no context: its size, 0, is read here too.
            let noContext = reader.peekByte() == 0
            if noContext { _ = try reader.read(UInt8.self) }
            return (identity, facet, operation, rawMode, noContext)
        }
        guard let mode = OperationMode(rawValue: rawMode) else {
            throw MarshalError(.invalidValue, "operation mode \(rawMode)")
        }
        let context = noContext ? [:] : try Context(from: &self)
        return RequestHeader(identity: identity, facet: facet, operation: operation, mode: mode, context: context)
    }

    /// Reads a request body (after the request id, or a batch entry) up to and including
    /// its parameter encapsulation.
    public mutating func readRequest(requestId: Int32) throws -> Request {
        let header = try read(RequestHeader.self)
        let before = buffer
        let (encoding, parameters) = try readEncapsulation()
        return Request(
            requestId: requestId, header: header, encoding: encoding, parameters: parameters,
            encapsulation: before.getSlice(at: before.readerIndex, length: parameters.readableBytes + 6))
    }
}

extension Request {
    /// Decodes the body of an uncompressed request message; the whole body must be used.
    /// (Servers call this rather than `Message.decode`: a request taken out of a `Message` is a
    /// copy of it, a reference count for each of its strings and buffers.)
    public static func decode(messageBody body: ByteBuffer) throws -> Request {
        var stream = InputStream(buffer: body, encoding: .v1_0)
        let request = try stream.readRequest(requestId: try stream.read(Int32.self))
        guard stream.isAtEnd else { throw ProtocolError("\(stream.remaining) bytes after the request message") }
        return request
    }
}

// As Slice data (`Ice::OperationMode` in a struct or a parameter), an enum like a generated one.
extension OperationMode: StreamCodableEnum, CaseIterable {
    public init() { self = .normal }
    public static var maxRawValue: Int32 { 2 }
}
