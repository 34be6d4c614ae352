import FloeEncoding
import FloeProtocol
import NIOCore
import Testing
import VectorFixtures

/// Vector cases with class instances and user exceptions, in the compact and sliced formats.
@Suite("Vectors: classes and exceptions")
struct VectorClassTests {
    /// n1 = Node{1, n2}, n2 = Node{2, n1}.
    private func cycle() -> Node {
        let n1 = Node()
        let n2 = Node()
        n1.value = 1
        n1.next = n2
        n2.value = 2
        n2.next = n1
        return n1
    }

    private func expectCycle(_ n: Node?) {
        #expect(n?.value == 1 && n?.next?.value == 2)
        #expect(n?.next?.next === n, "the cycle closes on the first instance")
    }

    @Test("class-cycle") func classCycle() throws {
        let v = try VectorCase("class-cycle")
        for encaps in [v.parameters(0), try v.result(0)] {
            expectCycle(try encaps.decode { try $0.read(Node.self) })
            encaps.expectEncoded { $0.write(cycle()) }
        }
    }

    @Test("class-cycle-sliced") func classCycleSliced() throws {
        let v = try VectorCase("class-cycle-sliced")
        for encaps in [v.parameters(0), try v.result(0)] {
            expectCycle(try encaps.decode { try $0.read(Node.self) })
            encaps.expectEncoded(format: .sliced) { $0.write(cycle()) }
        }
    }

    private func baseSeq() -> [Base?] {
        let d = Derived()
        d.b = "x"
        d.d = 1
        let b = Base()
        b.b = "y"
        return [d, b, d, nil]
    }

    private func expectBaseSeq(_ seq: [Base?]) {
        #expect(seq.count == 4)
        guard seq.count == 4 else { return }
        let d = seq[0] as? Derived
        #expect(d?.b == "x" && d?.d == 1)
        #expect(seq[1].map { type(of: $0) == Base.self } == true && seq[1]?.b == "y")
        #expect(seq[2] === seq[0], "the third element is a back-reference to the first")
        #expect(seq[3] == nil)
    }

    @Test("class-seq-sliced") func classSeqSliced() throws {
        let v = try VectorCase("class-seq-sliced")
        for encaps in [v.parameters(0), try v.result(0)] {
            expectBaseSeq(try encaps.decode { try [Base?](from: &$0) })
            encaps.expectEncoded(format: .sliced) { baseSeq().encode(to: &$0) }
        }
    }

    @Test("class-seq-compact") func classSeqCompact() throws {
        let v = try VectorCase("class-seq-compact")
        for encaps in [v.parameters(0), try v.result(0)] {
            expectBaseSeq(try encaps.decode { try [Base?](from: &$0) })
            encaps.expectEncoded { baseSeq().encode(to: &$0) }
        }
    }

    @Test("class-unknown-slice") func classUnknownSlice() throws {
        let v = try VectorCase("class-unknown-slice")
        let result = try v.result(0)
        // The client does not know Hidden: it slices the instance to Derived and keeps the rest.
        let sliced = try #require(try result.decode(loader: clientTypes) { try $0.read(Base.self) } as? Derived)
        #expect(type(of: sliced) == Derived.self && sliced.b == "base-part" && sliced.d == 42)
        #expect(sliced.ice_slicedData?.slices.map(\.typeId) == ["::Vectors::Hidden"])
        // Re-sent in the sliced format, the preserved slice goes back out unchanged.
        result.expectEncoded(format: .sliced) { $0.write(sliced) }
        // The server, which knows Hidden, reads the whole instance, and writes the same bytes.
        let hidden = try #require(try result.decode(loader: serverTypes) { try $0.read(Base.self) } as? Hidden)
        #expect(hidden.secret == "hidden-part" && hidden.d == 42 && hidden.b == "base-part")
        result.expectEncoded(format: .sliced) { $0.write(hidden) }
    }

    @Test("class-compact-id") func classCompactId() throws {
        let v = try VectorCase("class-compact-id")
        for (encaps, value) in [(v.parameters(0), Int32(5)), (try v.result(0), 6)] {
            #expect(try encaps.decode { try $0.read(Compact.self) }?.v == value)
            let c = Compact()
            c.v = value
            encaps.expectEncoded { $0.write(c) }
        }
    }

    @Test("class-optional-members") func classOptionalMembers() throws {
        let v = try VectorCase("class-optional-members")
        for encaps in [v.parameters(0), try v.result(0)] {
            let w = try encaps.decode { try $0.read(WithOptional.self) }
            #expect(w?.a == 1 && w?.s == "s" && w?.i == nil)
            let expected = WithOptional()
            expected.a = 1
            expected.s = "s"
            encaps.expectEncoded { $0.write(expected) }
        }
    }

    private func exception(_ v: VectorCase, loader: any SliceLoader = clientTypes) throws -> any UserException {
        #expect(v.replies[0].status == .userException)
        return try v.result(0).decode(loader: loader) { try $0.readUserException() }
    }

    @Test("user-exception") func userException() throws {
        let v = try VectorCase("user-exception")
        let e = try #require(try exception(v) as? BaseError)
        #expect(type(of: e) == BaseError.self && e.reason == "base reason")
        try v.result(0).expectEncoded { $0.write(exception: e) }
    }

    @Test("user-exception-derived") func userExceptionDerived() throws {
        let v = try VectorCase("user-exception-derived")
        // Caught as the base type, it is still the derived exception.
        let e = try #require(try exception(v) as? BaseError)
        let derived = try #require(e as? DerivedError)
        #expect(derived.reason == "derived reason" && derived.code == 3)
        try v.result(0).expectEncoded { $0.write(exception: derived) }
    }

    @Test("user-exception-sliced") func userExceptionSliced() throws {
        let v = try VectorCase("user-exception-sliced")
        let e = try #require(try exception(v) as? DerivedError)
        #expect(e.reason == "derived reason" && e.code == 1)
        try v.result(0).expectEncoded(format: .sliced) { $0.write(exception: e) }
    }

    @Test("user-exception-unknown-slice") func userExceptionUnknownSlice() throws {
        let v = try VectorCase("user-exception-unknown-slice")
        let e = try #require(try exception(v) as? DerivedError)
        #expect(type(of: e) == DerivedError.self && e.reason == "hidden reason" && e.code == 2)
        let full = try #require(try exception(v, loader: serverTypes) as? HiddenError)
        #expect(full.extra == "extra data")
        try v.result(0).expectEncoded(format: .sliced) { $0.write(exception: full) }
    }

    @Test("undeclared-user-exception") func undeclaredUserException() throws {
        let v = try VectorCase("undeclared-user-exception")
        // Decoded fine; the invocation layer reports it as undeclared for opUndeclared.
        let e = try #require(try exception(v) as? OtherError)
        #expect(e.what == "not declared")
        try v.result(0).expectEncoded { $0.write(exception: e) }
    }
}
