import FloeEncoding

// Swift for ../shared/vectors/capture/Vectors.ice and ServerOnly.ice, written by hand in the
// shape the generator will produce, so the vector tests exercise the streams the way
// generated code will.

enum Color: UInt8, StreamCodableEnum, CaseIterable {
    case red = 0, green, blue
    static var maxRawValue: Int32 { 2 }
}

enum Sparse: Int32, StreamCodableEnum, CaseIterable {
    case low = 1, mid = 50, high = 300
    static var maxRawValue: Int32 { 300 }
}

struct Point: Hashable, StreamCodable {
    var x: Int32 = 0
    var y: Int32 = 0

    init(x: Int32, y: Int32) {
        self.x = x
        self.y = y
    }
    init(from stream: inout InputStream) throws {
        x = try stream.read(Int32.self)
        y = try stream.read(Int32.self)
    }
    func encode(to stream: inout OutputStream) {
        stream.write(x)
        stream.write(y)
    }
    static var minWireSize: Int { 8 }
    static var fixedWireSize: Int? { 8 }
}

struct Person: Hashable, StreamCodable {
    var name: String
    var age: Int32
    var color: Color

    init(name: String, age: Int32, color: Color) {
        self.name = name
        self.age = age
        self.color = color
    }
    init(from stream: inout InputStream) throws {
        name = try stream.read(String.self)
        age = try stream.read(Int32.self)
        color = try Color(from: &stream)
    }
    func encode(to stream: inout OutputStream) {
        stream.write(name)
        stream.write(age)
        color.encode(to: &stream)
    }
    static var minWireSize: Int { 6 }
}

final class Node: Value {
    var value: Int32 = 0
    var next: Node?

    override class func ice_staticId() -> String { "::Vectors::Node" }

    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: Node.ice_staticId(), last: true)
        stream.write(value)
        stream.write(next)
        stream.endSlice()
    }

    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        value = try stream.read(Int32.self)
        next = try stream.read(Node.self)
        try stream.endSlice()
    }
}

class Base: Value {
    var b = ""

    override class func ice_staticId() -> String { "::Vectors::Base" }

    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: Base.ice_staticId(), last: true)
        stream.write(b)
        stream.endSlice()
    }

    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        b = try stream.read(String.self)
        try stream.endSlice()
    }
}

class Derived: Base {
    var d: Int32 = 0

    override class func ice_staticId() -> String { "::Vectors::Derived" }

    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: Derived.ice_staticId(), last: false)
        stream.write(d)
        stream.endSlice()
        super._iceWriteImpl(to: &stream)
    }

    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        d = try stream.read(Int32.self)
        try stream.endSlice()
        try super._iceReadImpl(from: &stream)
    }
}

/// Known only to the server in the captures.
final class Hidden: Derived {
    var secret = ""

    override class func ice_staticId() -> String { "::Vectors::Hidden" }

    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: Hidden.ice_staticId(), last: false)
        stream.write(secret)
        stream.endSlice()
        super._iceWriteImpl(to: &stream)
    }

    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        secret = try stream.read(String.self)
        try stream.endSlice()
        try super._iceReadImpl(from: &stream)
    }
}

final class Compact: Value {
    var v: Int32 = 0

    override class func ice_staticId() -> String { "::Vectors::Compact" }

    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: Compact.ice_staticId(), compactId: 7, last: true)
        stream.write(v)
        stream.endSlice()
    }

    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        v = try stream.read(Int32.self)
        try stream.endSlice()
    }
}

final class WithOptional: Value {
    var a: Int32 = 0
    var s: String?
    var i: Int32?

    override class func ice_staticId() -> String { "::Vectors::WithOptional" }

    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: WithOptional.ice_staticId(), last: true)
        stream.write(a)
        stream.write(tag: 1, s)
        stream.write(tag: 5, i)
        stream.endSlice()
    }

    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        a = try stream.read(Int32.self)
        s = try stream.read(tag: 1, String.self)
        i = try stream.read(tag: 5, Int32.self)
        try stream.endSlice()
    }
}

class BaseError: UserException, @unchecked Sendable {
    var reason = ""

    required init() {}
    class func ice_staticId() -> String { "::Vectors::BaseError" }
    func ice_id() -> String { type(of: self).ice_staticId() }

    func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: BaseError.ice_staticId(), last: true)
        stream.write(reason)
        stream.endSlice()
    }

    func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        reason = try stream.read(String.self)
        try stream.endSlice()
    }
}

class DerivedError: BaseError, @unchecked Sendable {
    var code: Int32 = 0

    override class func ice_staticId() -> String { "::Vectors::DerivedError" }

    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: DerivedError.ice_staticId(), last: false)
        stream.write(code)
        stream.endSlice()
        super._iceWriteImpl(to: &stream)
    }

    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        code = try stream.read(Int32.self)
        try stream.endSlice()
        try super._iceReadImpl(from: &stream)
    }
}

final class HiddenError: DerivedError, @unchecked Sendable {
    var extra = ""

    override class func ice_staticId() -> String { "::Vectors::HiddenError" }

    override func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: HiddenError.ice_staticId(), last: false)
        stream.write(extra)
        stream.endSlice()
        super._iceWriteImpl(to: &stream)
    }

    override func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        extra = try stream.read(String.self)
        try stream.endSlice()
        try super._iceReadImpl(from: &stream)
    }
}

final class OtherError: UserException, @unchecked Sendable {
    var what = ""

    required init() {}
    class func ice_staticId() -> String { "::Vectors::OtherError" }
    func ice_id() -> String { type(of: self).ice_staticId() }

    func _iceWriteImpl(to stream: inout OutputStream) {
        stream.startSlice(typeId: OtherError.ice_staticId(), last: true)
        stream.write(what)
        stream.endSlice()
    }

    func _iceReadImpl(from stream: inout InputStream) throws {
        try stream.startSlice()
        what = try stream.read(String.self)
        try stream.endSlice()
    }
}

/// What the capture's client knew: Vectors.ice only.
let clientTypes: SliceRegistry = {
    var registry = SliceRegistry()
    for type: Value.Type in [Node.self, Base.self, Derived.self, WithOptional.self] { registry.register(type) }
    registry.register(Compact.self, compactId: 7)
    for type: any UserException.Type in [BaseError.self, DerivedError.self, OtherError.self] {
        registry.register(type)
    }
    return registry
}()

/// What the capture's server knew: Vectors.ice and ServerOnly.ice.
let serverTypes: SliceRegistry = {
    var registry = clientTypes
    registry.register(Hidden.self)
    registry.register(HiddenError.self)
    return registry
}()
