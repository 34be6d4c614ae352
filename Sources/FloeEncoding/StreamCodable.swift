public import NIOCore

/// A type that reads and writes itself in the Ice encoding. Built-in types, sequences
/// (`Array`) and dictionaries conform here; generated structs and enums conform too.
public protocol StreamCodable {
    init(from stream: inout InputStream) throws
    func encode(to stream: inout OutputStream)

    /// The fewest bytes one value takes on the wire; bounds sequence counts before allocating.
    static var minWireSize: Int { get }
    /// The byte length of every value for fixed-size types (numbers, structs of them); nil otherwise.
    static var fixedWireSize: Int? { get }
    /// The framing used when the value is optional (tagged).
    static var optionalFormat: OptionalFormat { get }

    /// Writes what follows the tag header of an optional value.
    func encodeOptionalPayload(to stream: inout OutputStream)
    /// Reads what follows the tag header of an optional value.
    static func decodeOptionalPayload(from stream: inout InputStream) throws -> Self

    /// Writes the elements of a sequence (the count is already written); bulk for bytes.
    static func encodeElements(_ elements: [Self], to stream: inout OutputStream)
    /// Reads `count` elements of a sequence; the count was checked against the bytes left.
    static func decodeElements(count: Int, from stream: inout InputStream) throws -> [Self]
}

extension StreamCodable {
    @inlinable
    public static var fixedWireSize: Int? { nil }
    @inlinable
    public static var optionalFormat: OptionalFormat { fixedWireSize != nil ? .vSize : .fSize }

    @inlinable
    public func encodeOptionalPayload(to stream: inout OutputStream) {
        switch Self.optionalFormat {
        case .vSize:
            if let n = Self.fixedWireSize { stream.writeSize(n) }
            encode(to: &stream)
        case .fSize:
            let at = stream.startSize()
            encode(to: &stream)
            stream.endSize(at: at)
        default:
            encode(to: &stream)
        }
    }

    @inlinable
    public static func decodeOptionalPayload(from stream: inout InputStream) throws -> Self {
        switch optionalFormat {
        case .vSize: if fixedWireSize != nil { try stream.skipSize() }
        case .fSize: try stream.skip(4)
        default: break
        }
        return try Self(from: &stream)
    }

    @inlinable
    public static func encodeElements(_ elements: [Self], to stream: inout OutputStream) {
        for element in elements { element.encode(to: &stream) }
    }

    @inlinable
    public static func decodeElements(count: Int, from stream: inout InputStream) throws -> [Self] {
        var result: [Self] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try Self(from: &stream)) }
        return result
    }
}

// MARK: Built-in types

/// Numbers: fixed-size, little-endian, framed by their size when optional (F1/F2/F4/F8).
public protocol StreamCodableNumber: StreamCodable {
    /// The byte length on the wire: 1, 2, 4 or 8.
    static var wireSize: Int { get }
}

extension StreamCodableNumber {
    @inlinable
    public static var minWireSize: Int { wireSize }
    @inlinable
    public static var fixedWireSize: Int? { wireSize }
    @inlinable
    public static var optionalFormat: OptionalFormat {
        switch wireSize {
        case 1: .f1
        case 2: .f2
        case 4: .f4
        default: .f8
        }
    }
}

extension Bool: StreamCodableNumber {
    @inlinable
    public init(from stream: inout InputStream) throws { self = try stream.read(Bool.self) }
    @inlinable
    public func encode(to stream: inout OutputStream) { stream.write(self) }
    @inlinable
    public static var wireSize: Int { 1 }
}

extension UInt8: StreamCodableNumber {
    @inlinable
    public init(from stream: inout InputStream) throws { self = try stream.read(UInt8.self) }
    @inlinable
    public func encode(to stream: inout OutputStream) { stream.write(self) }
    @inlinable
    public static var wireSize: Int { 1 }

    @inlinable
    public static func encodeElements(_ elements: [UInt8], to stream: inout OutputStream) {
        stream.writeBlob(elements)
    }
    @inlinable
    public static func decodeElements(count: Int, from stream: inout InputStream) throws -> [UInt8] {
        try stream.readBlob(count: count)
    }
}

extension Int16: StreamCodableNumber {
    @inlinable
    public init(from stream: inout InputStream) throws { self = try stream.read(Int16.self) }
    @inlinable
    public func encode(to stream: inout OutputStream) { stream.write(self) }
    @inlinable
    public static var wireSize: Int { 2 }
}

extension Int32: StreamCodableNumber {
    @inlinable
    public init(from stream: inout InputStream) throws { self = try stream.read(Int32.self) }
    @inlinable
    public func encode(to stream: inout OutputStream) { stream.write(self) }
    @inlinable
    public static var wireSize: Int { 4 }
}

extension Int64: StreamCodableNumber {
    @inlinable
    public init(from stream: inout InputStream) throws { self = try stream.read(Int64.self) }
    @inlinable
    public func encode(to stream: inout OutputStream) { stream.write(self) }
    @inlinable
    public static var wireSize: Int { 8 }
}

extension Float: StreamCodableNumber {
    @inlinable
    public init(from stream: inout InputStream) throws { self = try stream.read(Float.self) }
    @inlinable
    public func encode(to stream: inout OutputStream) { stream.write(self) }
    @inlinable
    public static var wireSize: Int { 4 }
}

