public import NIOCore

/// Reads values in the Ice encoding from a `ByteBuffer`.
///
/// Every read checks the bytes that remain before it allocates, and fails with a
/// ``MarshalError`` on malformed input; nothing here traps on data from a peer.
/// Inside an encapsulation the buffer's readable region is narrowed to the
/// encapsulation, so a value can never be read out of its enclosing encapsulation.
public struct InputStream {
    /// The unread bytes (raw access for framing code; prefer the typed reads).
    public var buffer: ByteBuffer
    /// The encoding in force at the current position.
    public internal(set) var encoding: EncodingVersion
    /// Creates class instances and user exceptions from their type ids.
    public var sliceLoader: (any SliceLoader)?
    /// How deeply class instances may nest before decoding fails (`Ice.ClassGraphDepthMax`);
    /// chains of references between them may be ten times as long.
    public var classGraphDepthMax: Int
    /// The runtime object the data belongs to (Floe's communicator), so that decoding a proxy
    /// can produce one bound to it. The encoding itself never looks at it.
    public var owner: (any AnyObject & Sendable)?
    /// The loaders generated code registered, read once per stream when `sliceLoader` misses
    /// (one lock per message, not one per class instance); see `GeneratedSliceLoaders`.
    var registeredLoaders: [any SliceLoader]?

    var encapsulations = EncapsulationStack<ReadEncapsulation>()
    /// Class instances being read, one inside the other, across the whole message: the count
    /// is not reset by an encapsulation, because encapsulations nest through classes (a class
    /// holds a proxy, whose endpoint's encapsulation has a trailing class optional, …).
    var classDepth = 0
    /// Encapsulations open at once; see `maxEncapsulationDepth`.
    var encapsulationDepth = 0
    /// Class instances and type ids of the innermost encapsulation (a value: see
    /// `OutputStream.classes`).
    var classes = ClassReader()
    /// The decoded instances that may form cycles, once one was seen (see `ReceivedGraph`).
    package var receivedGraph: ReceivedGraph?

    public init(
        buffer: ByteBuffer, encoding: EncodingVersion = .v1_1, sliceLoader: (any SliceLoader)? = nil,
        classGraphDepthMax: Int = 100
    ) {
        self.buffer = buffer
        self.encoding = encoding
        self.sliceLoader = sliceLoader
        self.classGraphDepthMax = classGraphDepthMax
    }

    public init(
        bytes: some Sequence<UInt8>, encoding: EncodingVersion = .v1_1, sliceLoader: (any SliceLoader)? = nil,
        classGraphDepthMax: Int = 100
    ) {
        self.init(
            buffer: ByteBuffer(bytes: bytes), encoding: encoding, sliceLoader: sliceLoader,
            classGraphDepthMax: classGraphDepthMax)
    }

    /// Bytes left in the innermost encapsulation (or the whole buffer outside one).
    public var remaining: Int { buffer.readableBytes }

    /// Whether every byte of the innermost encapsulation (or buffer) has been read.
    public var isAtEnd: Bool { buffer.readableBytes == 0 }

    var position: Int { buffer.readerIndex }

    // MARK: Primitives

    @inlinable
    mutating func readInteger<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        guard let v = buffer.readInteger(endianness: .little, as: T.self) else {
            throw MarshalError(.truncated, "expected \(MemoryLayout<T>.size) bytes, \(buffer.readableBytes) left")
        }
        return v
    }

    @inlinable
    public mutating func read(_: Bool.Type = Bool.self) throws -> Bool { try readInteger(UInt8.self) != 0 }
    @inlinable
    public mutating func read(_: UInt8.Type = UInt8.self) throws -> UInt8 { try readInteger() }
    @inlinable
    public mutating func read(_: Int16.Type = Int16.self) throws -> Int16 { try readInteger() }
    @inlinable
    public mutating func read(_: Int32.Type = Int32.self) throws -> Int32 { try readInteger() }
    @inlinable
    public mutating func read(_: Int64.Type = Int64.self) throws -> Int64 { try readInteger() }
    @inlinable
    public mutating func read(_: Float.Type = Float.self) throws -> Float {
        Float(bitPattern: try readInteger(UInt32.self))
    }
    @inlinable
    public mutating func read(_: Double.Type = Double.self) throws -> Double {
        Double(bitPattern: try readInteger(UInt64.self))
    }

    /// Reads a *size*; rejects a negative five-byte form.
    @inlinable
    public mutating func readSize() throws -> Int {
        let first = try readInteger(UInt8.self)
        if first < 255 { return Int(first) }
        let v = try readInteger(Int32.self)
        guard v >= 0 else { throw MarshalError(.invalidSize, "negative size \(v)") }
        return Int(v)
    }

    /// Reads a sequence count and checks that `count × minElementSize` bytes can follow,
    /// so a bogus count never causes a large allocation.
    @inlinable
    public mutating func readCount(minElementSize: Int) throws -> Int {
        let n = try readSize()
        // Both factors are bounded (n < 2^31, sizes are small), so the product cannot overflow.
        guard n * max(minElementSize, 0) <= buffer.readableBytes else {
            throw MarshalError(
                .invalidSize, "count \(n) needs at least \(n * minElementSize) bytes, \(buffer.readableBytes) left")
        }
        return n
    }

    /// Reads a UTF-8 string, rejecting invalid UTF-8.
    @inlinable
    public mutating func read(_: String.Type = String.self) throws -> String {
        try withRawReader { try $0.read(String.self) }
    }

    /// Reads `count` raw bytes.
    @inlinable
    public mutating func readBlob(count: Int) throws -> [UInt8] {
        guard count >= 0, let bytes = buffer.readBytes(length: count) else {
            throw MarshalError(.truncated, "expected \(count) bytes, \(buffer.readableBytes) left")
        }
        return bytes
    }

    /// Reads `count` raw bytes as a buffer slice, without copying.
    public mutating func readSlice(count: Int) throws -> ByteBuffer {
        guard count >= 0, let slice = buffer.readSlice(length: count) else {
            throw MarshalError(.truncated, "expected \(count) bytes, \(buffer.readableBytes) left")
        }
        return slice
    }

    /// Skips `count` bytes.
    public mutating func skip(_ count: Int) throws {
        guard count >= 0, count <= buffer.readableBytes else {
            throw MarshalError(.truncated, "cannot skip \(count) bytes, \(buffer.readableBytes) left")
        }
        buffer.moveReaderIndex(forwardBy: count)
    }

    /// Skips one *size*.
    public mutating func skipSize() throws { _ = try readSize() }

    /// Reads an enumerator's integer value (a size in 1.1; width by `maxValue` in 1.0).
    /// The caller maps it to a case and rejects values that are not enumerators.
    public mutating func readEnum(maxValue: Int32) throws -> Int32 {
        if encoding == .v1_0 {
            if maxValue < 127 { return Int32(try read(UInt8.self)) }
            if maxValue < 32767 { return Int32(try read(Int16.self)) }
            return try read(Int32.self)
        }
        return Int32(try readSize())
    }

    mutating func seek(to index: Int) { buffer.moveReaderIndex(to: index) }
}
