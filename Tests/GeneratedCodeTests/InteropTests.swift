import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import Foundation
import TestSupport
import Testing

/// Floe against real ZeroC Ice 3.7.8 peers (Debian's python3-zeroc-ice, which Tools/test.sh
/// installs), both directions, over TCP on 127.0.0.1.
@Suite("Interop with ZeroC Ice for Python", .serialized, .timeLimit(.minutes(3)))
struct InteropTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let python = "/usr/bin/python3"

    /// The C++ peer that Tools/scripts/build-cpp-peer.sh builds (Tools/test.sh runs it).
    static let cppServer = here.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build-peers/vectors-server").path

    private func launch(_ script: String, _ arguments: [String]) throws -> (Process, FileHandle) {
        try launchPeer(script, arguments)
    }

    @Test func floeClientToZeroCPythonServer() async throws {
        try await floeClientToZeroCServer("vectors_server.py")
    }

    @Test func floeClientToZeroCCppServer() async throws {
        #expect(
            FileManager.default.isExecutableFile(atPath: Self.cppServer),
            "the C++ peer is missing: run Tools/scripts/build-cpp-peer.sh (Tools/test.sh does)")
        guard FileManager.default.isExecutableFile(atPath: Self.cppServer) else { return }
        try await floeClientToZeroCServer(Self.cppServer)
    }

    private func floeClientToZeroCServer(_ peer: String) async throws {
        let (server, output) = try launch(peer, [])
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let port = try #require(Int32(try await firstLine(of: output)), "the ZeroC server did not start")
        let communicator = try Self.largeMessageCommunicator(Vectors_SliceLoader())
        let untyped = try #require(try communicator.stringToProxy("tester:tcp -h 127.0.0.1 -p \(port)"))
        let tester = try #require(try await checkedCast(prx: untyped, type: (any TesterPrx).self))
        // As ZeroC's own checkedCast: a missing facet gives nil, a missing object throws.
        #expect(try await checkedCast(prx: untyped, type: (any TesterPrx).self, facet: "nofacet") == nil)
        let absent = await #expect(throws: DispatchError.self) {
            try await checkedCast(prx: untyped.ice_identity(Identity(name: "nobody")), type: (any TesterPrx).self)
        }
        #expect(absent?.status == .objectNotExist)

        #expect(try await tester.ice_ids() == ["::Ice::Object", "::Vectors::Tester"])
        let r = try await tester.opPrimitives(
            b: true, y: 200, s: -2, i: 42, l: 1_099_511_627_781, f: 1.5, d: 3.25, str: "h\u{e9}llo")
        #expect(r.returnValue == "True|200|-2|42|1099511627781|1.5|3.25|h\u{e9}llo" && r.dout == 6.5)
        let bytes = Data((0..<70_000).map { UInt8($0 % 251) })
        #expect(try await tester.opByteSeq(bytes) == bytes)
        let s = try await tester.opStruct(p: Point(x: 1, y: 2), q: Person(name: "ann", age: 30, color: .Green))
        #expect(s.returnValue == Point(x: 2, y: 1) && s.r == Person(name: "ANN", age: 31, color: .Blue))
        let e = try await tester.opEnum(c: .Green, s: .High)
        #expect(e.returnValue == .Green && e.so == .High)
        #expect(try await tester.opDict(["a": 1, "b": 2]) == ["a": 10, "b": 20])
        let o = try await tester.opOptional(
            i: 5, s: "opt", p: Point(x: 3, y: 4), seq: [1, 2, 3], c: .Blue, d: ["k": 9])
        #expect(o.returnValue == 6 && o.so == "opt")
        let none = try await tester.opOptional()
        #expect(none.returnValue == nil && none.so == nil)
        let n1 = Node(value: 1, next: nil)
        n1.next = Node(value: 2, next: n1)
        let back = try await tester.opNodeSliced(n1)
        #expect(back?.next?.next === back && back?.next?.value == 2)
        let seq = try await tester.opBaseSeqCompact([Derived(b: "x", d: 1), Base(b: "y"), nil])
        #expect((seq[0] as? Derived)?.d == 1 && seq[1]?.b == "y" && seq[2] == nil)
        let sliced = try await tester.opUnknownSlice()
        #expect(
            (sliced as? Derived)?.d == 42 && sliced?.ice_slicedData?.slices.first?.typeId == "::Vectors::Hidden",
            "\(sliced.map { "\(type(of: $0))" } ?? "nil"), slices \(sliced?.ice_slicedData?.slices.map(\.typeId) ?? [])"
        )
        #expect(try await tester.opCompact(Compact(v: 5))?.v == 6)
        let w = try await tester.opWithOptional(WithOptional(a: 1, s: "s", i: nil))
        #expect(w?.a == 1 && w?.s == "s" && w?.i == nil)
        do {
            try await tester.opThrow(3)
            Issue.record("no exception")
        } catch let error as BaseError {
            #expect((error as? DerivedError)?.code == 3)
        }
        await #expect(throws: DerivedError.self) { try await tester.opThrowSliced(2) }
        do {
            try await tester.opUndeclared(1)
            Issue.record("no error")
        } catch let error as DispatchError {
            #expect(error.status == .unknownUserException && error.message == "::Vectors::OtherError")
        }
        let proxy = try #require(try communicator.stringToProxy("cat/name -o -s @ TheAdapter"))
        #expect(
            try await tester.opProxy(p1: proxy, p2: nil, p3: nil)?.description == "cat/name -o -s -e 1.1 @ TheAdapter")
        #expect(try await tester.opContext("k", context: ["k": "v", "x": "y"]) == "v")
        #expect(try await tester.opIdempotent() == 7)
        try await tester.ice_oneway().opOneway("fire")
        let batch = tester.ice_batchOneway()
        try await batch.opOneway("a")
        try await batch.ice_ping()
        try await batch.ice_flushBatchRequests()
        try await tester.ice_ping()
        #expect(try await onewaysArrive(["fire", "a"], at: tester))
        let strings = try await tester.opStringSeq(["x", "", "z\u{e9}"])
        #expect(strings.returnValue == ["x", "", "z\u{e9}"] && strings.reversed == ["z\u{e9}", "", "x"])
        let people = (0..<1000).map { Person(name: "p\($0)", age: Int32($0), color: .Red) }
        #expect(try await tester.opPersonSeq(people) == people)
        // 10 MiB each way, above the default Ice.MessageSizeMax that both sides raised.
        let large = Data((0..<(10 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        #expect(try await tester.opByteSeq(large) == large)
        let doubles = (0..<((10 << 20) / 8)).map { Double($0) * 0.5 }
        #expect(try await tester.opDoubleSeq(doubles) == doubles)
        // Bidirectional: the server calls a servant of ours back over our own connection.
        let callbacks = try await communicator.createObjectAdapter(name: "Callbacks")
        let servant = TesterServant()
        let callback = try callbacks.add(servant: servant, id: Identity(name: "callback"))
        try await callbacks.activate()
        await (try await tester.ice_getConnection()).setAdapter(callbacks)
        #expect(try await tester.opCallback(uncheckedCast(prx: callback, type: (any TesterPrx).self)) == 8)
        let missing = try #require(try communicator.stringToProxy("missing:tcp -h 127.0.0.1 -p \(port)"))
        do {
            try await missing.ice_ping()
            Issue.record("no error")
        } catch let error as DispatchError {
            #expect(error.status == .objectNotExist && error.identity == Identity(name: "missing"))
        }
        try await tester.shutdown()
        await communicator.destroy()
        await offPool { server.waitUntilExit() }
        #expect(server.terminationStatus == 0)
    }

    /// A communicator that accepts the interop tests' 10 MiB sequences.
    static func largeMessageCommunicator(_ loader: any SliceLoader) throws -> Communicator {
        var properties = Properties()
        properties["Ice.MessageSizeMax"] = "65536"
        // A peer that deadlocks fails the test instead of hanging it.
        properties["Ice.Default.InvocationTimeout"] = "30000"
        return try Communicator(properties: properties, sliceLoader: loader, transport: NIOTransport())
    }

    /// Oneway requests may still be dispatching when a later twoway call returns: polls. (In
    /// any order: ZeroC's servers dispatch oneways from a thread pool.)
    private func onewaysArrive(_ expected: [String], at tester: any TesterPrx) async throws -> Bool {
        for _ in 0..<100 {
            if try await tester.onewaysReceived().sorted() == expected.sorted() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("oneways received: \(try await tester.onewaysReceived())")
        return false
    }

    @Test func zerocClientToFloeServer() async throws {
        let communicator = try Self.largeMessageCommunicator(
            CompositeSliceLoader([Vectors_SliceLoader(), ServerOnly_SliceLoader()]))
        let adapter = try await communicator.createObjectAdapterWithEndpoints(
            name: "Tester", endpoints: "tcp -h 127.0.0.1 -p 0")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        let port = try #require(adapter.publishedEndpoints.first?.port)
        let (client, output) = try launch("vectors_client.py", ["\(port)"])
        let transcript = try await offPool { String(decoding: try output.readToEnd() ?? Data(), as: UTF8.self) }
        await offPool { client.waitUntilExit() }
        #expect(client.terminationStatus == 0, "\(transcript)")
        #expect(transcript.contains("all checks passed"), "\(transcript)")
        #expect(!transcript.contains("FAILED"), "\(transcript)")
        await communicator.destroy()
    }
}
