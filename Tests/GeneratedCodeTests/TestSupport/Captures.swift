import FloeCore
import FloeEncoding
import FloeProtocol
import NIOCore
import VectorFixtures

/// The requests and replies of one vector case, decoded down to their encapsulations.
struct Capture {
    var requests: [Request] = []
    var replies: [FloeProtocol.Reply] = []

    init(_ name: String) throws {
        for message in try VectorFile(named: name).messages {
            var buffer = ByteBuffer(bytes: message.bytes)
            let header = try MessageHeader.read(from: &buffer, maxMessageSize: 1 << 20)
            let body = header.compression == .compressed ? ByteBuffer(bytes: message.inflatedBody ?? []) : buffer
            switch try Message.decode(type: header.type, body: body) {
            case .request(let request): requests.append(request)
            case .batchRequest(let batch): requests += batch
            case .reply(let reply): replies.append(reply)
            default: break
            }
        }
    }

    /// The whole parameter encapsulation of request `index`, header included.
    func parameters(_ index: Int = 0) -> [UInt8] {
        encapsulation(requests[index].encoding, requests[index].parameters)
    }

    /// Reply `index` as comparable text: status and encapsulation bytes, target or message.
    func reply(_ index: Int = 0) -> String { describe(replies[index]) }
}

func encapsulation(_ encoding: EncodingVersion, _ content: ByteBuffer) -> [UInt8] {
    var stream = OutputStream()
    stream.writeEncapsulation(encoding: encoding, content: content.readableBytesView)
    return stream.bytes
}

func describe(_ reply: FloeProtocol.Reply) -> String {
    switch reply.body {
    case .encapsulation(let encoding, let content): "\(reply.status) \(hex(encapsulation(encoding, content)))"
    case .target(let identity, let facet, let operation):
        "\(reply.status) \(identity.category)/\(identity.name) [\(facet)] \(operation)"
    case .message(let message): "\(reply.status) \(message)"
    }
}

/// Records the requests it gets and answers each with a captured reply.
struct ReplayServant: Dispatcher {
    actor Log {
        var requests: [IncomingRequest] = []
        func append(_ request: IncomingRequest) { requests.append(request) }
    }

    let replies: [FloeProtocol.Reply]
    let log = Log()

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        let count = await log.requests.count
        await log.append(request)
        let reply = replies[min(count, replies.count - 1)]
        switch reply.body {
        case .encapsulation(let encoding, let content):
            var stream = OutputStream(encoding: .v1_0)
            stream.writeEncapsulation(encoding: encoding, content: content.readableBytesView)
            return OutgoingResponse(replyStatus: reply.status, outputStream: stream)
        case .target(let identity, let facet, let operation):
            throw DispatchError(status: reply.status, identity: identity, facet: facet, operation: operation)
        case .message(let message):
            throw DispatchError(status: reply.status, message: message)
        }
    }
}

/// A communicator whose "tester" replays a capture's replies.
struct Replay {
    let communicator: Communicator
    let servant: ReplayServant
    let tester: any TesterPrx

    init(_ capture: Capture) async throws {
        communicator = Communicator(sliceLoader: Vectors_SliceLoader())
        let adapter = try await communicator.createObjectAdapter(name: "Replay")
        servant = ReplayServant(replies: capture.replies)
        tester = uncheckedCast(
            prx: try adapter.add(servant: servant, id: Identity(name: "tester")), type: (any TesterPrx).self)
        try await adapter.activate()
    }

    /// The requests the generated proxy sent.
    var requests: [IncomingRequest] { get async { await servant.log.requests } }
}

extension ConnectionOptions {
    /// Default options with another idle timeout (seconds).
    static func idleTimeout(_ seconds: Int, close: ACMClose = .onInvocationAndIdle) -> ConnectionOptions {
        var options = ConnectionOptions()
        options.idleTimeout = seconds
        options.clientClose = close
        return options
    }
}
