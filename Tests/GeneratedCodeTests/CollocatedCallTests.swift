import FloeCore
import FloeEncoding
import FloeProtocol
import Logging
import NIOConcurrencyHelpers
import Testing

import struct Foundation.Data

/// Generated proxies calling generated servants in the same communicator: every request and
/// reply is encoded and decoded exactly as it would be on a connection.
@Suite("Generated code: collocated calls")
struct CollocatedCallTests {
    @Test func primitivesInAndOut() async throws {
        let c = try await Collocated()
        let result = try await c.tester.opPrimitives(
            b: true, y: 200, s: -2, i: 42, l: 1_099_511_627_781, f: 1.5, d: 3.25, str: "h\u{e9}llo")
        #expect(result.returnValue == "True|200|-2|42|1099511627781|1.5|3.25|h\u{e9}llo")
        #expect(result.dout == 6.5)
    }

    @Test func sequencesStructsEnumsDictionaries() async throws {
        let c = try await Collocated()
        let bytes = ByteSeq((0..<300).map { UInt8($0 % 256) })
        #expect(try await c.tester.opByteSeq(bytes) == bytes)
        let structs = try await c.tester.opStruct(p: Point(x: 1, y: 2), q: Person(name: "ann", age: 30, color: .Green))
        #expect(structs.returnValue == Point(x: 2, y: 1))
        #expect(structs.r == Person(name: "ANN", age: 31, color: .Blue))
        let enums = try await c.tester.opEnum(c: .Green, s: .High)
        #expect(enums.returnValue == .Green && enums.so == .High)
        #expect(try await c.tester.opDict(["a": 1, "b": 2]) == ["a": 10, "b": 20])
    }

    @Test func optionalsPresentAndAbsent() async throws {
        let c = try await Collocated()
        let set = try await c.tester.opOptional(
            i: 5, s: "opt", p: Point(x: 3, y: 4), seq: [1, 2, 3], c: .Blue, d: ["k": 9])
        #expect(set.returnValue == 6 && set.so == "opt")
        let unset = try await c.tester.opOptional()
        #expect(unset.returnValue == nil && unset.so == nil)
        let echoed = try await c.tester.opWithOptional(WithOptional(a: 1, s: "s", i: nil))
        #expect(echoed?.a == 1 && echoed?.s == "s" && echoed?.i == nil)
    }

    @Test(arguments: [false, true])
    func classGraphsWithCyclesAndSharing(sliced: Bool) async throws {
        let c = try await Collocated()
        let n1 = Node(value: 1, next: nil)
        n1.next = Node(value: 2, next: n1)
        let back = sliced ? try await c.tester.opNodeSliced(n1) : try await c.tester.opNode(n1)
        #expect(back?.value == 1 && back?.next?.value == 2)
        #expect(back?.next?.next === back, "the cycle survives the round trip")

        let d = Derived(b: "x", d: 1)
        let sequence: BaseSeq = [d, Base(b: "y"), d, nil]
        let echoed = sliced ? try await c.tester.opBaseSeq(sequence) : try await c.tester.opBaseSeqCompact(sequence)
        #expect(echoed.count == 4)
        #expect((echoed[0] as? Derived)?.d == 1 && echoed[1]?.b == "y" && echoed[3] == nil)
        #expect(echoed[2] === echoed[0], "a shared instance stays shared")
    }

    @Test func compactIdsAndPreservedSlices() async throws {
        let c = try await Collocated()
        #expect(try await c.tester.opCompact(Compact(v: 5))?.v == 6)
        let hidden = try #require(try await c.tester.opUnknownSlice() as? Hidden)
        #expect(hidden.secret == "hidden-part" && hidden.d == 42 && hidden.b == "base-part")
    }

    @Test func derivedUserExceptionsAreCaughtAsTheBase() async throws {
        let c = try await Collocated()
        do {
            try await c.tester.opThrow(3)
            Issue.record("no exception")
        } catch let error as BaseError {
            let derived = try #require(error as? DerivedError)
            #expect(derived.reason == "derived reason" && derived.code == 3)
        }
        await #expect(throws: BaseError.self) { try await c.tester.opThrow(0) }
        do {
            try await c.tester.opThrowSliced(2)
            Issue.record("no exception")
        } catch let error as HiddenError {
            #expect(error.extra == "extra data" && error.code == 2)
        }
    }

    @Test func undeclaredAndUnknownExceptions() async throws {
        let c = try await Collocated()
        // As Ice raises UnknownUserException both for an undeclared exception and for a reply of
        // that status: one type to catch.
        await #expect(throws: DispatchError.self) { try await c.tester.opUndeclared(1) }
        do {
            try await c.tester.opUndeclared(1)
            Issue.record("no error")
        } catch let error as DispatchError {
            #expect(error.status == .unknownUserException && error.message == "::Vectors::OtherError")
        }
        do {
            try await c.tester.opUndeclared(2)
            Issue.record("no error")
        } catch let error as DispatchError {
            #expect(error.status == .unknownLocalException && error.message == "a local exception text")
        }
        do {
            try await c.tester.opUndeclared(0)
            Issue.record("no error")
        } catch let error as DispatchError {
            #expect(error.status == .unknownException)
        }
    }

