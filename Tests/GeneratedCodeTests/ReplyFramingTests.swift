import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import NIOCore
import Testing

/// Where a response's bytes were when the servant returned it.
actor AddressRecorder {
    private(set) var addresses: [Int] = []
    func record(_ address: Int) { addresses.append(address) }
}

/// The address of a buffer's first readable byte.
private func address(of buffer: ByteBuffer) -> Int {
    buffer.withUnsafeReadableBytes { Int(bitPattern: $0.baseAddress) }
}

/// Answers Demo.ice's `Pinger.ping` the ways a hand-written dispatcher (or middleware) might:
/// with `makeResponse`, which leaves room for the reply header, or with responses built some
/// other way, which must still be answered correctly.
struct HandWrittenPinger: Dispatcher {
    enum Style: String, CaseIterable {
        case madeByMakeResponse, plainStream, wrongSize, wrongStatus, unencodable
    }
    let style: Style
    let recorder: AddressRecorder

    /// A response stream without room in front of its encapsulation.
    private func plain(_ request: IncomingRequest, value: Int32) -> OutputStream {
        var stream = OutputStream(encoding: .v1_0)
        stream.startEncapsulation(encoding: request.current.encoding, format: nil)
        stream.write(value)
        stream.endEncapsulation()
        return stream
    }

    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        if let builtin = try dispatchBuiltin(request, traits: PingerTraits.self) { return builtin }
        switch style {
        case .madeByMakeResponse:
            let response = try request.makeResponse { $0.write(Int32(42)) }
            await recorder.record(address(of: response.encapsulation))
            return response
        case .plainStream:
            return OutgoingResponse(replyStatus: .ok, outputStream: plain(request, value: 43))
        case .wrongSize:
            var bytes = plain(request, value: 44).finished()
            bytes.setInteger(Int32(bytes.readableBytes + 1), at: bytes.readerIndex, endianness: .little)
            return OutgoingResponse(replyStatus: .ok, encapsulation: bytes)
        case .wrongStatus:
            return OutgoingResponse(replyStatus: .objectNotExist, outputStream: plain(request, value: 45))
        case .unencodable:
            // A class instance cannot travel in encoding 1.0, which this object's proxies use.
            let note: Note? = Note(body: "n", stamp: nil)
            return try request.makeResponse { $0.write(note) }
        }
    }
}

@Suite("Reply framing", .timeLimit(.minutes(2)))
struct ReplyFramingTests {
    @Test func aResponseFromMakeResponseIsSentWithoutACopy() async throws {
        let communicator = Communicator()
        let adapter = try await communicator.createObjectAdapter(name: "A")
        let recorder = AddressRecorder()
        try adapter.add(
            servant: HandWrittenPinger(style: .madeByMakeResponse, recorder: recorder), id: Identity(name: "p"))
        try await adapter.activate()
        let current = Current(
            adapter: adapter, id: Identity(name: "p"), operation: "ping", mode: .idempotent, requestId: 7)
        let request = IncomingRequest(current: current, parameters: ByteBuffer(bytes: [6, 0, 0, 0, 1, 1]))
        guard case .framed(let message) = await adapter.dispatchToReplyMessage(request) else {
            Issue.record("the reply was not framed in place")
            return
        }
        // The header went into the room in front of the results: the same bytes, not a copy.
        #expect(await recorder.addresses == [address(of: message) + MessagePrefix.replyHeadroom])
        let expected = Message.reply(
            FloeProtocol.Reply(
                requestId: 7, status: .ok,
                body: .encapsulation(encoding: .v1_1, content: ByteBuffer(bytes: [42, 0, 0, 0])))
        ).encode()
        #expect(message == expected)
        await communicator.destroy()
    }

    /// A response without results (every `void` operation's) is written without a stream: the
    /// same bytes as one written through a stream, in the request's encoding, framed in place.
    @Test(arguments: [EncodingVersion.v1_0, .v1_1])
    func anEmptyResponseIsTheEmptyEncapsulationFramedInPlace(encoding: EncodingVersion) async throws {
        let communicator = Communicator()
        let adapter = try await communicator.createObjectAdapter(name: "A")
        let current = Current(
            adapter: adapter, id: Identity(name: "p"), operation: "op", mode: .normal, requestId: 9,
            encoding: encoding)
        let empty = try current.makeResponse()
        let throughAStream = try current.makeResponse(format: .sliced) { _ in }
        #expect(empty.replyStatus == .ok)
        #expect(empty.encapsulation == throughAStream.encapsulation)
        #expect(empty.encapsulation == ByteBuffer(bytes: [6, 0, 0, 0, encoding.major, encoding.minor]))
        var framed = empty.encapsulation
        #expect(MessagePrefix.frameReply(&framed, requestId: 9, status: .ok))
        let expected = Message.reply(
            FloeProtocol.Reply(
                requestId: 9, status: .ok, body: .encapsulation(encoding: encoding, content: ByteBuffer()))
        ).encode()
        #expect(framed == expected)
        await communicator.destroy()
    }

    /// Over TCP: responses that cannot be framed in place are still answered, and the ones a
    /// servant got wrong become unknown-local-exception replies instead of malformed bytes.
    @Test func everyKindOfResponseIsAnsweredOverTCP() async throws {
        let server = Communicator(transport: NIOTransport())
        let adapter = try await server.createObjectAdapterWithEndpoints(name: "S", endpoints: "tcp -h 127.0.0.1 -p 0")
        let recorder = AddressRecorder()
        for style in HandWrittenPinger.Style.allCases {
            try adapter.add(
                servant: HandWrittenPinger(style: style, recorder: recorder), id: Identity(name: style.rawValue))
        }
        try await adapter.activate()
        let port = try #require(adapter.endpoints.first?.port)
        let client = Communicator(transport: NIOTransport())
        func pinger(_ style: HandWrittenPinger.Style) throws -> any PingerPrx {
            let encoding = style == .unencodable ? " -e 1.0" : ""
            return try makeProxy(
                communicator: client, proxyString: "\(style.rawValue)\(encoding):tcp -h 127.0.0.1 -p \(port)",
                type: (any PingerPrx).self)
        }
        #expect(try await pinger(.madeByMakeResponse).ping() == 42)
        #expect(try await pinger(.plainStream).ping() == 43)
        for style in [HandWrittenPinger.Style.wrongSize, .wrongStatus, .unencodable] {
            do {
                _ = try await pinger(style).ping()
                Issue.record("\(style): no error")
            } catch let error as DispatchError {
                #expect(error.status == .unknownLocalException, "\(style)")
            }
        }
        // The connection survived all of them.
        #expect(try await pinger(.plainStream).ping() == 43)
        await client.destroy()
        await server.destroy()
    }
}
