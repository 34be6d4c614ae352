public import NIOCore

/// The kind of an Ice protocol message (byte 8 of the header).
public enum MessageType: UInt8, Sendable, Hashable {
    case request = 0
    case batchRequest = 1
    case reply = 2
    case validateConnection = 3
    case closeConnection = 4
}

/// Byte 9 of the header: whether the body is bzip2-compressed, or a compressed reply is welcome.
public enum CompressionStatus: UInt8, Sendable, Hashable {
    case notCompressed = 0
    case compressionSupported = 1
    case compressed = 2
}

/// A protocol framing error: the connection it came from cannot be trusted any more and is closed.
public struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "protocol error: \"\(message)\"" }
}

/// The 14-byte header that starts every Ice protocol message.
public struct MessageHeader: Hashable, Sendable {
    public static let size = 14
    public static let magic: [UInt8] = [0x49, 0x63, 0x65, 0x50]  // "IceP"

    public var type: MessageType
    public var compression: CompressionStatus
    /// The whole message's length on the wire, header included.
    public var messageSize: Int

    public init(type: MessageType, compression: CompressionStatus = .notCompressed, messageSize: Int) {
        self.type = type
        self.compression = compression
        self.messageSize = messageSize
    }

    /// What a peer that sent `magic` instead of "IceP" probably is, for the error: the two
    /// mistakes seen in practice are a TLS client at a tcp endpoint and an HTTP (ws) client.
    static func guess(_ magic: UInt32) -> String {
        if magic >> 24 == 0x16, magic >> 16 & 0xff == 0x03 {
            return " (a TLS handshake: an ssl client at a tcp endpoint?)"
        }
        if magic == 0x4745_5420 { return " (an HTTP request: a ws client at a tcp endpoint?)" }
        return ""
    }

    /// Reads and checks a header: magic, protocol 1.0, protocol encoding 1.0, a known type,
    /// and a size between 14 and `maxMessageSize` — before any body is waited for or allocated.
    public static func read(from buffer: inout ByteBuffer, maxMessageSize: Int) throws -> MessageHeader {
        guard buffer.readableBytes >= size else {
            throw ProtocolError("header needs \(size) bytes, \(buffer.readableBytes) available")
        }
        // Loaded at once (see `store(into:)`).
        let (magicWord, versions, rawType, rawCompression, rawSize) = buffer.withUnsafeReadableBytes { bytes in
            (
                UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
                UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
                bytes[8], bytes[9],
                Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: 10, as: Int32.self))
            )
        }
        buffer.moveReaderIndex(forwardBy: size)
        guard magicWord == 0x4963_6550 else {
            throw ProtocolError("bad magic 0x\(String(magicWord, radix: 16))\(Self.guess(magicWord))")
        }
        // Protocol 1.0 and protocol encoding 1.0 are the only versions that exist.
        let (protocolMajor, protocolMinor) = (versions >> 24, versions >> 16 & 0xff)
        let (encodingMajor, encodingMinor) = (versions >> 8 & 0xff, versions & 0xff)
        guard protocolMajor == 1, protocolMinor == 0 else {
            throw ProtocolError("unsupported protocol \(protocolMajor).\(protocolMinor)")
        }
        guard encodingMajor == 1, encodingMinor == 0 else {
            throw ProtocolError("unsupported protocol encoding \(encodingMajor).\(encodingMinor)")
        }
        guard let type = MessageType(rawValue: rawType) else { throw ProtocolError("unknown message type \(rawType)") }
        guard let compression = CompressionStatus(rawValue: rawCompression) else {
            throw ProtocolError("unknown compression status \(rawCompression)")
        }
        let messageSize = Int(rawSize)
        guard messageSize >= size else { throw ProtocolError("message size \(messageSize) is below \(size)") }
        guard messageSize <= maxMessageSize else {
            throw ProtocolError("message size \(messageSize) exceeds the limit of \(maxMessageSize)")
        }
        if type == .validateConnection || type == .closeConnection, messageSize != size {
            throw ProtocolError("\(type) message of size \(messageSize)")
        }
        return MessageHeader(type: type, compression: compression, messageSize: messageSize)
    }

    /// Writes the header; `messageSize` may be patched later with ``patchSize(_:in:at:)``.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.size) { bytes in
            store(into: bytes)
            return Self.size
        }
    }

    /// Writes the header over the 14 bytes at `index`, which must exist.
    public func set(in buffer: inout ByteBuffer, at index: Int) {
        var header = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &header) { store(into: $0) }
        withUnsafeBytes(of: &header) {
            _ = buffer.setBytes(UnsafeRawBufferPointer(rebasing: $0[..<Self.size]), at: index)
        }
    }

    /// The header's 14 bytes at the start of `bytes` (which must hold them): magic "IceP",
    /// protocol 1.0, encoding 1.0, type, compression, size. Stored at once rather than as five
    /// integers: each of NIO's integer writes costs a bounds check, an exclusivity check and a
    /// copy call, about 200 instructions (Docs/benchmark.md, "Instructions per request").
    public func store(into bytes: UnsafeMutableRawBufferPointer) {
        bytes.storeBytes(of: UInt32(0x4963_6550).bigEndian, toByteOffset: 0, as: UInt32.self)
        bytes.storeBytes(of: UInt32(0x0100_0100).bigEndian, toByteOffset: 4, as: UInt32.self)
        bytes.storeBytes(of: type.rawValue, toByteOffset: 8, as: UInt8.self)
        bytes.storeBytes(of: compression.rawValue, toByteOffset: 9, as: UInt8.self)
        bytes.storeBytes(of: Int32(truncatingIfNeeded: messageSize).littleEndian, toByteOffset: 10, as: Int32.self)
    }

    /// Sets the size field of the header written at `index` to the bytes written since.
    public static func patchSize(in buffer: inout ByteBuffer, headerAt index: Int) {
        buffer.setInteger(Int32(buffer.writerIndex - index), at: index + 10, endianness: .little)
    }
}
