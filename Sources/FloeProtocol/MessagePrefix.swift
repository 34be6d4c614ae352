public import FloeEncoding
public import NIOCore

/// The bytes of a request or reply message that come before its encapsulation, so the
/// encapsulation (parameters or results, possibly megabytes) is written as a buffer of its own
/// — one vectored write, no copy — instead of being copied into the message.
public enum MessagePrefix {
    /// A request up to its parameter encapsulation, whose whole size (size field included) is
    /// `encapsulationSize`. A request id of 0 makes it oneway.
    public static func request(requestId: Int32, header: RequestHeader, encapsulationSize: Int) -> ByteBuffer {
        var stream = OutputStream(encoding: .v1_0)
        MessageHeader(type: .request, compression: .notCompressed, messageSize: 0).write(to: &stream.buffer)
        stream.write(requestId)
        stream.write(header)
        return finish(&stream, following: encapsulationSize)
    }

    /// A reply up to the content of its encapsulation (status ok or user exception): the
    /// reply header, then the encapsulation's size and encoding for `contentSize` bytes.
    public static func reply(
        requestId: Int32, status: ReplyStatus, encoding: EncodingVersion, contentSize: Int
    ) -> ByteBuffer {
        var stream = OutputStream(encoding: .v1_0)
        MessageHeader(type: .reply, compression: .notCompressed, messageSize: 0).write(to: &stream.buffer)
        stream.write(requestId)
        stream.write(status.rawValue)
        stream.write(Int32(truncatingIfNeeded: contentSize + 6))
        stream.write(encoding.major)
        stream.write(encoding.minor)
        return finish(&stream, following: contentSize)
    }

    /// The bytes a reply message has before its encapsulation: the message header, the request
    /// id and the status. A servant's results stream leaves this much room in front of its
    /// encapsulation, so `frameReply` can turn it into the whole message in place.
    public static let replyHeadroom = MessageHeader.size + 4 + 1

    /// Writes a reply's header, request id and status into the room left in front of the
    /// encapsulation `buffer` starts with, and moves the reader back over them: the results
    /// become the whole message with no copy and no other buffer. Returns false, leaving
    /// `buffer` unchanged, when there is no such room or the encapsulation's size field does
    /// not cover exactly the bytes that follow.
    public static func frameReply(_ buffer: inout ByteBuffer, requestId: Int32, status: ReplyStatus) -> Bool {
        let size = buffer.readableBytes
        guard buffer.readerIndex >= replyHeadroom, size >= 6,
            buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: Int32.self)
                == Int32(truncatingIfNeeded: size)
        else { return false }
        // Header, request id and status in one store (see `MessageHeader.store(into:)`).
        var prefix = (UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &prefix) { bytes in
            MessageHeader(type: .reply, messageSize: replyHeadroom + size).store(into: bytes)
            bytes.storeBytes(of: requestId.littleEndian, toByteOffset: MessageHeader.size, as: Int32.self)
            bytes.storeBytes(of: status.rawValue, toByteOffset: MessageHeader.size + 4, as: UInt8.self)
        }
        let start = buffer.readerIndex - replyHeadroom
        withUnsafeBytes(of: &prefix) {
            _ = buffer.setBytes(UnsafeRawBufferPointer(rebasing: $0[..<replyHeadroom]), at: start)
        }
        buffer.moveReaderIndex(to: start)
        return true
    }

    private static func finish(_ stream: inout OutputStream, following size: Int) -> ByteBuffer {
        // The size covers the encapsulation that follows in a buffer of its own. It is patched
        // in the stream's own buffer: patching a copy taken out of the stream first would find
        // the storage shared and copy it (two allocations and a copy per message).
        let total = stream.buffer.readableBytes + size
        stream.buffer.setInteger(
            Int32(truncatingIfNeeded: total), at: stream.buffer.readerIndex + 10, endianness: .little)
        return stream.buffer
    }
}
