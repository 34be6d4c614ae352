import FloeEncoding

// Small hand-written types in the shape of generated code, for round-trip and bad-input tests.

/// A node in an arbitrary graph: several references so graphs can share nodes and cycle.
final class GraphNode: Value {
    var label: Int32 = 0
    var links: [GraphNode?] = []
    var note: String?

    override class func ice_staticId() -> String { "::Test::GraphNode" }

    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: GraphNode.ice_staticId(), last: true)
        stream.write(label)
        links.encode(to: &stream)
        stream.write(tag: 3, note)
        stream.endSlice()
    }

    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        label = try stream.read(Int32.self)
        links = try [GraphNode?](from: &stream)
        note = try stream.read(tag: 3, String.self)
        try stream.endSlice()
    }

    // As generated classes do: what `ReceivedGraph` follows.
    override func _iceVisitReferences(_ visitor: inout ReferenceVisitor) {
        links._iceVisitReferences(&visitor)
        super._iceVisitReferences(&visitor)
    }
}

/// A two-level hierarchy whose derived type the reader may not know.
class Animal: Value {
    var name = ""
    override class func ice_staticId() -> String { "::Test::Animal" }
    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: Animal.ice_staticId(), last: true)
        stream.write(name)
        stream.endSlice()
    }
    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        name = try stream.read(String.self)
        try stream.endSlice()
    }
}

final class Dog: Animal {
    var friend: Animal?
    var tricks: Int32?
    override class func ice_staticId() -> String { "::Test::Dog" }
    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: Dog.ice_staticId(), last: false)
        stream.write(friend)
        stream.write(tag: 1, tricks)
        stream.endSlice()
        super._iceWriteImpl(to: &stream)
    }
    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        friend = try stream.read(Animal.self)
        tricks = try stream.read(tag: 1, Int32.self)
        try stream.endSlice()
        try super._iceReadImpl(from: &stream)
    }
}

class Failure: UserException, @unchecked Sendable {
    var reason = ""
    required init() {}
    class func ice_staticId() -> String { "::Test::Failure" }
    func ice_id() -> String { type(of: self).ice_staticId() }
    func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: Failure.ice_staticId(), last: true)
        stream.write(reason)
        stream.endSlice()
    }
    func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        reason = try stream.read(String.self)
        try stream.endSlice()
    }
}

final class DetailedFailure: Failure, @unchecked Sendable {
    var code: Int32 = 0
    var culprit: GraphNode?
    override class func ice_staticId() -> String { "::Test::DetailedFailure" }
    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: DetailedFailure.ice_staticId(), last: false)
        stream.write(code)
        stream.write(culprit)
        stream.endSlice()
        super._iceWriteImpl(to: &stream)
    }
    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        code = try stream.read(Int32.self)
        culprit = try stream.read(GraphNode.self)
        try stream.endSlice()
        try super._iceReadImpl(from: &stream)
    }
}

enum Suit: Int32, StreamCodableEnum, CaseIterable {
    case clubs = 0, diamonds = 7, hearts = 200, spades = 70000
    static var maxRawValue: Int32 { 70000 }
}

let allTypes: SliceRegistry = {
    var registry = SliceRegistry()
    registry.register(GraphNode.self)
    registry.register(Animal.self)
    registry.register(Dog.self)
    registry.register(Failure.self)
    registry.register(DetailedFailure.self)
    return registry
}()

/// Knows the base types only, so derived instances arrive as unknown slices.
let baseTypes: SliceRegistry = {
    var registry = SliceRegistry()
    registry.register(GraphNode.self)
    registry.register(Animal.self)
    registry.register(Failure.self)
    return registry
}()

/// Encodes with `body` inside a 1.1 encapsulation and returns the bytes.
func encapsulate(format: FormatType = .compact, _ body: (inout OutputStream) -> Void) -> [UInt8] {
    var stream = OutputStream()
    stream.startEncapsulation(encoding: .v1_1, format: format)
    body(&stream)
    stream.endEncapsulation()
    return stream.bytes
}

/// Decodes an encapsulation with `body`, requiring that it is consumed exactly.
func decapsulate<T>(
    _ bytes: [UInt8], loader: any SliceLoader = allTypes, depthMax: Int = 100, _ body: (inout InputStream) throws -> T
) throws -> T {
    var stream = InputStream(bytes: bytes, sliceLoader: loader, classGraphDepthMax: depthMax)
    try stream.startEncapsulation()
    let value = try body(&stream)
    try stream.endEncapsulation()
    guard stream.isAtEnd else { throw MarshalError(.encapsulation, "bytes after the encapsulation") }
    return value
}