extension Double: StreamCodableNumber {
    @inlinable
    public init(from stream: inout InputStream) throws { self = try stream.read(Double.self) }
    @inlinable
    public func encode(to stream: inout OutputStream) { stream.write(self) }
    @inlinable
    public static var wireSize: Int { 8 }
}

extension String: StreamCodable {
    @inlinable
    public init(from stream: inout InputStream) throws { self = try stream.read(String.self) }
    @inlinable
    public func encode(to stream: inout OutputStream) { stream.write(self) }
    @inlinable
    public static var minWireSize: Int { 1 }
    /// A string's own size prefix doubles as the VSize length.
    @inlinable
    public static var optionalFormat: OptionalFormat { .vSize }
}

// MARK: Sequences and dictionaries

extension Array: StreamCodable where Element: StreamCodable {
    @inlinable
    public init(from stream: inout InputStream) throws {
        let count = try stream.readCount(minElementSize: Element.minWireSize)
        self = try Element.decodeElements(count: count, from: &stream)
    }

    @inlinable
    public func encode(to stream: inout OutputStream) {
        stream.writeSize(count)
        // One allocation for the elements' least size instead of repeated doubling.
        stream.buffer.reserveCapacity(stream.buffer.writerIndex + count * Element.minWireSize)
        Element.encodeElements(self, to: &stream)
    }

    @inlinable
    public static var minWireSize: Int { 1 }
    @inlinable
    public static var optionalFormat: OptionalFormat { Element.fixedWireSize != nil ? .vSize : .fSize }

    @inlinable
    public func encodeOptionalPayload(to stream: inout OutputStream) {
        if let size = Element.fixedWireSize {
            // Byte and bool sequences are their own length; others announce count × size + count's size.
            if size > 1 { stream.writeSize(count * size + (count < 255 ? 1 : 5)) }
            encode(to: &stream)
        } else {
            let at = stream.startSize()
            encode(to: &stream)
            stream.endSize(at: at)
        }
    }

    @inlinable
    public static func decodeOptionalPayload(from stream: inout InputStream) throws -> Self {
        if let size = Element.fixedWireSize {
            if size > 1 { try stream.skipSize() }
        } else {
            try stream.skip(4)
        }
        return try Self(from: &stream)
    }
}

extension Dictionary: StreamCodable where Key: StreamCodable, Value: StreamCodable {
    @inlinable
    public init(from stream: inout InputStream) throws {
        let count = try stream.readCount(minElementSize: Key.minWireSize + Value.minWireSize)
        self.init(minimumCapacity: count)
        for _ in 0..<count {
            let key = try Key(from: &stream)
            self[key] = try Value(from: &stream)
        }
    }

    @inlinable
    public func encode(to stream: inout OutputStream) {
        stream.writeSize(count)
        for (key, value) in self {
            key.encode(to: &stream)
            value.encode(to: &stream)
        }
    }

    @inlinable
    public static var minWireSize: Int { 1 }
    @inlinable
    public static var optionalFormat: OptionalFormat {
        Key.fixedWireSize != nil && Value.fixedWireSize != nil ? .vSize : .fSize
    }

    @inlinable
    public func encodeOptionalPayload(to stream: inout OutputStream) {
        if let k = Key.fixedWireSize, let v = Value.fixedWireSize {
            stream.writeSize(count * (k + v) + (count < 255 ? 1 : 5))
            encode(to: &stream)
        } else {
            let at = stream.startSize()
            encode(to: &stream)
            stream.endSize(at: at)
        }
    }

    @inlinable
    public static func decodeOptionalPayload(from stream: inout InputStream) throws -> Self {
        if Key.fixedWireSize != nil && Value.fixedWireSize != nil {
            try stream.skipSize()
        } else {
            try stream.skip(4)
        }
        return try Self(from: &stream)
    }
}

// MARK: Nullable references (class instances, proxies)

/// A reference type on the wire that may be null: class instances and proxies.
/// `Optional` of such a type is ``StreamCodable``, so `[Node?]` and `[String: Object*]` just work.
public protocol NullableStreamCodable {
    static func readNullable(from stream: inout InputStream) throws -> Self?
    static func writeNullable(_ value: Self?, to stream: inout OutputStream)
    static var nullableMinWireSize: Int { get }
    static var nullableOptionalFormat: OptionalFormat { get }
}

extension Optional: StreamCodable where Wrapped: NullableStreamCodable {
    @inlinable
    public init(from stream: inout InputStream) throws { self = try Wrapped.readNullable(from: &stream) }
    @inlinable
    public func encode(to stream: inout OutputStream) { Wrapped.writeNullable(self, to: &stream) }
    @inlinable
    public static var minWireSize: Int { Wrapped.nullableMinWireSize }
    @inlinable
    public static var optionalFormat: OptionalFormat { Wrapped.nullableOptionalFormat }
}

extension Value: NullableStreamCodable {
    @inlinable
    public static func readNullable(from stream: inout InputStream) throws -> Self? { try stream.read(self) }
    @inlinable
    public static func writeNullable(_ value: Value?, to stream: inout OutputStream) { stream.write(value) }
    @inlinable
    public static var nullableMinWireSize: Int { 1 }
    @inlinable
    public static var nullableOptionalFormat: OptionalFormat { .class }
}
