import FloeEncoding
import FloeProtocol
import NIOCore
import Testing
import VectorFixtures

/// Vector cases whose operations carry data: each checks the decoded values against the
/// case's summary and that encoding those values reproduces the captured bytes.
@Suite("Vectors: operation data")
struct VectorDataTests {
    @Test("primitives") func primitives() throws {
        let v = try VectorCase("primitives")
        let params = v.parameters(0)
        let decoded = try params.decode { s in
            (
                try s.read(Bool.self), try s.read(UInt8.self), try s.read(Int16.self), try s.read(Int32.self),
                try s.read(Int64.self), try s.read(Float.self), try s.read(Double.self), try s.read(String.self)
            )
        }
        #expect(decoded.0 == true && decoded.1 == 200 && decoded.2 == -2 && decoded.3 == 42)
        #expect(decoded.4 == 1_099_511_627_781 && decoded.5 == 1.5 && decoded.6 == 3.25 && decoded.7 == "h\u{e9}llo")
        params.expectEncoded { s in
            s.write(true); s.write(UInt8(200)); s.write(Int16(-2)); s.write(Int32(42))
            s.write(Int64(1_099_511_627_781)); s.write(Float(1.5)); s.write(Double(3.25)); s.write("h\u{e9}llo")
        }
        // Out parameter first, then the return value.
        let result = try v.result(0)
        let (dout, ret) = try result.decode { s in (try s.read(Double.self), try s.read(String.self)) }
        #expect(dout == 6.5)
        #expect(ret == "True|200|-2|42|1099511627781|1.5|3.25|h\u{e9}llo")
        result.expectEncoded { s in
            s.write(6.5 as Double); s.write(ret)
        }
    }

