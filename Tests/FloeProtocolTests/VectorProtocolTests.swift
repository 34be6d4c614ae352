import FloeEncoding
import FloeProtocol
import NIOCore
import Testing
import VectorFixtures

private let tester = Identity(name: "tester")
private let locator = Identity(name: "Locator", category: "VectorsGrid")
private let registry = Identity(name: "LocatorRegistry", category: "VectorsGrid")
private let validate: [UInt8] = [0x49, 0x63, 0x65, 0x50, 1, 0, 1, 0, 3, 0, 14, 0, 0, 0]

/// Builds a message from values and checks it encodes to the `index`-th captured message.
private func expectMessage(
    _ v: VectorCase, _ index: Int, _ message: Message, compression: CompressionStatus = .notCompressed,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let bytes = message.encode(compression: compression)
    #expect(hex(bytes.readableBytesView) == hex(v.file.messages[index].bytes), sourceLocation: sourceLocation)
}

private func request(
    _ id: Int32, _ operation: String, on identity: Identity = tester, facet: String = "",
    mode: OperationMode = .normal, context: Context = [:], _ params: (inout OutputStream) -> Void = { _ in }
) -> Message {
    var stream = OutputStream()
    params(&stream)
    return .request(
        Request(
            requestId: id,
            header: RequestHeader(identity: identity, facet: facet, operation: operation, mode: mode, context: context),
            encoding: .v1_1, parameters: stream.finished()))
}

private func reply(_ id: Int32, _ results: (inout OutputStream) -> Void = { _ in }) -> Message {
    var stream = OutputStream()
    results(&stream)
    return .reply(
        Reply(requestId: id, status: .ok, body: .encapsulation(encoding: .v1_1, content: stream.finished())))
}

private func proxyResult(_ v: VectorCase, _ index: Int) throws -> ProxyData? {
    try v.result(index).decode { try $0.read(ProxyData.self) }
}

private func registryEndpoint(port: Int32) -> [EndpointData] {
    [.ip(IPEndpointData(host: "127.0.0.1", port: port))]
}

@Suite("Vectors: protocol, built-ins and locator")
struct VectorProtocolTests {
    @Test("ping") func ping() throws {
        let v = try VectorCase("ping")
        #expect(v.file.messages[0].bytes == validate)
        expectMessage(v, 0, .validateConnection)
        expectMessage(v, 1, request(1, "ping"))
        expectMessage(v, 2, reply(1))
        expectMessage(v, 3, .closeConnection, compression: .compressionSupported)
    }

