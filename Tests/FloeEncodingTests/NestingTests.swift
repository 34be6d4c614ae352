import FloeEncoding
import NIOCore
import TestSupport
import Testing

/// A class with a proxy member: the way encapsulations nest inside class graphs (a proxy's
/// endpoint is an encapsulation, whose trailing optionals may hold a class instance).
private final class Holder: Value {
    var proxy: ProxyData?
    override class func ice_staticId() -> String { "::Test::Holder" }
    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        proxy = try stream.read(ProxyData.self)
        try stream.endSlice()
    }
}

private struct HolderLoader: SliceLoader {
    func newValue(typeId: String) -> Value? { typeId == Holder.ice_staticId() ? Holder() : nil }
}

/// The instance bytes of a `Holder` whose proxy's tcp endpoint carries, as a trailing class
/// optional, the instance `inner` (or a Holder with a null proxy). Built iteratively, so the
/// test's own recursion cannot overflow.
private func holder(around inner: [UInt8]?) -> [UInt8] {
    let typeId = Array(Holder.ice_staticId().utf8)
    var bytes: [UInt8] = [1, 0x21, UInt8(typeId.count)] + typeId  // new instance; slice: type id, last
    guard let inner else { return bytes + [0, 0] }  // null proxy: empty identity
    var endpoint: [UInt8] = [1, 0x68]  // host "h"
    endpoint += [0x10, 0x27, 0, 0, 0x60, 0xea, 0, 0, 0]  // port 10000, timeout 60000, no compression
    endpoint += [1 << 3 | 7] + inner  // optional tag 1, class format
    let size = UInt32(endpoint.count + 6)
    bytes += [1, 0x78, 0, 0]  // identity "x", category "", no facet
    bytes += [0, 0, 1, 0, 1, 1]  // twoway, not secure, protocol 1.0, encoding 1.1
    bytes += [1, 1, 0]  // one endpoint, tcp
    bytes += withUnsafeBytes(of: size.littleEndian, Array.init) + [1, 1] + endpoint
    return bytes
}

@Suite("Nesting limits")
struct NestingTests {
    /// The deepest such message that fits in the default Ice.MessageSizeMax (1 MiB): decoding
    /// fails cleanly instead of recursing until the stack overflows.
    @Test func classesNestedThroughEncapsulationsHitTheDepthLimit() async throws {
        // (Off the cooperative pool: building and reading it takes about a second.)
        let failure = await offPool { () -> (any Error)? in
            var bytes = holder(around: nil)
            while true {
                let next = holder(around: bytes)
                guard next.count < 1 << 20 else { break }
                bytes = next
            }
            var stream = InputStream(bytes: bytes, encoding: .v1_1, sliceLoader: HolderLoader())
            do {
                _ = try stream.readValue()
                return nil
            } catch {
                return error
            }
        }
        #expect(failure is MarshalError, "\(String(describing: failure))")
    }

    /// Legitimate nesting well within the limits still decodes.
    @Test func shallowNestingDecodes() throws {
        var bytes = holder(around: nil)
        for _ in 0..<10 { bytes = holder(around: bytes) }
        var stream = InputStream(bytes: bytes, encoding: .v1_1, sliceLoader: HolderLoader())
        let value = try #require(try stream.readValue() as? Holder)
        #expect(value.proxy?.endpoints.count == 1 && stream.isAtEnd)
    }
}
