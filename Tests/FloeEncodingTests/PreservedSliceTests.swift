import NIOCore
import Testing

@testable import FloeEncoding

/// A class this process knows, under a more-derived slice it does not.
private final class Known: Value {
    var tag: Int32 = 0
    override class func ice_staticId() -> String { "::T::Known" }
    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: Self.ice_staticId(), last: true)
        stream.write(tag)
        stream.endSlice()
    }
    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        tag = try stream.read(Int32.self)
        try stream.endSlice()
    }
}

private struct KnownLoader: SliceLoader {
    func newValue(typeId: String) -> Value? { typeId == Known.ice_staticId() ? Known() : nil }
}

@Suite("Preserved slices")
struct PreservedSliceTests {
    private func roundTrip(_ value: Value) throws -> Value? {
        var out = OutputStream()
        out.startEncapsulation(encoding: .v1_1, format: .sliced)
        out.write(value)
        out.endEncapsulation()
        var stream = InputStream(buffer: out.finished(), encoding: .v1_1, sliceLoader: KnownLoader())
        try stream.startEncapsulation()
        let read = try stream.readValue()
        try stream.endEncapsulation()
        return read
    }

    /// A relayed instance's unknown slice keeps its indirection table entry for entry: a null
    /// entry and a repeated instance stay where the slice's member bytes expect them.
    @Test func relayedTablesKeepNullAndRepeatedEntries() throws {
        let shared = Known()
        shared.tag = 7
        let value = Known()
        value.tag = 1
        // The unknown slice's members: three table indexes (1-based), as sizes.
        value.ice_slicedData = SlicedData(slices: [
            SliceInfo(
                typeId: "::T::Derived", compactId: nil, bytes: [1, 2, 3], instances: [shared, nil, shared],
                hasOptionalMembers: false, isLastSlice: false)
        ])
        let first = try #require(try roundTrip(value))
        let again = try #require(try roundTrip(first))  // relayed twice
        for relayed in [first, again] {
            let slice = try #require(relayed.ice_slicedData?.slices.first)
            #expect(slice.bytes == [1, 2, 3])
            #expect(slice.instances.count == 3)
            #expect(slice.instances[1] == nil)
            let a = try #require(slice.instances[0] as? Known)
            #expect(a.tag == 7 && slice.instances[2] === a)
        }
    }

    /// Many tiny unknown slices cost time in proportion to their bytes.
    @Test func manyUnknownSlicesDecodeInLinearTime() throws {
        let value = Known()
        let slices = (0..<50_000).map { _ in
            SliceInfo(
                typeId: "::T::D", compactId: nil, bytes: [], instances: [], hasOptionalMembers: false,
                isLastSlice: false)
        }
        value.ice_slicedData = SlicedData(slices: slices)
        let start = ContinuousClock.now
        let read = try #require(try roundTrip(value))
        #expect(read.ice_slicedData?.slices.count == 50_000)
        // Quadratic copying of the preserved slices took minutes here; linear takes well under a second.
        #expect(ContinuousClock.now - start < .seconds(20))
    }
}
