import FloeEncoding
import PropertyBased
import Testing

/// Random values of every kind survive encode → decode unchanged, and decoding consumes
/// exactly the bytes encoding wrote.
@Suite("Round trips over random values")
struct RoundTripPropertyTests {
    private func roundTrip<T: StreamCodable>(_ value: T, encoding: EncodingVersion = .v1_1) throws -> T {
        let bytes = encapsulate { value.encode(to: &$0) }
        var stream = InputStream(bytes: bytes)
        #expect(try stream.startEncapsulation() == .v1_1)
        let decoded = try T(from: &stream)
        try stream.endEncapsulation()
        return decoded
    }

    private static let strings = Gen.uint32(in: 0...0x2_FFFF)
        .array(of: 0...40)
        .map { String(String.UnicodeScalarView($0.compactMap(Unicode.Scalar.init))) }

    @Test func numbers() async {
        await propertyCheck(input: Gen.bool, Gen.uint8(), Gen.int16(), Gen.int32(), Gen.int64()) {
            (b, y, s, i, l) throws in
            #expect(try roundTrip(b) == b)
            #expect(try roundTrip(y) == y)
            #expect(try roundTrip(s) == s)
            #expect(try roundTrip(i) == i)
            #expect(try roundTrip(l) == l)
        }
    }

    @Test func floatingPointBitPatterns() async {
        await propertyCheck(input: Gen.uint32(), Gen.uint64()) { (f, d) throws in
            #expect(try roundTrip(Float(bitPattern: f)).bitPattern == f)
            #expect(try roundTrip(Double(bitPattern: d)).bitPattern == d)
        }
    }

    @Test func sizesUseTheShortFormBelow255() async {
        await propertyCheck(input: Gen.int(in: 0...Int(Int32.max))) { (n) throws in
            var out = OutputStream()
            out.writeSize(n)
            #expect(out.count == (n < 255 ? 1 : 5))
            var input = InputStream(buffer: out.finished())
            #expect(try input.readSize() == n)
        }
    }

    @Test func strings() async {
        await propertyCheck(input: Self.strings) { (s) throws in
            #expect(try roundTrip(s) == s)
        }
    }

    @Test func sequencesAndDictionaries() async {
        await propertyCheck(
            input: Gen.int32().array(of: 0...300), Self.strings.array(of: 0...20), Gen.uint8().array(of: 0...600),
            zip(Gen.int64(), Gen.int64()).dictionary(ofAtMost: 0...30)
        ) { (ints, strings, bytes, dict) throws in
            #expect(try roundTrip(ints) == ints)
            #expect(try roundTrip(strings) == strings)
            #expect(try roundTrip(bytes) == bytes)
            #expect(try roundTrip(dict) == dict)
            let nested = [strings, strings.reversed()]
            #expect(try roundTrip(nested) == nested)
        }
    }

    @Test func enumsInBothEncodings() async {
        await propertyCheck(input: Gen<Suit>.case) { (suit) throws in
            #expect(try roundTrip(suit) == suit)
            var out = OutputStream(encoding: .v1_0)
            suit.encode(to: &out)
            #expect(out.count == 4, "an enum whose largest value is 70000 takes an int in 1.0")
            var input = InputStream(buffer: out.finished(), encoding: .v1_0)
            #expect(try Suit(from: &input) == suit)
        }
    }

    /// Any subset of optionals, read back in full, or with some tags unknown to the reader.
    @Test func optionalValuesAndSkipping() async {
        await propertyCheck(
            input: Gen.int32().array(of: 0...5).map(Optional.some), Gen.bool, Self.strings, Gen.int(in: 30...400)
        ) { (ints, setString, text, bigTag) throws in
            let i = ints.flatMap { $0.isEmpty ? nil : $0 }
            let s = setString ? text : nil
            let bytes = encapsulate { out in
                out.write(tag: 1, i?.first)
                out.write(tag: 2, s)
                out.write(tag: 7, i)
                out.write(tag: 8, i.map { Dictionary(uniqueKeysWithValues: $0.enumerated().map { (Int32($0), $1) }) })
                out.write(tag: bigTag, s)
            }
            let all = try decapsulate(bytes) { input in
                (
                    try input.read(tag: 1, Int32.self), try input.read(tag: 2, String.self),
                    try input.read(tag: 7, [Int32].self), try input.read(tag: 8, [Int32: Int32].self),
                    try input.read(tag: bigTag, String.self)
                )
            }
            #expect(all.0 == i?.first && all.1 == s && all.2 == i && all.3?.count == i?.count && all.4 == s)
            // A reader that knows only tag 7 skips the rest (before and after) and lands exactly at the end.
            #expect(try decapsulate(bytes) { try $0.read(tag: 7, [Int32].self) } == i)
        }
    }