    @Test func checkedCastSucceedsAndFails() async throws {
        let c = try await Collocated()
        let untyped: any ObjectPrx = c.tester
        let cast = try await checkedCast(prx: untyped, type: (any TesterPrx).self)
        #expect(cast != nil)
        #expect(try await c.tester.ice_ids() == ["::Ice::Object", "::Vectors::Tester"])
        #expect(try await c.tester.ice_id() == "::Vectors::Tester")
        #expect(try await c.tester.ice_isA(id: "::Other") == false)
        // The object does not implement InnerMirror: the cast answers nil.
        #expect(try await checkedCast(prx: untyped, type: (any InnerMirrorPrx).self) == nil)
        // A missing facet answers nil too, as in Ice (InteropTests: a missing object throws).
        let missing = c.communicator.makeProxy(Identity(name: "tester"), facet: "nofacet")
        #expect(try await checkedCast(prx: missing, type: (any TesterPrx).self) == nil)
        #expect(try await checkedCast(prx: untyped, type: (any TesterPrx).self, facet: "nofacet") == nil)
    }

    @Test func unknownOperationsAndObjects() async throws {
        let c = try await Collocated()
        do {
            try await c.tester._invoke(
                operation: "noSuchOp", mode: .normal, context: nil, returnsData: false, write: { _ in }, read: { _ in })
            Issue.record("no error")
        } catch let error as DispatchError {
            #expect(error.status == .operationNotExist && error.operation == "noSuchOp")
        }
        let adapter = try await c.communicator.createObjectAdapter(name: "Other")
        try adapter.add(servant: TesterServant(), id: Identity(name: "other"))
        try await adapter.activate()
        try adapter.remove(Identity(name: "other"))
        let gone = uncheckedCast(prx: c.communicator.makeProxy(Identity(name: "other")), type: (any TesterPrx).self)
        await #expect(throws: LocalError.self) { try await gone.ping() }
    }

    @Test func contextsReachCurrent() async throws {
        let c = try await Collocated()
        #expect(try await c.tester.opContext("k", context: ["k": "v", "x": "y"]) == "v")
        let withContext = c.tester.ice_context(["k": "from proxy"])
        #expect(try await withContext.opContext("k") == "from proxy")
        #expect(try await withContext.opContext("k", context: ["k": "per call"]) == "per call")
        // As in Ice, a per-call context replaces the proxy's rather than adding to it.
        let both = c.tester.ice_context(["a": "from proxy"])
        #expect(try await both.opContext("a", context: ["b": "per call"]) == "")
        #expect(try await both.opContext("a") == "from proxy")
    }

    /// `Ice.ImplicitContext=Shared`: entries every request of the communicator carries, where
    /// the call's own context (per call, else the proxy's) has none of the key.
    @Test func theImplicitContextFillsInRequests() async throws {
        var properties = Properties()
        properties["Ice.ImplicitContext"] = "Shared"
        let communicator = try Communicator(properties: properties, sliceLoader: Vectors_SliceLoader())
        let adapter = try await communicator.createObjectAdapter(name: "Test")
        let tester = uncheckedCast(
            prx: try adapter.add(servant: TesterServant(), id: Identity(name: "tester")), type: (any TesterPrx).self)
        try await adapter.activate()
        let implicit = try #require(communicator.getImplicitContext())
        #expect(implicit.put("k", "implicit") == "")
        implicit.put("i", "implicit")
        #expect(try await tester.opContext("i") == "implicit")
        #expect(try await tester.opContext("k", context: ["k": "per call"]) == "per call")
        #expect(try await tester.opContext("i", context: ["k": "per call"]) == "implicit")
        #expect(try await tester.ice_context(["k": "proxy"]).opContext("k") == "proxy")
        #expect(implicit.remove("i") == "implicit" && !implicit.containsKey("i"))
        #expect(try await tester.opContext("i") == "")
        #expect(Communicator().getImplicitContext() == nil)
        properties["Ice.ImplicitContext"] = "PerThread"
        #expect(throws: LocalError.self) { try Communicator(properties: properties) }
        await communicator.destroy()
    }

    @Test func proxiesTravelAsParameters() async throws {
        let c = try await Collocated()
        let other = c.communicator.makeProxy(Identity(name: "name", category: "cat"))
        let echoed = try await c.tester.opProxy(p1: other, p2: nil, p3: c.tester)
        #expect(echoed?.ice_getIdentity() == Identity(name: "name", category: "cat"))
    }

