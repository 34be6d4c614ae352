public import NIOCore

/// Writes Ice-encoded values straight into a buffer's bytes: encoding a sequence through one
/// `RawWriter` reserves its exact size once and touches the `ByteBuffer` once, instead of a
/// capacity check and an exclusivity-checked storage access per value. A writer exists only
/// inside `OutputStream.withRawWriter`.
public struct RawWriter {
    @usableFromInline let bytes: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    @usableFromInline var offset = 0

    @inlinable
    init(_ bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    @inlinable @inline(__always)
    mutating func put<T: FixedWidthInteger>(_ value: T) {
        // The caller reserved `rawEncodedSize` bytes; a type that under-reports its size stops
        // here rather than writing past the reservation.
        precondition(bytes.count - offset >= MemoryLayout<T>.size, "RawWriter: rawEncodedSize was too small")
        bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    @inlinable @inline(__always) public mutating func write(_ v: Bool) { put(UInt8(v ? 1 : 0)) }
    @inlinable @inline(__always) public mutating func write(_ v: UInt8) { put(v) }
    @inlinable @inline(__always) public mutating func write(_ v: Int16) { put(v) }
    @inlinable @inline(__always) public mutating func write(_ v: Int32) { put(v) }
    @inlinable @inline(__always) public mutating func write(_ v: Int64) { put(v) }
    @inlinable @inline(__always) public mutating func write(_ v: Float) { put(v.bitPattern) }
    @inlinable @inline(__always) public mutating func write(_ v: Double) { put(v.bitPattern) }

    @inlinable @inline(__always)
    public mutating func writeSize(_ n: Int) {
        if n < 255 {
            put(UInt8(truncatingIfNeeded: n))
        } else {
            put(UInt8(255))
            put(Int32(truncatingIfNeeded: n))
        }
    }

    @inlinable @inline(__always)
    public mutating func write(_ v: String) {
        // Native strings (all of them on Linux) lend their UTF-8 without a copy of the string.
        if let done: Void = v.utf8.withContiguousStorageIfAvailable({ write(utf8: $0) }) { return done }
        var copy = v
        copy.withUTF8 { write(utf8: $0) }
    }

    @inlinable @inline(__always)
    mutating func write(utf8: UnsafeBufferPointer<UInt8>) {
        writeSize(utf8.count)
        precondition(bytes.count - offset >= utf8.count, "RawWriter: rawEncodedSize was too small")
        if utf8.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: bytes[offset..<(offset + utf8.count)])
                .copyMemory(from: UnsafeRawBufferPointer(utf8))
            offset += utf8.count
        }
    }

    /// The bytes `writeSize(n)` takes.
    @inlinable
    public static func sizeOfSize(_ n: Int) -> Int { n < 255 ? 1 : 5 }
}

/// A value that can also be encoded into a `RawWriter` once its exact size is known: numbers,
/// strings, and generated structs made only of those. Sequences of them encode in one pass.
public protocol RawEncodable: StreamCodable {
    /// The exact number of bytes `encode(to:)` writes.
    var rawEncodedSize: Int { get }
    func encode(to writer: inout RawWriter)
}

extension RawEncodable {
    @inlinable
    public static func encodeElements(_ elements: [Self], to stream: inout OutputStream) {
        // Elements are read in place through the buffer: iterating the array would copy each
        // one (a retain and release of every string, a quarter of encoding small structs).
        elements.withUnsafeBufferPointer { elements in
            var size = 0
            for index in elements.indices { size += elements[index].rawEncodedSize }
            stream.withRawWriter(size: size) { writer in
                for index in elements.indices { elements[index].encode(to: &writer) }
            }
        }
    }
}

extension OutputStream {
    /// Reserves `size` bytes and lets `body` write exactly that many.
    @inlinable
    public mutating func withRawWriter(size: Int, _ body: (inout RawWriter) -> Void) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var writer = RawWriter(UnsafeMutableRawBufferPointer(rebasing: raw[..<size]))
            body(&writer)
            precondition(writer.offset == size, "raw encoding wrote \(writer.offset) bytes, not \(size)")
            return size
        }
    }
}

extension Bool: RawEncodable {
    @inlinable public var rawEncodedSize: Int { 1 }
    @inlinable @inline(__always) public func encode(to writer: inout RawWriter) { writer.write(self) }
}
extension Int16: RawEncodable {
    @inlinable public var rawEncodedSize: Int { 2 }
    @inlinable @inline(__always) public func encode(to writer: inout RawWriter) { writer.write(self) }
}
extension Int32: RawEncodable {
    @inlinable public var rawEncodedSize: Int { 4 }
    @inlinable @inline(__always) public func encode(to writer: inout RawWriter) { writer.write(self) }
}
extension Int64: RawEncodable {
    @inlinable public var rawEncodedSize: Int { 8 }
    @inlinable @inline(__always) public func encode(to writer: inout RawWriter) { writer.write(self) }
}
extension Float: RawEncodable {
    @inlinable public var rawEncodedSize: Int { 4 }
    @inlinable @inline(__always) public func encode(to writer: inout RawWriter) { writer.write(self) }
}
extension Double: RawEncodable {
    @inlinable public var rawEncodedSize: Int { 8 }
    @inlinable @inline(__always) public func encode(to writer: inout RawWriter) { writer.write(self) }
}
extension String: RawEncodable {
    @inlinable public var rawEncodedSize: Int {
        let count = utf8.count
        return RawWriter.sizeOfSize(count) + count
    }
    @inlinable @inline(__always) public func encode(to writer: inout RawWriter) { writer.write(self) }
}
extension UInt8: RawEncodable {
    @inlinable public var rawEncodedSize: Int { 1 }
    @inlinable @inline(__always) public func encode(to writer: inout RawWriter) { writer.write(self) }
}
