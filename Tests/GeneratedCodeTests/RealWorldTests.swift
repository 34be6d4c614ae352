import FloeCore
import FloeEncoding
import FloeIce
import FloeProtocol
import Foundation
import Testing

struct RegistryServant: Registry {
    func getRegistry(current: Current) async throws -> (any LocatorRegistryPrx)? {
        try makeProxy(
            communicator: current.adapter.communicator, proxyString: "IceGrid/Registry:tcp -h 127.0.0.1 -p 4061",
            type: (any LocatorRegistryPrx).self)
    }
    func bytes(names: StringSeq, current: Current) async throws -> ByteSeq { Data(names.joined().utf8) }
    func who(current: Current) async throws -> Identity { current.id }
    func shared(current: Current) async throws -> Shared { Shared(v: 42) }
}

struct ClassProxiesServant: ClassProxies {
    func plainProxy(p: (any ObjectPrx)?, current: Current) async throws -> (any ObjectPrx)? { p }
    func ops(p: (any WithOpsPrx)?, current: Current) async throws -> (any WithOpsPrx)? { p }
}

/// A servant for the operations of a class (deprecated Slice): the class itself is only data.
actor MoreOpsServant: MoreOpsOperations {
    private(set) var opCalls = 0
    func op(current: Current) async throws { opCalls += 1 }
    func more(times: Int32, current: Current) async throws -> String { String(repeating: "more", count: Int(times)) }
}

struct ShadowsServant: Shadows {
    func echo(s: Shadow, current: Current) async throws -> Shadow { s }
    func echoClass(c: sending CShadow?, current: Current) async throws -> sending CShadow? { c }
    func fail(E1: E1, current: Current) async throws { throw XShadow(E1: E1) }
}

struct HandWrittenServant: HandWritten {
    func echo(v: UsesRuntimeTypes, e: EncodingVersion, m: OperationMode, current: Current) async throws
        -> (returnValue: UsesRuntimeTypes, id: Identity)
    {
        var v = v
        v.encoding = e
        v.mode = m
        return (v, Identity(name: "echoed", category: current.operation))
    }
    func many(s: UsesRuntimeTypesSeq, f: FixedSeq, current: Current) async throws
        -> (returnValue: UsesRuntimeTypesSeq, g: FixedSeq)
    {
        (s.reversed(), f.map { Fixed(encoding: $0.encoding, n: $0.n * 2) })
    }
}

actor ClassesServant: Classes {
    func two(p1: sending Plain?, p2: sending Plain?, current: Current) async throws
        -> sending (returnValue: Plain?, p3: Plain?)
    {
        (Plain(x: (p1?.x ?? 0) * 10), p2)
    }
    func amd(a: sending Plain?, b: sending Plain?, current: Current) async throws -> sending Plain? {
        Plain(x: (a?.x ?? 0) + (b?.x ?? 0))
    }
    func sliced(p1: sending Plain?, p2: sending Plain?, current: Current) async throws -> sending Plain? { p2 }
}

struct UsesFirstServant: UsesFirst {
    func get(s: InSecond, current: Current) async throws -> E1 { s.s.x == 2 ? .v2 : .v1 }
    func resize(s: MetaSized, `throw`: Int32, current: Current) async throws -> MetaSized {
        MetaSized(kind: `throw` > 10 ? .large : .small, size: `throw`)
    }
}

/// The real-world patterns of `RealWorld.ice` compile (this target builds them) and round-trip
/// through collocated calls (issue 14).
@Suite("Real-world Slice")
struct RealWorldTests {
    private static func collocated<P>(_ servant: any Dispatcher, _ type: P.Type, cast: (any ObjectPrx) -> P)
        async throws
        -> (Communicator, P)
    {
        let communicator = Communicator(
            sliceLoader: CompositeSliceLoader([RealWorld_SliceLoader(), FloeIce_SliceLoader()]))
        let adapter = try await communicator.createObjectAdapter(name: "RealWorld")
        let proxy = try adapter.add(servant: servant, id: Identity(name: "it"))
        try await adapter.activate()
        return (communicator, cast(proxy))
    }

