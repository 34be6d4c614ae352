import FloeEncoding
import FloeProtocol
import NIOCore

// libFuzzer entry point: the first byte picks what the rest is decoded as. Any input must
// end in a value or a typed error; a trap, a hang or a huge allocation is a bug.

final class FuzzNode: Value {
    var next: FuzzNode?
    var items: [FuzzNode?] = []
    var text: String?
    override class func ice_staticId() -> String { "::Fuzz::Node" }
    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: FuzzNode.ice_staticId(), last: true)
        stream.write(next)
        items.encode(to: &stream)
        stream.write(tag: 2, text)
        stream.endSlice()
    }
    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        next = try stream.read(FuzzNode.self)
        items = try [FuzzNode?](from: &stream)
        text = try stream.read(tag: 2, String.self)
        try stream.endSlice()
    }
    // As generated classes do, so that received cycles can be freed.
    override func _iceVisitReferences(_ visitor: inout ReferenceVisitor) {
        next._iceVisitReferences(&visitor)
        items._iceVisitReferences(&visitor)
        super._iceVisitReferences(&visitor)
    }
}

final class FuzzError: UserException, @unchecked Sendable {
    var node: FuzzNode?
    required init() {}
    static func ice_staticId() -> String { "::Fuzz::Error" }
    func ice_id() -> String { Self.ice_staticId() }
    func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: Self.ice_staticId(), last: true)
        stream.write(node)
        stream.endSlice()
    }
    func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        node = try stream.read(FuzzNode.self)
        try stream.endSlice()
    }
}

let loader: SliceRegistry = {
    var registry = SliceRegistry()
    registry.register(FuzzNode.self, compactId: 3)
    registry.register(FuzzError.self)
    return registry
}()

/// Decodes a value and encodes it again; the value is gone when this returns, so the end of
/// the encapsulation frees it even if it has cycles (as a dispatch's end does).
func decodeAndReencodeValue(_ stream: inout InputStream) throws {
    let node = try stream.readValue()
    // Whatever was decoded must encode again without trouble.
    var out = OutputStream(format: .sliced)
    out.write(node)
}

func decode(_ bytes: UnsafeRawBufferPointer) throws {
    guard let selector = bytes.first else { return }
    let data = ByteBuffer(bytes: bytes.dropFirst())
    if selector % 6 == 0 {
        var buffer = data
        let header = try MessageHeader.read(from: &buffer, maxMessageSize: 1 << 20)
        _ = try Message.decode(type: header.type, body: buffer)
        return
    }
    var stream = InputStream(buffer: data, sliceLoader: loader, classGraphDepthMax: 50)
    try stream.startEncapsulation()
    switch selector % 6 {
    case 1: try decodeAndReencodeValue(&stream)
    case 2: _ = try stream.readUserException()
    case 3: _ = try stream.read(ProxyData.self)
    case 4: _ = try [String: [Int32]](from: &stream)
    default:
        _ = try stream.read(tag: 1, [UInt8].self)
        _ = try stream.read(tag: 3, String.self)
        _ = try stream.read(tag: 40, [String].self)
    }
    try stream.endEncapsulation()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? decode(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
