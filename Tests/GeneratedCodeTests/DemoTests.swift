import FloeCore
import FloeEncoding
import FloeProtocol
import NIOCore
import Testing

import struct Foundation.Data

/// A servant for Demo.ice's Greeter: multiple inheritance, proxies in sequences and
/// dictionaries, optional out-parameters, nested-module types.
actor GreeterServant: Greeter {
    private var attached: [String] = []

    func ping(current: Current) async throws -> Int32 { 42 }
    func touch(current: Current) async throws {}
    func greet(name: String, current: Current) async throws -> String {
        guard !name.isEmpty else { throw GreetError(reason: "nobody to greet") }
        return "Hello, \(name)"
    }
    func lookup(name: String, current: Current) async throws -> (returnValue: Reply, found: Bool) {
        (Reply(text: name, mood: .Grumpy, from: current.id), true)
    }
    func history(max: Int32, filter: Mood?, current: Current) async throws -> ReplySeq {
        (0..<max).map { Reply(text: "\($0)", mood: filter ?? .Happy, from: Identity()) }
    }
    func attach(n: sending Note?, peer: (any GreeterPrx)?, current: Current) async throws {
        attached.append((n?.body ?? "") + "@" + (peer?.ice_getIdentity().name ?? "nil"))
    }
    func getBlob(current: Current) async throws -> Blob { Data([1, 2, 3]) }
    func find(key: String?, current: Current) async throws
        -> sending (returnValue: String?, reply: Reply?, notes: Notes)
    {
        guard let key else { return (nil, nil, []) }
        return (
            key.uppercased(), Reply(text: key, mood: .Sleepy, from: Identity()),
            [Reminder(body: "r", stamp: 1, next: nil, mood: .Grumpy)]
        )
    }
    func peers(known: GreeterMap, current: Current) async throws -> GreeterSeq {
        known.keys.sorted().map { known[$0] ?? nil }
    }
    func swap(p: InnerPair, current: Current) async throws -> InnerPair {
        guard p.int >= 0 else { throw Busy(reason: "negative", retryAfter: 5) }
        return InnerPair(int: -p.int, class: String(p.class.reversed()))
    }
    func copy(n: sending Note?, current: Current) async throws -> sending Note? { n }

    func attachments() -> [String] { attached }
}

@Suite("Generated code: Demo.ice")
struct DemoTests {
    private func greeter() async throws -> (Communicator, GreeterServant, any GreeterPrx) {
        let communicator = Communicator(sliceLoader: Demo_SliceLoader())
        let adapter = try await communicator.createObjectAdapter(name: "Demo")
        let servant = GreeterServant()
        let proxy = try adapter.add(servant: servant, id: Identity(name: "greeter"))
        try await adapter.activate()
        return (communicator, servant, uncheckedCast(prx: proxy, type: (any GreeterPrx).self))
    }

    @Test func defaultsFromSlice() {
        #expect(Reply().text == "none" && Reply().mood == .Sleepy && Reply().from == Identity())
        #expect(Reminder().mood == .Happy && Reminder().stamp == nil)
        #expect(Mood() == .Happy && Mood.maxRawValue == 6 && Mood.Grumpy.rawValue == 5)
        #expect(MaxItems == 100 && Greeting == "hi \"there\"\n\u{e9}" && DefaultMood == .Grumpy && Big == .min)
    }

    @Test func inheritedOperationsAndTypeIds() async throws {
        let (_, _, greeter) = try await greeter()
        #expect(try await greeter.ping() == 42)
        try await greeter.touch()
        #expect(try await greeter.ice_ids() == ["::Demo::Greeter", "::Demo::Other", "::Demo::Pinger", "::Ice::Object"])
        let pinger = try #require(try await checkedCast(prx: greeter, type: (any PingerPrx).self))
        #expect(try await pinger.ping() == 42)
    }