    @Test func onewayAndIdempotent() async throws {
        let c = try await Collocated()
        try await c.tester.ice_oneway().opOneway("fire")
        await #expect(throws: LocalError.self) { try await c.tester.ice_oneway().opIdempotent() }
        #expect(try await c.tester.opIdempotent() == 7)
        // The oneway dispatch runs on its own; wait until it has been seen.
        for _ in 0..<100 where await c.servant.onewayMessages.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await c.servant.onewayMessages == ["fire"])
    }
}

/// Classes and exceptions are found by type id without a loader passed to the communicator
/// (generated code registers its file's); a user exception nothing knows fails the call with
/// `unknownUserException`, and the log says once which type id was missing (issue 15).
@Suite("Slice loaders")
struct SliceLoaderTests {
    @Test func generatedTypesAreFoundWithoutALoader() async throws {
        let communicator = Communicator()
        let adapter = try await communicator.createObjectAdapter(name: "Test")
        let proxy = try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        let tester = uncheckedCast(prx: proxy, type: (any TesterPrx).self)
        do {
            try await tester.opThrow(1)
            Issue.record("no exception")
        } catch let error as DerivedError {
            #expect(error.code == 1 && error.reason == "derived reason")
        }
        let node = Node()
        node.value = 5
        let back = try await tester.opNode(node)
        #expect(back?.value == 5)
        await communicator.destroy()
    }

    @Test func aMissingLoaderIsReportedOncePerTypeId() async throws {
        let lines = NIOLockedValueBox<[String]>([])
        let communicator = Communicator(logger: Logger(label: "test") { _ in CapturingLogHandler(lines: lines) })
        let adapter = try await communicator.createObjectAdapter(name: "Test")
        let proxy = try adapter.add(servant: ThrowsUnregistered(), id: Identity(name: "tester"))
        try await adapter.activate()
        let tester = uncheckedCast(prx: proxy, type: (any TesterPrx).self)
        for code: Int32 in [1, 2, 1] {
            do {
                try await tester.opThrow(code)
                Issue.record("no exception")
            } catch let error as DispatchError {
                #expect(error.status == .unknownUserException)
            }
        }
        let warnings = lines.withLockedValue { $0 }.filter { $0.contains("no slice loader knows the exception") }
        #expect(warnings.count == 2, "\(warnings)")
        #expect(warnings.first?.contains("::Test::Unregistered") == true)
        #expect(warnings.last?.contains("::Test::AlsoUnregistered") == true)
        await communicator.destroy()
    }
}

/// Throws a user exception that no generated file defines, whatever the request.
struct ThrowsUnregistered: Dispatcher {
    func dispatch(_ request: IncomingRequest) async throws -> OutgoingResponse {
        var stream = request.makeInputStream()
        try stream.startEncapsulation()
        let code = try stream.read(Int32.self)
        throw code == 2 ? AlsoUnregistered() : Unregistered()
    }
}

class Unregistered: UserException, @unchecked Sendable {
    required init() {}
    class func ice_staticId() -> String { "::Test::Unregistered" }
    func ice_id() -> String { type(of: self).ice_staticId() }
    func _iceWriteImpl(to ostr: inout OutputStream) {
        ostr.startSlice(typeId: ice_id(), last: true)
        ostr.endSlice()
    }
    func _iceReadImpl(from istr: inout InputStream) throws {}
}

final class AlsoUnregistered: Unregistered, @unchecked Sendable {
    override class func ice_staticId() -> String { "::Test::AlsoUnregistered" }
}

/// Invocation timeouts per proxy, as `Duration` or Ice's milliseconds; a proxy can turn off the
/// communicator's default (issue 15).
@Suite("Invocation timeouts")
struct InvocationTimeoutTests {
    @Test func aProxyOverridesOrTurnsOffTheDefault() async throws {
        let communicator = Communicator(sliceLoader: Vectors_SliceLoader(), defaultInvocationTimeout: 100)
        let adapter = try await communicator.createObjectAdapter(name: "Test")
        let proxy = try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        let tester = uncheckedCast(prx: proxy, type: (any TesterPrx).self)
        let slow = ["sleep": "0.4"]
        #expect(tester.ice_getInvocationTimeout() == 100)
        await #expect(throws: LocalError.self) { try await tester.ping(context: slow) }
        let patient = tester.ice_invocationTimeout(nil)
        #expect(patient.ice_getInvocationTimeout() == -1)
        try await patient.ping(context: slow)
        try await tester.ice_invocationTimeout(-1).ping(context: slow)
        let hasty = patient.ice_invocationTimeout(.milliseconds(50))
        #expect(hasty.ice_getInvocationTimeout() == 50)
        do {
            try await hasty.ping(context: slow)
            Issue.record("no timeout")
        } catch let error as LocalError {
            #expect(error.code == .invocationTimeout)
        }
        #expect(tester.ice_invocationTimeout(.microseconds(1500)).ice_getInvocationTimeout() == 2, "rounded up")
        await communicator.destroy()
    }
}
