import NIOCore
import NIOFoundationEssentialsCompat

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// `sequence<byte>` maps to `Data`, as in ZeroC's Swift mapping. A large received sequence is
/// not copied: the `Data` shares the message's storage (NIO's `.automatic` transfer, which
/// copies up to 256 KiB, where sharing would cost more than the copy and would keep a whole
/// receive buffer alive for a few bytes).
extension Data: StreamCodable {
    @inlinable
    public init(from stream: inout InputStream) throws {
        let count = try stream.readCount(minElementSize: 1)
        self = try stream.readData(count: count)
    }

    @inlinable
    public func encode(to stream: inout OutputStream) {
        stream.writeSize(count)
        stream.writeBlob(self)
    }

    @inlinable
    public static var minWireSize: Int { 1 }
    /// Like every sequence of one-byte elements, a byte sequence is its own length when optional
    /// (with no fixed size, the default payload coding adds nothing around the value).
    @inlinable
    public static var optionalFormat: OptionalFormat { .vSize }
}

extension InputStream {
    /// Reads `count` raw bytes as `Data`, sharing the message's storage when that is large.
    public mutating func readData(count: Int) throws -> Data {
        guard count >= 0, let data = buffer.readData(length: count) else {
            throw MarshalError(.truncated, "expected \(count) bytes, \(buffer.readableBytes) left")
        }
        return data
    }
}
