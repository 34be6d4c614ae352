import FloeCore
import FloeEncoding
import FloeProtocol
import NIOCore
import Testing

/// Class and exception slices whose members the generator writes and reads in runs (Demo.ice's
/// `Sample` and `Overload`), and the instance marker written together with the slice header.
@Suite("Class member runs")
struct ClassMemberRunTests {
    private func sample(_ id: Int32, label: String, next: Sample? = nil) -> Sample {
        Sample(
            id: id, weight: Double(id) / 4, label: label, at: Measure(value: -Double(id), weight: 0.5), next: next,
            tail: Int64(id) << 40, done: id % 2 == 0)
    }

    private func encode(format: FormatType, _ write: (inout OutputStream) -> Void) -> [UInt8] {
        var stream = OutputStream()
        stream.startEncapsulation(format: format)
        write(&stream)
        stream.endEncapsulation()
        return stream.bytes
    }

    private func decode<T>(_ bytes: [UInt8], _ read: (inout InputStream) throws -> T) throws -> T {
        var stream = InputStream(bytes: bytes, sliceLoader: Demo_SliceLoader())
        _ = try stream.startEncapsulation()
        let value = try read(&stream)
        try stream.endEncapsulation()
        #expect(stream.isAtEnd)
        return value
    }

    /// The bytes of encoding 1.1's compact format, written out by hand from the spec.
    @Test func compactBytesMatchTheEncoding() {
        let bytes = encode(format: .compact) { $0.write(sample(2, label: "ab")) }
        var expected: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { expected += $0 } }
        put(Int32(6 + 54))  // encapsulation size: its 6-byte header and the 54 bytes below
        expected += [1, 1]  // encoding 1.1
        expected += [1, 0x21, 14] + Array("::Demo::Sample".utf8)  // new instance; type id string; last slice
        put(Int32(2))
        put((0.5).bitPattern)
        expected += [2] + Array("ab".utf8)
        put((-2.0).bitPattern)
        put(Float(0.5).bitPattern)
        expected += [0]  // next: null
        put(Int64(2) << 40)
        expected += [1]  // done
        #expect(bytes == expected)
    }

    @Test(arguments: [FormatType.compact, .sliced])
    func cyclesAndRepeatedTypesRoundTrip(format: FormatType) throws {
        let first = sample(1, label: "first")
        let second = sample(2, label: String(repeating: "é", count: 200), next: first)
        first.next = second
        let third = sample(3, label: "")
        let bytes = encode(format: format) { stream in
            stream.write(first)
            stream.write(third)
            stream.write(second)
        }
        let (a, b, c) = try decode(bytes) { stream in
            (try stream.read(Sample.self), try stream.read(Sample.self), try stream.read(Sample.self))
        }
        for (got, want) in [(a, first), (b, third), (c, second)] {
            #expect(got?.id == want.id && got?.weight == want.weight && got?.label == want.label)
            #expect(got?.at == want.at && got?.tail == want.tail && got?.done == want.done)
        }
        #expect(a?.next === c && c?.next === a, "the cycle closes on the same instances")
        #expect(b?.next == nil)
    }

    @Test(arguments: [FormatType.compact, .sliced])
    func exceptionSlicesRoundTrip(format: FormatType) throws {
        let bytes = encode(format: format) { $0.write(exception: Overload(reason: "busy", load: 97, where: "here")) }
        let error = try decode(bytes) { try $0.readUserException() }
        let overload = try #require(error as? Overload)
        #expect(overload.reason == "busy" && overload.load == 97 && overload.where == "here")
    }
}