    @Test("byteseq-small") func byteseqSmall() throws {
        let v = try VectorCase("byteseq-small")
        let bytes: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xff]
        for encaps in [v.parameters(0), try v.result(0)] {
            #expect(try encaps.decode { try [UInt8](from: &$0) } == bytes)
            encaps.expectEncoded { bytes.encode(to: &$0) }
        }
    }

    @Test("byteseq-300") func byteseq300() throws {
        let v = try VectorCase("byteseq-300")
        let bytes = (0..<300).map { UInt8($0 % 256) }
        #expect(Array(v.parameters(0).content.readableBytesView.prefix(5)) == [0xff, 0x2c, 0x01, 0x00, 0x00])
        for encaps in [v.parameters(0), try v.result(0)] {
            #expect(try encaps.decode { try [UInt8](from: &$0) } == bytes)
            encaps.expectEncoded { bytes.encode(to: &$0) }
        }
    }

    @Test("struct") func structs() throws {
        let v = try VectorCase("struct")
        let p = Point(x: 1, y: 2)
        let q = Person(name: "ann", age: 30, color: .green)
        let params = v.parameters(0)
        let (dp, dq) = try params.decode { s in (try Point(from: &s), try Person(from: &s)) }
        #expect(dp == p && dq == q)
        params.expectEncoded { s in
            p.encode(to: &s); q.encode(to: &s)
        }
        let result = try v.result(0)
        let r = Person(name: "ANN", age: 31, color: .blue)
        let (dr, ret) = try result.decode { s in (try Person(from: &s), try Point(from: &s)) }
        #expect(dr == r && ret == Point(x: 2, y: 1))
        result.expectEncoded { s in
            r.encode(to: &s); Point(x: 2, y: 1).encode(to: &s)
        }
    }

    @Test("enum") func enums() throws {
        let v = try VectorCase("enum")
        try checkEnumCall(v, encoding: .v1_1)
        #expect(Array(v.parameters(0).content.readableBytesView) == [0x01, 0xff, 0x2c, 0x01, 0x00, 0x00])
    }

    @Test("enum-encoding-1.0") func enumEncoding10() throws {
        let v = try VectorCase("enum-encoding-1.0")
        try checkEnumCall(v, encoding: .v1_0)
        // Color fits a byte; Sparse (largest 300) takes a short.
        #expect(Array(v.parameters(0).content.readableBytesView) == [0x01, 0x2c, 0x01])
    }

    private func checkEnumCall(_ v: VectorCase, encoding: EncodingVersion) throws {
        let params = v.parameters(0)
        #expect(params.encoding == encoding)
        let (c, s) = try params.decode { s in (try Color(from: &s), try Sparse(from: &s)) }
        #expect(c == .green && s == .high)
        params.expectEncoded { s in
            Color.green.encode(to: &s); Sparse.high.encode(to: &s)
        }
        let result = try v.result(0)
        #expect(result.encoding == encoding, "replies use the request's encoding")
        let (so, ret) = try result.decode { s in (try Sparse(from: &s), try Color(from: &s)) }
        #expect(so == .high && ret == .green)
        result.expectEncoded { s in
            Sparse.high.encode(to: &s); Color.green.encode(to: &s)
        }
    }

    @Test("dict") func dict() throws {
        let v = try VectorCase("dict")
        let params = v.parameters(0)
        #expect(try params.decode { try [String: Int32](from: &$0) } == ["a": 1, "b": 2])
        params.expectEncoded { s in
            // Ordered as the capturing peer wrote them; dictionary order carries no meaning.
            s.writeSize(2); s.write("a"); s.write(Int32(1)); s.write("b"); s.write(Int32(2))
        }
        #expect(try v.result(0).decode { try [String: Int32](from: &$0) } == ["a": 10, "b": 20])
    }

    @Test("optional-set") func optionalSet() throws {
        let v = try VectorCase("optional-set")
        let params = v.parameters(0)
        let decoded = try params.decode { s in
            (
                try s.read(tag: 2, Int32.self), try s.read(tag: 3, String.self), try s.read(tag: 4, Point.self),
                try s.read(tag: 5, [Int32].self), try s.read(tag: 6, Color.self),
                try s.read(tag: 40, [String: Int32].self)
            )
        }
        #expect(decoded.0 == 5 && decoded.1 == "opt" && decoded.2 == Point(x: 3, y: 4))
        #expect(decoded.3 == [1, 2, 3] && decoded.4 == .blue && decoded.5 == ["k": 9])
        params.expectEncoded { s in
            s.write(tag: 2, Int32(5)); s.write(tag: 3, "opt"); s.write(tag: 4, Point(x: 3, y: 4))
            s.write(tag: 5, [Int32(1), 2, 3]); s.write(tag: 6, Color.blue); s.write(tag: 40, ["k": Int32(9)])
        }
        let result = try v.result(0)
        let (ret, so) = try result.decode { s in (try s.read(tag: 1, Int32.self), try s.read(tag: 7, String.self)) }
        #expect(ret == 6 && so == "opt")
        result.expectEncoded { s in
            s.write(tag: 1, Int32(6)); s.write(tag: 7, "opt")
        }
    }

    @Test("optional-unset") func optionalUnset() throws {
        let v = try VectorCase("optional-unset")
        let params = v.parameters(0)
        #expect(params.bytes == [6, 0, 0, 0, 1, 1])
        let decoded = try params.decode { s in
            (try s.read(tag: 2, Int32.self), try s.read(tag: 40, [String: Int32].self))
        }
        #expect(decoded.0 == nil && decoded.1 == nil)
        params.expectEncoded { s in
            s.write(tag: 2, Int32?.none); s.write(tag: 3, String?.none)
        }
        #expect(try v.result(0).bytes == [6, 0, 0, 0, 1, 1])
    }

    @Test("proxy") func proxy() throws {
        let v = try VectorCase("proxy")
        let p1 = ProxyData(
            identity: Identity(name: "test"), facet: "fac",
            endpoints: [
                .ip(IPEndpointData(host: "127.0.0.1", port: 10000)),
                .ip(IPEndpointData(transport: .ssl, host: "example.com", port: 10001, timeout: 1000, compress: true)),
                .udp(UDPEndpointData(host: "239.255.1.1", port: 10002)),
                .ip(IPEndpointData(transport: .ws, host: "localhost", port: 10003, resource: "/path")),
                .opaque(OpaqueEndpointData(type: 99, encoding: .v1_1, bytes: [1, 2, 3])),
            ])
        let p2 = ProxyData(
            identity: Identity(name: "name", category: "cat"), mode: .oneway, secure: true, adapterId: "TheAdapter")
        let params = v.parameters(0)
        let decoded = try params.decode { s in
            (try s.read(ProxyData.self), try s.read(ProxyData.self), try s.read(ProxyData.self))
        }
        #expect(decoded.0 == p1 && decoded.1 == p2 && decoded.2 == nil)
        params.expectEncoded { s in
            s.write(p1); s.write(p2); s.write(ProxyData?.none)
        }
        let result = try v.result(0)
        #expect(try result.decode { try $0.read(ProxyData.self) } == p1)
        result.expectEncoded { $0.write(p1) }
    }

    @Test("context") func context() throws {
        let v = try VectorCase("context")
        #expect(v.requests[0].header.context == ["k": "v", "x": "y"])
        #expect(try v.parameters(0).decode { try $0.read(String.self) } == "k")
        #expect(try v.result(0).decode { try $0.read(String.self) } == "v")
    }

    @Test("idempotent") func idempotent() throws {
        let v = try VectorCase("idempotent")
        #expect(v.requests[0].header.mode == .idempotent)
        #expect(try v.result(0).decode { try $0.read(Int32.self) } == 7)
        try v.result(0).expectEncoded { $0.write(Int32(7)) }
    }

    @Test("compressed") func compressed() throws {
        let v = try VectorCase("compressed")
        #expect(
            v.headers.map(\.compression) == [
                .notCompressed, .compressed, .compressed, .compressionSupported, .compressionSupported,
                .compressionSupported,
            ])
        let bytes = (0..<2000).map { UInt8(($0 * 7) % 256) }
        #expect(try v.parameters(0).decode { try [UInt8](from: &$0) } == bytes)
        #expect(try v.result(0).decode { try [UInt8](from: &$0) } == bytes)
        v.parameters(0).expectEncoded { bytes.encode(to: &$0) }
    }
}
