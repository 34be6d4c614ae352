public import NIOCore

/// Reads Ice-encoded values straight from a buffer's bytes. Decoding a sequence through one
/// `RawReader` touches the `ByteBuffer` once instead of once per value: each `ByteBuffer`
/// access pays a dynamic exclusivity check on its storage, which dominated the profile of
/// decoding sequences of small structs. A reader exists only inside
/// `InputStream.withRawReader`, which keeps the bytes alive while it runs.
public struct RawReader {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    /// Bytes consumed so far.
    @usableFromInline var offset = 0

    @inlinable
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    @inlinable @inline(__always)
    mutating func take<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count - offset >= size else { throw Self.truncated(size, bytes.count - offset) }
        defer { offset += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    @usableFromInline
    static func truncated(_ needed: Int, _ left: Int) -> MarshalError {
        MarshalError(.truncated, "expected \(needed) bytes, \(left) left")
    }

    @inlinable @inline(__always) public mutating func read(_: Bool.Type) throws -> Bool { try take(UInt8.self) != 0 }
    @inlinable @inline(__always) public mutating func read(_: UInt8.Type) throws -> UInt8 { try take(UInt8.self) }
    @inlinable @inline(__always) public mutating func read(_: Int16.Type) throws -> Int16 { try take(Int16.self) }
    @inlinable @inline(__always) public mutating func read(_: Int32.Type) throws -> Int32 { try take(Int32.self) }
    @inlinable @inline(__always) public mutating func read(_: Int64.Type) throws -> Int64 { try take(Int64.self) }
    @inlinable @inline(__always) public mutating func read(_: Float.Type) throws -> Float {
        Float(bitPattern: try take(UInt32.self))
    }
    @inlinable @inline(__always) public mutating func read(_: Double.Type) throws -> Double {
        Double(bitPattern: try take(UInt64.self))
    }

    /// The next byte, not consumed; nil at the end.
    @inlinable @inline(__always)
    public func peekByte() -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

    /// A *size*, as `InputStream.readSize()`.
    @inlinable @inline(__always)
    public mutating func readSize() throws -> Int {
        let first = try take(UInt8.self)
        if first < 255 { return Int(first) }
        let v = try take(Int32.self)
        guard v >= 0 else { throw MarshalError(.invalidSize, "negative size \(v)") }
        return Int(v)
    }

    /// A UTF-8 string, rejecting invalid UTF-8 as `InputStream` does.
    @inlinable @inline(__always)
    public mutating func read(_: String.Type) throws -> String {
        let n = try readSize()
        guard bytes.count - offset >= n else { throw Self.truncated(n, bytes.count - offset) }
        if n == 0 { return "" }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
        offset += n
        guard let decoded = Self.validUTF8(slice) else {
            throw MarshalError(.invalidUTF8, "string is not valid UTF-8")
        }
        return decoded
    }

    /// The string these bytes encode, or nil when they are not valid UTF-8. ASCII, the common
    /// case, decodes as is; anything else must survive decoding unchanged (decoding replaces
    /// invalid UTF-8 with U+FFFD, which the comparison catches). `String(validating:)` is
    /// generic and was the largest cost in the profile of decoding strings.
    @inlinable @inline(__always)
    static func validUTF8(_ bytes: UnsafeRawBufferPointer) -> String? {
        let decoded = String(decoding: bytes, as: UTF8.self)
        if isASCII(bytes) || decoded.utf8.elementsEqual(bytes) { return decoded }
        return nil
    }

    /// Whether every byte is below 0x80, eight bytes at a time (a byte-by-byte check was a
    /// tenth of decoding a sequence of short strings).
    @inlinable @inline(__always)
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var high: UInt64 = 0
        var index = 0
        while index + 8 <= bytes.count {
            high |= bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < bytes.count {
            high |= UInt64(bytes[index])
            index += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }
}

/// A value that can also be decoded from a `RawReader`: numbers, strings, and generated structs
/// made only of those. Sequences of them decode through one reader.
public protocol RawDecodable: StreamCodable {
    init(from reader: inout RawReader) throws
}

extension RawDecodable {
    @inlinable
    public static func decodeElements(count: Int, from stream: inout InputStream) throws -> [Self] {
        try stream.withRawReader { reader in
            var result: [Self] = []
            result.reserveCapacity(count)
            for _ in 0..<count { result.append(try Self(from: &reader)) }
            return result
        }
    }
}

extension InputStream {
    /// Runs `body` over the unread bytes (of the innermost encapsulation), then consumes what
    /// it read.
    @inlinable
    public mutating func withRawReader<R>(_ body: (inout RawReader) throws -> R) throws -> R {
        var consumed = 0
        let result = try buffer.withUnsafeReadableBytes { raw in
            var reader = RawReader(raw)
            let result = try body(&reader)
            consumed = reader.offset
            return result
        }
        buffer.moveReaderIndex(forwardBy: consumed)
        return result
    }
}

extension Bool: RawDecodable {
    @inlinable @inline(__always) public init(from reader: inout RawReader) throws { self = try reader.read(Bool.self) }
}
extension UInt8: RawDecodable {
    @inlinable @inline(__always) public init(from reader: inout RawReader) throws { self = try reader.read(UInt8.self) }
}
extension Int16: RawDecodable {
    @inlinable @inline(__always) public init(from reader: inout RawReader) throws { self = try reader.read(Int16.self) }
}
extension Int32: RawDecodable {
    @inlinable @inline(__always) public init(from reader: inout RawReader) throws { self = try reader.read(Int32.self) }
}
extension Int64: RawDecodable {
    @inlinable @inline(__always) public init(from reader: inout RawReader) throws { self = try reader.read(Int64.self) }
}
extension Float: RawDecodable {
    @inlinable @inline(__always) public init(from reader: inout RawReader) throws { self = try reader.read(Float.self) }
}
extension Double: RawDecodable {
    @inlinable @inline(__always) public init(from reader: inout RawReader) throws {
        self = try reader.read(Double.self)
    }
}
extension String: RawDecodable {
    @inlinable @inline(__always) public init(from reader: inout RawReader) throws {
        self = try reader.read(String.self)
    }
}
