public import NIOCore

/// Writes values in the Ice encoding into a `ByteBuffer`.
///
/// A stream is a value owned by one task at a time. Outside any encapsulation it writes
/// with `encoding` (1.0 for protocol headers); inside one, with the encapsulation's version.
/// Class instances and their type-id tables are scoped to the innermost encapsulation.
public struct OutputStream {
    /// The bytes written so far (raw access for framing code; prefer the typed writes).
    public var buffer: ByteBuffer
    /// The encoding in force at the current position.
    public internal(set) var encoding: EncodingVersion
    /// The class and exception format used by encapsulations that do not name one.
    public var defaultFormat: FormatType {
        didSet { if encapsulations.isEmpty { currentFormat = defaultFormat } }
    }

    var encapsulations = EncapsulationStack<WriteEncapsulation>()
    /// The class format of the innermost encapsulation (`defaultFormat` outside any).
    var currentFormat: FormatType
    /// Class instances and type ids of the innermost encapsulation (a value, so its updates are
    /// statically checked accesses, not dynamic exclusivity checks on a class's properties).
    var classes = ClassWriter()

    /// The first value this stream could not encode (class instances in encoding 1.0);
    /// callers that send the bytes check it first.
    public internal(set) var failure: MarshalError?

    public init(encoding: EncodingVersion = .v1_1, format: FormatType = .compact, capacity: Int = 256) {
        self.buffer = ByteBufferAllocator().buffer(capacity: capacity)
        self.encoding = encoding
        self.defaultFormat = format
        self.currentFormat = format
    }

    /// Continues writing at the end of `buffer`.
    public init(appendingTo buffer: ByteBuffer, encoding: EncodingVersion = .v1_1, format: FormatType = .compact) {
        self.buffer = buffer
        self.encoding = encoding
        self.defaultFormat = format
        self.currentFormat = format
    }

    /// The bytes written so far.
    public var bytes: [UInt8] { Array(buffer.readableBytesView) }

    /// The number of bytes written so far.
    public var count: Int { buffer.readableBytes }

    /// Hands over the buffer; the stream should not be used afterwards.
    public consuming func finished() -> ByteBuffer { buffer }

    // MARK: Primitives

    @inlinable
    public mutating func write(_ v: Bool) { buffer.writeInteger(v ? 1 : 0 as UInt8) }
    @inlinable
    public mutating func write(_ v: UInt8) { buffer.writeInteger(v) }
    @inlinable
    public mutating func write(_ v: Int16) { buffer.writeInteger(v, endianness: .little) }
    @inlinable
    public mutating func write(_ v: Int32) { buffer.writeInteger(v, endianness: .little) }
    @inlinable
    public mutating func write(_ v: Int64) { buffer.writeInteger(v, endianness: .little) }
    @inlinable
    public mutating func write(_ v: Float) { buffer.writeInteger(v.bitPattern, endianness: .little) }
    @inlinable
    public mutating func write(_ v: Double) { buffer.writeInteger(v.bitPattern, endianness: .little) }

    /// Writes a *size*: one byte below 255, else `ff` and an `int32`.
    @inlinable
    public mutating func writeSize(_ n: Int) {
        precondition(n >= 0 && n <= Int(Int32.max), "size out of range: \(n)")
        if n < 255 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: n))
        } else {
            buffer.writeInteger(UInt8(255))
            buffer.writeInteger(Int32(truncatingIfNeeded: n), endianness: .little)
        }
    }

    /// Writes a string as a byte-count size followed by its UTF-8 bytes.
    @inlinable
    public mutating func write(_ v: String) {
        let utf8 = v.utf8
        writeSize(utf8.count)
        buffer.writeString(v)
    }

    /// Writes raw bytes with no size prefix.
    @inlinable
    public mutating func writeBlob(_ bytes: some Sequence<UInt8>) { buffer.writeBytes(bytes) }

    /// Writes raw bytes with no size prefix.
    public mutating func writeBlob(_ bytes: ByteBuffer) {
        var copy = bytes
        buffer.writeBuffer(&copy)
    }

    /// Writes an enumerator: a size in 1.1; in 1.0 a byte, short or int chosen by the
    /// enum's largest value.
    public mutating func writeEnum(_ value: Int32, maxValue: Int32) {
        if encoding == .v1_0 {
            if maxValue < 127 {
                write(UInt8(truncatingIfNeeded: value))
            } else if maxValue < 32767 {
                write(Int16(truncatingIfNeeded: value))
            } else {
                write(value)
            }
        } else {
            writeSize(Int(value))
        }
    }

    // MARK: Patching

    /// Reserves an `int32` to be filled in by `endSize(at:)` with the byte count written after it.
    public mutating func startSize() -> Int {
        let position = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        return position
    }

    /// Fills the `int32` reserved at `position` with the number of bytes written after it.
    public mutating func endSize(at position: Int) {
        buffer.setInteger(Int32(buffer.writerIndex - position - 4), at: position, endianness: .little)
    }

    mutating func rewrite(_ v: UInt8, at position: Int) { buffer.setInteger(v, at: position) }
    mutating func rewrite(_ v: Int32, at position: Int) {
        buffer.setInteger(v, at: position, endianness: .little)
    }
    var position: Int { buffer.writerIndex }
}

/// How class instances and user exceptions are laid out (`["format:…"]` metadata).
public enum FormatType: Sendable, Hashable {
    /// No slice sizes; the receiver must know the most-derived type. ZeroC's default.
    case compact
    /// Slice sizes and type ids on every slice, so receivers can skip unknown slices.
    case sliced
}