    @Test("decoded requests keep their whole parameter encapsulation")
    func requestEncapsulationSlices() throws {
        for name in ["primitives", "optional-set", "class-cycle-sliced", "batch-oneway"] {
            let v = try VectorCase(name)
            for (index, request) in v.requests.enumerated() {
                #expect(
                    request.encapsulation.map { Array($0.readableBytesView) } == v.parameters(index).bytes, "\(name)")
            }
        }
    }

    @Test("ice-ping") func icePing() throws {
        let v = try VectorCase("ice-ping")
        expectMessage(v, 1, request(1, "ice_ping", mode: .nonmutating))
        expectMessage(v, 2, reply(1))
    }

    @Test("ice-isa") func iceIsA() throws {
        let v = try VectorCase("ice-isa")
        expectMessage(v, 1, request(1, "ice_isA", mode: .nonmutating) { $0.write("::Vectors::Tester") })
        expectMessage(v, 2, reply(1) { $0.write(true) })
        #expect(try v.result(0).decode { try $0.read(Bool.self) } == true)
    }

    @Test("ice-isa-false") func iceIsAFalse() throws {
        let v = try VectorCase("ice-isa-false")
        #expect(try v.parameters(0).decode { try $0.read(String.self) } == "::Other")
        #expect(try v.result(0).decode { try $0.read(Bool.self) } == false)
        expectMessage(v, 2, reply(1) { $0.write(false) })
    }

    @Test("ice-id") func iceId() throws {
        let v = try VectorCase("ice-id")
        expectMessage(v, 1, request(1, "ice_id", mode: .nonmutating))
        expectMessage(v, 2, reply(1) { $0.write("::Vectors::Tester") })
    }

    @Test("ice-ids") func iceIds() throws {
        let v = try VectorCase("ice-ids")
        #expect(try v.result(0).decode { try [String](from: &$0) } == ["::Ice::Object", "::Vectors::Tester"])
        expectMessage(v, 2, reply(1) { ["::Ice::Object", "::Vectors::Tester"].encode(to: &$0) })
    }

    @Test("oneway") func oneway() throws {
        let v = try VectorCase("oneway")
        #expect(v.requests.map(\.requestId) == [0, 1], "oneway requests carry id 0")
        expectMessage(v, 1, request(0, "opOneway") { $0.write("fire") })
        #expect(v.replies.map(\.requestId) == [1], "no reply to the oneway")
    }

    @Test("batch-oneway") func batchOneway() throws {
        let v = try VectorCase("batch-oneway")
        let batch = v.messages.compactMap { if case .batchRequest(let b) = $0 { b } else { nil } }
        #expect(batch.count == 1)
        #expect(batch.first?.map(\.header.operation) == ["opOneway", "opOneway", "ice_ping"])
        var a = OutputStream()
        a.write("a")
        var b = OutputStream()
        b.write("b")
        let entries = [
            Request(
                requestId: 0, header: RequestHeader(identity: tester, operation: "opOneway"), encoding: .v1_1,
                parameters: a.finished()),
            Request(
                requestId: 0, header: RequestHeader(identity: tester, operation: "opOneway"), encoding: .v1_1,
                parameters: b.finished()),
            Request(
                requestId: 0, header: RequestHeader(identity: tester, operation: "ice_ping", mode: .nonmutating),
                encoding: .v1_1, parameters: ByteBuffer()),
        ]
        let index = try #require(v.file.messages.firstIndex { $0.kind == "batch-request" })
        expectMessage(v, index, .batchRequest(entries))
    }

    /// (HeartbeatTests checks that an idle Floe connection sends exactly these bytes.)
    @Test("heartbeat") func heartbeat() throws {
        let v = try VectorCase("heartbeat")
        let index = try #require(
            v.file.messages.indices.first {
                v.file.messages[$0].kind == "validate-connection" && v.file.messages[$0].direction == "c2s"
            })
        expectMessage(v, index, .validateConnection)
    }

    @Test("close-by-client") func closeByClient() throws {
        let v = try VectorCase("close-by-client")
        expectMessage(v, v.file.messages.count - 1, .closeConnection, compression: .compressionSupported)
    }

    /// (ScriptedPeerTests checks a Floe client against the whole exchange.)
    @Test("close-by-server") func closeByServer() throws {
        let v = try VectorCase("close-by-server")
        let count = v.file.messages.count
        expectMessage(v, count - 2, reply(1))
        expectMessage(v, count - 1, .closeConnection, compression: .compressionSupported)
    }

    private func expectTarget(_ v: VectorCase, status: ReplyStatus, facet: String, operation: String) {
        #expect(v.replies[0].status == status)
        guard case .target(let identity, let f, let op) = v.replies[0].body else {
            Issue.record("reply has no target")
            return
        }
        #expect(identity == v.requests[0].header.identity && f == facet && op == operation)
        expectMessage(
            v, 2,
            .reply(Reply(requestId: 1, status: status, body: .target(identity: identity, facet: facet, operation: op))))
    }

    @Test("object-not-exist") func objectNotExist() throws {
        let v = try VectorCase("object-not-exist")
        #expect(v.requests[0].header.identity == Identity(name: "missing"))
        expectTarget(v, status: .objectNotExist, facet: "", operation: "ice_ping")
    }

    @Test("facet-not-exist") func facetNotExist() throws {
        let v = try VectorCase("facet-not-exist")
        #expect(v.requests[0].header.facet == "nofacet")
        expectTarget(v, status: .facetNotExist, facet: "nofacet", operation: "ice_ping")
    }

    @Test("operation-not-exist") func operationNotExist() throws {
        let v = try VectorCase("operation-not-exist")
        expectTarget(v, status: .operationNotExist, facet: "", operation: "noSuchOp")
    }

    private func expectText(_ v: VectorCase, _ index: Int = 0, status: ReplyStatus, _ text: String? = nil) {
        #expect(v.replies[index].status == status)
        guard case .message(let message) = v.replies[index].body else {
            Issue.record("reply has no message")
            return
        }
        if let text { #expect(message == text) } else { #expect(!message.isEmpty) }
        let at = v.file.messages.indices.filter { v.file.messages[$0].kind == "reply" }[index]
        expectMessage(
            v, at, .reply(Reply(requestId: v.replies[index].requestId, status: status, body: .message(message))))
    }

    @Test("unknown-local-exception") func unknownLocalException() throws {
        let v = try VectorCase("unknown-local-exception")
        #expect(try v.parameters(0).decode { try $0.read(Int32.self) } == 2)
        expectText(v, status: .unknownLocalException, "a local exception text")
    }

    @Test("unknown-user-exception") func unknownUserException() throws {
        expectText(try VectorCase("unknown-user-exception"), status: .unknownUserException, "a user exception text")
    }

    @Test("unknown-exception") func unknownException() throws {
        expectText(try VectorCase("unknown-exception"), status: .unknownException, "an unknown exception text")
    }

    @Test("servant-error") func servantError() throws {
        expectText(try VectorCase("servant-error"), status: .unknownException, "ValueError: boom\n")
    }

    @Test("mode-mismatch") func modeMismatch() throws {
        let v = try VectorCase("mode-mismatch")
        #expect(v.requests[0].header.mode == .normal && v.requests[0].header.operation == "opIdempotent")
        expectText(v, status: .unknownLocalException)
    }

    /// (ScriptedPeerTests checks that a Floe client retries exactly as captured.)
    @Test("retry-idempotent") func retryIdempotent() throws {
        let v = try VectorCase("retry-idempotent")
        expectMessage(v, 1, request(1, "opIdempotentFail", mode: .idempotent))
        expectMessage(v, 3, request(2, "opIdempotentFail", mode: .idempotent))
        expectText(v, 0, status: .unknownLocalException, "transient failure")
        expectText(v, 1, status: .unknownLocalException, "transient failure")
    }

    @Test("locator-find-adapter") func locatorFindAdapter() throws {
        let v = try VectorCase("locator-find-adapter")
        expectMessage(
            v, 1, request(1, "findAdapterById", on: locator, mode: .nonmutating) { $0.write("VectorsAdapter") })
        let dummy = ProxyData(identity: Identity(name: "dummy"), endpoints: registryEndpoint(port: 12000))
        #expect(try proxyResult(v, 0) == dummy)
        expectMessage(v, 2, reply(1) { $0.write(dummy) })
    }

    @Test("locator-find-object") func locatorFindObject() throws {
        let v = try VectorCase("locator-find-object")
        expectMessage(v, 1, request(1, "findObjectById", on: locator, mode: .nonmutating) { tester.encode(to: &$0) })
        let indirect = ProxyData(identity: tester, adapterId: "VectorsAdapter")
        #expect(try proxyResult(v, 0) == indirect)
        expectMessage(v, 2, reply(1) { $0.write(indirect) })
        #expect(try v.parameters(1).decode { try $0.read(String.self) } == "VectorsAdapter")
    }

    /// Floe decodes the captured exception as its type, and writes it with the captured bytes.
    /// (What no loader knows is decoded as unknown: see `SliceLoaderTests`.)
    private func expectLocatorException(_ v: VectorCase, _ type: any UserException.Type) throws {
        #expect(v.replies.allSatisfy { $0.status == .userException })
        var registry = SliceRegistry()
        registry.register(type)
        var stream = InputStream(buffer: try v.result(0).content, encoding: .v1_1, sliceLoader: registry)
        #expect(try stream.readUserException().ice_id() == type.ice_staticId())
        let index = v.file.messages.indices.filter { v.file.messages[$0].kind == "reply" }[0]
        expectMessage(
            v, index,
            .reply(
                Reply(
                    requestId: v.replies[0].requestId, status: .userException,
                    body: .encapsulation(
                        encoding: .v1_1,
                        content: {
                            var out = OutputStream()
                            out.startEncapsulation(encoding: .v1_1, format: nil)
                            out.write(exception: type.init())
                            out.endEncapsulation()
                            var whole = InputStream(buffer: out.finished(), encoding: .v1_1)
                            return (try? whole.readEncapsulation().1) ?? ByteBuffer()
                        }()))))
    }

    @Test("locator-adapter-not-found") func locatorAdapterNotFound() throws {
        try expectLocatorException(try VectorCase("locator-adapter-not-found"), AdapterNotFound.self)
    }

    @Test("locator-object-not-found") func locatorObjectNotFound() throws {
        let v = try VectorCase("locator-object-not-found")
        try expectLocatorException(v, ObjectNotFound.self)
        #expect(try v.parameters(0).decode { try Identity(from: &$0) } == Identity(name: "nosuch"))
    }

    @Test("locator-register-adapter") func locatorRegisterAdapter() throws {
        let v = try VectorCase("locator-register-adapter")
        try expectRegistration(v, operation: "setAdapterDirectProxy", ids: ["RegAdapter"])
    }

    @Test("locator-register-replicated") func locatorRegisterReplicated() throws {
        let v = try VectorCase("locator-register-replicated")
        try expectRegistration(v, operation: "setReplicatedAdapterDirectProxy", ids: ["RegAdapter", "RegGroup"])
    }

    @Test("locator-register-process") func locatorRegisterProcess() throws {
        let v = try VectorCase("locator-register-process")
        let process = ProxyData(
            identity: Identity(name: "admin", category: "VectorsAdmin"), facet: "Process",
            endpoints: registryEndpoint(port: 12021))
        let index = try #require(v.requests.firstIndex { $0.header.operation == "setServerProcessProxy" })
        let (serverId, proxy) = try v.parameters(index).decode { s in
            (try s.read(String.self), try s.read(ProxyData.self))
        }
        #expect(serverId == "VectorsServer" && proxy == process)
        v.parameters(index).expectEncoded { s in
            s.write("VectorsServer"); s.write(process)
        }
        try expectRegistration(v, operation: "setAdapterDirectProxy", ids: ["RegAdapter"])
    }

    /// getRegistry, then registration with the adapter's endpoint, then unregistration with a null proxy.
    private func expectRegistration(_ v: VectorCase, operation: String, ids: [String]) throws {
        let registryProxy = ProxyData(identity: registry, endpoints: registryEndpoint(port: 12001))
        #expect(v.requests[0].header == RequestHeader(identity: locator, operation: "getRegistry", mode: .nonmutating))
        #expect(try proxyResult(v, 0) == registryProxy)
        expectMessage(v, 2, reply(1) { $0.write(registryProxy) })
        let calls = v.requests.indices.filter { v.requests[$0].header.operation == operation }
        #expect(calls.count == 2)
        let dummy = ProxyData(identity: Identity(name: "dummy"), endpoints: registryEndpoint(port: 12020))
        for (call, proxy) in zip(calls, [dummy, nil]) {
            let request = v.requests[call]
            #expect(request.header.identity == registry && request.header.mode == .idempotent)
            let decoded = try v.parameters(call).decode { s in
                (try ids.map { _ in try s.read(String.self) }, try s.read(ProxyData.self))
            }
            #expect(decoded.0 == ids && decoded.1 == proxy)
            v.parameters(call).expectEncoded { s in
                for id in ids { s.write(id) }
                s.write(proxy)
            }
        }
    }
}

/// The locator's exceptions, with no members (as in Ice's Locator.ice), written by hand here.
final class AdapterNotFound: UserException {
    init() {}
    static func ice_staticId() -> String { "::Ice::AdapterNotFoundException" }
    func ice_id() -> String { Self.ice_staticId() }
    func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: Self.ice_staticId(), last: true)
        stream.endSlice()
    }
    func _iceReadImpl(from stream: inout InputStream) throws {}
}

final class ObjectNotFound: UserException {
    init() {}
    static func ice_staticId() -> String { "::Ice::ObjectNotFoundException" }
    func ice_id() -> String { Self.ice_staticId() }
    func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: Self.ice_staticId(), last: true)
        stream.endSlice()
    }
    func _iceReadImpl(from stream: inout InputStream) throws {}
}
