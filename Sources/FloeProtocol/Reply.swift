public import FloeEncoding
public import NIOCore

/// The outcome byte of a reply. Ice 3.8 allows any value up to 255, so this is an open set.
public struct ReplyStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let ok = ReplyStatus(rawValue: 0)
    public static let userException = ReplyStatus(rawValue: 1)
    public static let objectNotExist = ReplyStatus(rawValue: 2)
    public static let facetNotExist = ReplyStatus(rawValue: 3)
    public static let operationNotExist = ReplyStatus(rawValue: 4)
    public static let unknownLocalException = ReplyStatus(rawValue: 5)
    public static let unknownUserException = ReplyStatus(rawValue: 6)
    public static let unknownException = ReplyStatus(rawValue: 7)
    public static let invalidData = ReplyStatus(rawValue: 8)
    public static let unauthorized = ReplyStatus(rawValue: 9)

    public var description: String {
        let names = [
            "ok", "userException", "objectNotExist", "facetNotExist", "operationNotExist",
            "unknownLocalException", "unknownUserException", "unknownException", "invalidData", "unauthorized",
        ]
        return Int(rawValue) < names.count ? names[Int(rawValue)] : "status \(rawValue)"
    }
}

/// What follows the status byte of a reply.
public enum ReplyBody: Sendable {
    /// Statuses 0 and 1: results or the user exception, inside an encapsulation.
    case encapsulation(encoding: EncodingVersion, content: ByteBuffer)
    /// Statuses 2-4: which request failed to find its target.
    case target(identity: Identity, facet: String, operation: String)
    /// Statuses 5 and above: a description for people, never parsed.
    case message(String)
}

/// A reply: the request id it answers, its status and its body.
public struct Reply: Sendable {
    public var requestId: Int32
    public var status: ReplyStatus
    public var body: ReplyBody

    public init(requestId: Int32, status: ReplyStatus, body: ReplyBody) {
        self.requestId = requestId
        self.status = status
        self.body = body
    }
}

extension OutputStream {
    /// Writes a reply body after its request id: status, then the status's payload.
    public mutating func write(_ status: ReplyStatus, _ body: ReplyBody) {
        write(status.rawValue)
        switch body {
        case .encapsulation(let encoding, let content):
            writeEncapsulation(encoding: encoding, content: content.readableBytesView)
        case .target(let identity, let facet, let operation):
            identity.encode(to: &self)
            writeFacet(facet)
            write(operation)
        case .message(let text):
            write(text)
        }
    }
}

extension InputStream {
    /// Reads a reply after its request id.
    public mutating func readReply(requestId: Int32) throws -> Reply {
        let status = ReplyStatus(rawValue: try read(UInt8.self))
        let body: ReplyBody
        switch status.rawValue {
        case 0, 1:
            let (encoding, content) = try readEncapsulation()
            body = .encapsulation(encoding: encoding, content: content)
        case 2, 3, 4:
            body = .target(
                identity: try Identity(from: &self), facet: try readFacet(), operation: try read(String.self))
        default:
            body = .message(try read(String.self))
        }
        return Reply(requestId: requestId, status: status, body: body)
    }
}