    @Test func proxies() async {
        let endpoint = Gen.uint8().array(of: 0...8).map { bytes -> EndpointData in
            switch bytes.count % 4 {
            case 0: .ip(IPEndpointData(host: "h\(bytes.count)", port: Int32(bytes.count * 100)))
            case 1: .ip(IPEndpointData(transport: .wss, host: "::1", port: 1, timeout: -1, resource: "/r"))
            case 2: .udp(UDPEndpointData(host: "239.0.0.1", port: 5, compress: true))
            default: .opaque(OpaqueEndpointData(type: 77, encoding: .v1_1, bytes: bytes))
            }
        }
        await propertyCheck(input: Self.strings, Self.strings, endpoint.array(of: 0...4), Gen.uint8(in: 0...4)) {
            (name, facet, endpoints, mode) throws in
            let proxy = ProxyData(
                identity: Identity(name: "n" + name, category: facet), facet: facet,
                mode: ProxyMode(rawValue: mode) ?? .twoway, secure: mode == 2, endpoints: endpoints,
                adapterId: endpoints.isEmpty ? name : "")
            #expect(try roundTrip(Optional(proxy)) == proxy)
        }
    }

    /// Random graphs: node i links to the nodes in `edges[i]`, so graphs share nodes and cycle.
    @Test(arguments: [FormatType.compact, .sliced])
    func classGraphs(format: FormatType) async {
        await propertyCheck(input: Gen.int(in: 0...15).array(of: 0...3).array(of: 1...16)) { (edges) throws in
            let nodes = edges.indices.map { i -> GraphNode in
                let node = GraphNode()
                node.label = Int32(i)
                node.note = i.isMultiple(of: 3) ? "n\(i)" : nil
                return node
            }
            for (i, targets) in edges.enumerated() {
                nodes[i].links = targets.map { $0 < nodes.count ? nodes[$0] : nil }
            }
            let bytes = encapsulate(format: format) { $0.write(nodes[0]) }
            let root = try decapsulate(bytes) { try $0.read(GraphNode.self) }
            // Walk both graphs in step; the decoded one must have the same shape and sharing.
            var seen: [Int32: GraphNode] = [:]
            var pending = [(nodes[0], root)]
            while let (original, decoded) = pending.popLast() {
                guard let decoded else {
                    Issue.record("missing node \(original.label)")
                    break
                }
                if let known = seen[original.label] {
                    #expect(known === decoded, "node \(original.label) decoded twice")
                    continue
                }
                seen[original.label] = decoded
                #expect(decoded.label == original.label && decoded.note == original.note)
                #expect(decoded.links.count == original.links.count)
                for (a, b) in zip(original.links, decoded.links) {
                    if let a { pending.append((a, b)) } else { #expect(b == nil) }
                }
            }
            // Re-encoding the decoded graph gives the same bytes.
            #expect(encapsulate(format: format) { $0.write(root) } == bytes)
        }
    }

    @Test func exceptionsInBothFormats() async {
        await propertyCheck(input: Self.strings, Gen.int32()) { (reason, code) throws in
            for format in [FormatType.compact, .sliced] {
                let culprit = GraphNode()
                culprit.links = [culprit]
                let thrown = DetailedFailure()
                thrown.reason = reason
                thrown.code = code
                thrown.culprit = culprit
                let bytes = encapsulate(format: format) { $0.write(exception: thrown) }
                let caught = try decapsulate(bytes) { try $0.readUserException() }
                let failure = try #require(caught as? DetailedFailure)
                #expect(failure.reason == reason && failure.code == code)
                #expect(failure.culprit?.links.first.flatMap { $0 } === failure.culprit)
                if format == .sliced {
                    // A reader that only knows the base exception slices it down.
                    let base = try decapsulate(bytes, loader: baseTypes) { try $0.readUserException() }
                    #expect(type(of: base) == Failure.self && (base as? Failure)?.reason == reason)
                }
            }
        }
    }

    @Test func unknownSlicesArePreservedAndResent() throws {
        let friend = Animal()
        friend.name = "cat"
        let dog = Dog()
        dog.name = "rex"
        dog.friend = friend
        dog.tricks = 3
        let bytes = encapsulate(format: .sliced) { $0.write(dog) }
        let sliced = try decapsulate(bytes, loader: baseTypes) { try $0.read(Animal.self) }
        #expect(type(of: sliced!) == Animal.self && sliced?.name == "rex")
        let info = try #require(sliced?.ice_slicedData?.slices.first)
        #expect(info.typeId == "::Test::Dog" && info.hasOptionalMembers && info.instances.count == 1)
        #expect((info.instances.first as? Animal)?.name == "cat", "the skipped slice's table was still decoded")
        #expect(encapsulate(format: .sliced) { $0.write(sliced) } == bytes)
        // Sent compact, the unknown slice is dropped and the base type remains.
        let compact = encapsulate { $0.write(sliced) }
        #expect(try decapsulate(compact) { try $0.read(Animal.self) }?.name == "rex")
        // No known slice at all: an unknown sliced value, still re-sent unchanged.
        let unknown = try decapsulate(bytes, loader: SliceRegistry()) { try $0.readValue() }
        #expect((unknown as? UnknownSlicedValue)?.ice_id() == "::Test::Dog")
        #expect(encapsulate(format: .sliced) { $0.write(unknown) } == bytes)
    }
}