    @Test func zerocIceTypesAndASecondTopLevelModule() async throws {
        let (communicator, registry) = try await Self.collocated(RegistryServant(), (any RegistryPrx).self) {
            uncheckedCast(prx: $0, type: (any RegistryPrx).self)
        }
        #expect(try await registry.getRegistry()?.description.hasPrefix("IceGrid/Registry -t -e 1.1:tcp") == true)
        #expect(try await registry.bytes(["a", "bc"]) == Data("abc".utf8))
        #expect(try await registry.who() == Identity(name: "it"))
        #expect(try await registry.shared() == Shared(v: 42))
        let (other, usesFirst) = try await Self.collocated(UsesFirstServant(), (any UsesFirstPrx).self) {
            uncheckedCast(prx: $0, type: (any UsesFirstPrx).self)
        }
        #expect(try await usesFirst.get(InSecond(s: S1(x: 2))) == .v2)
        #expect(
            try await usesFirst.resize(s: MetaSized(kind: .small, size: 1), throw: 20)
                == MetaSized(kind: .large, size: 20))
        await communicator.destroy()
        await other.destroy()
    }

    @Test func proxiesToClasses() async throws {
        let (communicator, proxies) = try await Self.collocated(ClassProxiesServant(), (any ClassProxiesPrx).self) {
            uncheckedCast(prx: $0, type: (any ClassProxiesPrx).self)
        }
        let target = try makeProxy(
            communicator: communicator, proxyString: "thing:tcp -h 127.0.0.1 -p 1", type: (any WithOpsPrx).self)
        #expect(try await proxies.plainProxy(target)?.description == target.description)
        #expect(try await proxies.ops(target)?.description == target.description)
        #expect(ice_staticId((any WithOpsPrx).self) == "::RealWorld::WithOps")
        await communicator.destroy()
    }

    /// A class with operations gets a servant protocol, `COperations`, whose servants answer
    /// through `CPrx` and for their base class's type id too (as ZeroC's 3.7 Swift mapping).
    @Test func classesWithOperationsCanBeServed() async throws {
        let servant = MoreOpsServant()
        let (communicator, more) = try await Self.collocated(servant, (any MoreOpsPrx).self) {
            uncheckedCast(prx: $0, type: (any MoreOpsPrx).self)
        }
        try await more.op()
        #expect(try await more.more(2) == "moremore")
        #expect(await servant.opCalls == 1)
        let base = try #require(try await checkedCast(prx: more, type: (any WithOpsPrx).self))
        try await base.op()
        #expect(await servant.opCalls == 2)
        #expect(try await more.ice_ids() == ["::Ice::Object", "::RealWorld::MoreOps", "::RealWorld::WithOps"])
        await communicator.destroy()
    }

    /// An optional member with a Slice default starts with it, so a default-constructed instance
    /// sends it (ZeroC's optional demo counts on that); one left unset decodes as nil.
    @Test func optionalMembersKeepTheirSliceDefaults() throws {
        let made = Defaults()
        #expect(made.kind == .v2 && made.note == "none" && made.group == 7 && made.weight == nil)
        let error = Refusal()
        #expect(error.reason == "busy" && error.kind == .v2)
        made.note = nil
        var output = OutputStream()
        output.startEncapsulation(format: .compact)
        output.write(made)
        output.endEncapsulation()
        var input = InputStream(bytes: output.bytes, sliceLoader: RealWorld_SliceLoader())
        _ = try input.startEncapsulation()
        let decoded = try input.read(Defaults.self)
        try input.endEncapsulation()
        #expect(decoded?.kind == .v2 && decoded?.group == 7 && decoded?.note == nil && decoded?.weight == nil)
    }

    /// A user exception prints as its type id and members, base members first (logs and
    /// `print(error)` showed only the Swift class name, hiding IceStorm's BadQoS reason).
    @Test func userExceptionsDescribeThemselves() {
        #expect("\(Refusal())" == #"::RealWorld::Refusal(reason: "busy", kind: v2)"#)
        #expect(
            "\(Busy(reason: "full \"now\"", retryAfter: nil))"
                == #"::Demo::Busy(reason: "full \"now\"", retryAfter: nil)"#)
        let error: any Error = Overload(reason: "hot", load: 3, where: "eu")
        #expect("\(error)" == #"::Demo::Overload(reason: "hot", load: 3, where: "eu")"#)
        // A member named `description` (of another type) neither breaks the build nor the text.
        #expect("\(Described(description: 3))" == "::RealWorld::Described(description: 3)")
    }

    /// Ice's hand-written types (Identity, the versions, Context, OperationMode) as members of
    /// structs, in sequences (the structs' fast coding path) and as parameters.
    @Test func handWrittenIceTypesAsSliceData() async throws {
        #expect(
            UsesRuntimeTypes().mode == .normal && UsesRuntimeTypes().encoding == EncodingVersion(major: 0, minor: 0))
        let (communicator, proxy) = try await Self.collocated(HandWrittenServant(), (any HandWrittenPrx).self) {
            uncheckedCast(prx: $0, type: (any HandWrittenPrx).self)
        }
        let value = UsesRuntimeTypes(
            id: Identity(name: "n", category: "c"), encoding: .v1_0, protocol: .v1_0, ctx: ["k": "v"],
            mode: .idempotent, ids: [Identity(name: "a"), Identity(name: "b", category: "x")])
        let (echoed, id) = try await proxy.echo(v: value, e: .v1_1, m: .nonmutating)
        var expected = value
        expected.encoding = .v1_1
        expected.mode = .nonmutating
        #expect(echoed == expected && id == Identity(name: "echoed", category: "echo"))
        var second = value
        second.id = Identity(name: "second")
        let fixed = (0..<5).map { Fixed(encoding: EncodingVersion(major: 1, minor: UInt8($0)), n: Int32($0)) }
        let (reversed, doubled) = try await proxy.many(s: [value, second], f: fixed)
        #expect(reversed == [second, value])
        #expect(doubled.map(\.n) == [0, 2, 4, 6, 8] && doubled.map(\.encoding.minor) == [0, 1, 2, 3, 4])
        await communicator.destroy()
    }

    @Test func membersNamedLikeTheirTypes() async throws {
        let (communicator, shadows) = try await Self.collocated(ShadowsServant(), (any ShadowsPrx).self) {
            uncheckedCast(prx: $0, type: (any ShadowsPrx).self)
        }
        #expect(Shadow().E1 == .v1 && CShadow().E1 == .v2, "Slice defaults")
        #expect(try await shadows.echo(Shadow(E1: .v2, S1: S1(x: 7))) == Shadow(E1: .v2, S1: S1(x: 7)))
        let echoed = try await shadows.echoClass(CShadow(E1: .v1, S1: S1(x: 3)))
        #expect(echoed?.E1 == .v1 && echoed?.S1.x == 3)
        do {
            try await shadows.fail(.v2)
            Issue.record("no exception")
        } catch let error as XShadow {
            #expect(error.E1 == .v2)
        }
        await communicator.destroy()
    }

    @Test func severalClassParametersAndResults() async throws {
        let (communicator, classes) = try await Self.collocated(ClassesServant(), (any ClassesPrx).self) {
            uncheckedCast(prx: $0, type: (any ClassesPrx).self)
        }
        let (returned, p3) = try await classes.two(p1: Plain(x: 4), p2: Plain(x: 5))
        #expect(returned?.x == 40, "returned \(String(describing: returned?.x))")
        #expect(p3?.x == 5, "p3 \(String(describing: p3?.x))")
        #expect(try await classes.amd(a: Plain(x: 2), b: Plain(x: 3))?.x == 5)
        #expect(try await classes.sliced(p1: Plain(x: 1), p2: Plain(x: 9))?.x == 9)
        await communicator.destroy()
    }
}
