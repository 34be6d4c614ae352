import NIOCore

/// A WebSocket frame's header (RFC 6455 §5.2), and the masking of payloads (§5.3).
struct WebSocketFrameHeader {
    static let continuation: UInt8 = 0x0
    static let text: UInt8 = 0x1
    static let binary: UInt8 = 0x2
    static let close: UInt8 = 0x8
    static let ping: UInt8 = 0x9
    static let pong: UInt8 = 0xA

    var fin: Bool
    var opcode: UInt8
    /// The payload's length.
    var length: Int
    /// The masking key's four bytes, the first in the most significant byte.
    var maskKey: UInt32?
    /// How much of the payload has been read (and unmasked) so far.
    var read = 0

    /// The header at the front of `bytes` and its size, without consuming it; nil when it is
    /// not all in yet. Throws for what no frame this side accepts may have: reserved bits (no
    /// extension is negotiated), a payload longer than `maxLength`, a control frame that is
    /// fragmented or longer than 125 bytes.
    static func peek(_ bytes: ByteBuffer, maxLength: Int) throws(WebSocketViolation) -> (Self, Int)? {
        let start = bytes.readerIndex
        guard let first = bytes.getInteger(at: start, as: UInt8.self),
            let second = bytes.getInteger(at: start + 1, as: UInt8.self)
        else { return nil }
        guard first & 0x70 == 0 else { throw WebSocketViolation("a frame with reserved bits set") }
        let fin = first & 0x80 != 0
        let opcode = first & 0x0F
        let masked = second & 0x80 != 0
        var size = 2
        var length = Int(second & 0x7F)
        if opcode & 0x8 != 0 {
            // Control frames: whole, and short enough to read at once (§5.5).
            guard fin else { throw WebSocketViolation("a fragmented control frame") }
            guard length <= 125 else { throw WebSocketViolation("a control frame longer than 125 bytes") }
        } else if length == 126 {
            guard let extended = bytes.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            length = Int(extended)
            size = 4
        } else if length == 127 {
            guard let extended = bytes.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            guard extended >> 63 == 0 else { throw WebSocketViolation("a frame length with its top bit set") }
            guard extended <= UInt64(maxLength) else { throw tooLong }
            length = Int(extended)
            size = 10
        }
        guard length <= maxLength else { throw tooLong }
        var maskKey: UInt32?
        if masked {
            guard let key = bytes.getInteger(at: start + size, as: UInt32.self) else { return nil }
            maskKey = key
            size += 4
        }
        return (Self(fin: fin, opcode: opcode, length: length, maskKey: maskKey), size)
    }

    private static var tooLong: WebSocketViolation {
        WebSocketViolation("a frame longer than Ice.MessageSizeMax", isTooLong: true)
    }

    /// The next bytes of this frame's payload, unmasked into a buffer of their own (unmasking
    /// in place would copy them first: the read buffer they come from is shared).
    func unmasked(_ chunk: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard maskKey != nil else { return chunk }
        var result = allocator.buffer(capacity: chunk.readableBytes)
        unmask(chunk, appendingTo: &result)
        return result
    }

    /// Appends the next bytes of this frame's payload to `target`, unmasked.
    func unmask(_ chunk: ByteBuffer, appendingTo target: inout ByteBuffer) {
        guard let maskKey else {
            var chunk = chunk
            target.writeBuffer(&chunk)
            return
        }
        target.writeWithUnsafeMutableBytes(minimumWritableBytes: chunk.readableBytes) { target in
            chunk.withUnsafeReadableBytes { source in
                Self.mask(source, into: target, with: maskKey, from: read)
            }
            return chunk.readableBytes
        }
    }

    /// Writes `source` XORed with the key into `target` (which may be `source` itself), as the
    /// payload bytes from `offset` on: eight bytes at a time.
    static func mask(
        _ source: UnsafeRawBufferPointer, into target: UnsafeMutableRawBufferPointer, with key: UInt32, from offset: Int
    ) {
        func keyByte(_ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: key >> (24 - 8 * ((offset + index) % 4))) }
        var pattern: UInt64 = 0
        withUnsafeMutableBytes(of: &pattern) { word in
            for index in 0..<8 { word[index] = keyByte(index) }
        }
        let count = source.count
        var index = 0
        while index + 8 <= count {
            let word = source.loadUnaligned(fromByteOffset: index, as: UInt64.self) ^ pattern
            target.storeBytes(of: word, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < count {
            target[index] = source[index] ^ keyByte(index)
            index += 1
        }
    }

    /// The bytes of a frame with FIN set: the header, and the payload copied behind it when
    /// masked (a client's) or small; for a server, a big payload follows as it is.
    static func encode(_ opcode: UInt8, _ payload: ByteBuffer, masked: Bool, allocator: ByteBufferAllocator)
        -> (header: ByteBuffer, payload: ByteBuffer?)
    {
        let count = payload.readableBytes
        let copied = masked || count <= 1024
        var header = allocator.buffer(capacity: 14 + (copied ? count : 0))
        header.writeInteger(0x80 | opcode)
        let maskBit: UInt8 = masked ? 0x80 : 0
        if count < 126 {
            header.writeInteger(maskBit | UInt8(count))
        } else if count <= Int(UInt16.max) {
            header.writeInteger(maskBit | 126)
            header.writeInteger(UInt16(count))
        } else {
            header.writeInteger(maskBit | 127)
            header.writeInteger(UInt64(count))
        }
        guard copied else { return (header, payload) }
        guard masked else {
            var payload = payload
            header.writeBuffer(&payload)
            return (header, nil)
        }
        let key = UInt32.random(in: .min ... .max)
        header.writeInteger(key)
        header.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { target in
            payload.withUnsafeReadableBytes { source in mask(source, into: target, with: key, from: 0) }
            return count
        }
        return (header, nil)
    }
}