    @Test func resultsOutParametersAndOptionals() async throws {
        let (_, _, greeter) = try await greeter()
        #expect(try await greeter.greet("Alice") == "Hello, Alice")
        let lookup = try await greeter.lookup("bob")
        #expect(
            lookup.found && lookup.returnValue == Reply(text: "bob", mood: .Grumpy, from: Identity(name: "greeter")))
        #expect(try await greeter.history(max: 3, filter: .Sleepy).map(\.mood) == [.Sleepy, .Sleepy, .Sleepy])
        #expect(try await greeter.history(max: 1).first?.mood == .Happy)
        #expect(try await greeter.getBlob() == Data([1, 2, 3]))
        let found = try await greeter.find("k")
        #expect(found.returnValue == "K" && found.reply?.mood == .Sleepy)
        #expect((found.notes.first as? Reminder)?.mood == .Grumpy)
        let missing = try await greeter.find()
        #expect(missing.returnValue == nil && missing.reply == nil && missing.notes.isEmpty)
    }

    @Test func proxiesInSequencesAndDictionaries() async throws {
        let (communicator, servant, greeter) = try await greeter()
        let other = uncheckedCast(prx: communicator.makeProxy(Identity(name: "other")), type: (any GreeterPrx).self)
        let peers = try await greeter.peers(["a": greeter, "b": nil, "c": other])
        #expect(peers.map { $0?.ice_getIdentity().name } == ["greeter", nil, "other"])
        try await greeter.attach(n: Note(body: "hi", stamp: nil), peer: other)
        #expect(await servant.attachments() == ["hi@other"])
    }

    @Test func exceptionsFromNestedTypes() async throws {
        let (_, _, greeter) = try await greeter()
        #expect(try await greeter.swap(InnerPair(int: 2, class: "ab")) == InnerPair(int: -2, class: "ba"))
        do {
            _ = try await greeter.swap(InnerPair(int: -1, class: ""))
            Issue.record("no exception")
        } catch let error as GreetError {
            #expect((error as? Busy)?.retryAfter == 5 && error.reason == "negative")
        }
        await #expect(throws: GreetError.self) { try await greeter.greet("") }
    }

    @Test func nonIdempotentOperationsRejectOtherModes() async throws {
        let (_, _, greeter) = try await greeter()
        do {
            _ = try await greeter._invoke(
                operation: "greet", mode: .idempotent, context: nil, returnsData: true, write: { $0.write("x") },
                read: { try $0.read(String.self) })
            Issue.record("no error")
        } catch let error as DispatchError {
            #expect(error.status == .unknownLocalException)
        }
    }
}

/// Sequences of structs made of numbers and strings take the raw path (one buffer access for
/// the whole sequence); it must produce and accept exactly the bytes of the value-by-value path.
@Suite("Generated code: raw sequence coding")
struct RawSequenceCodingTests {
    private func valueByValue<T: StreamCodable>(_ values: [T]) -> [UInt8] {
        var stream = OutputStream()
        stream.writeSize(values.count)
        for value in values { value.encode(to: &stream) }
        return stream.bytes
    }

    private func roundTrip<T: StreamCodable & Equatable>(_ values: [T]) throws {
        var stream = OutputStream()
        values.encode(to: &stream)
        #expect(stream.bytes == valueByValue(values))
        var input = InputStream(buffer: ByteBuffer(bytes: stream.bytes))
        #expect(try [T](from: &input) == values)
        #expect(input.isAtEnd)
    }

    @Test func structsOfNumbersAndStrings() throws {
        try roundTrip((0..<300).map { InnerPair(int: Int32($0) - 150, class: String(repeating: "é", count: $0 % 7)) })
        try roundTrip((0..<300).map { Measure(value: Double($0) / 3, weight: Float($0) * 0.5) })
        try roundTrip([InnerPair(int: 1, class: String(repeating: "long ", count: 100))])
        try roundTrip([Measure]())
    }

    @Test func truncatedSequencesAreRejected() {
        var stream = OutputStream()
        [InnerPair(int: 7, class: "abc"), InnerPair(int: 8, class: "def")].encode(to: &stream)
        let bytes = stream.bytes
        for cut in 1..<bytes.count {
            var input = InputStream(buffer: ByteBuffer(bytes: bytes[..<cut]))
            #expect(throws: MarshalError.self) { try [InnerPair](from: &input) }
        }
    }
}
