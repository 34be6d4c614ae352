import FloeBZip2
import FloeCore
import FloeProtocol
import FloeZlib
import NIOCore

/// The codecs a compressed message (compression status 2) may use, told apart by the first
/// byte of the stream: bzip2 streams start with "BZh"; a zlib stream's first byte is deflate's
/// method (8) in the low nibble and its window size (≤ 7) in the high one (0x78 for 32 KiB).
enum MessageCodec: Sendable {
    case bzip2
    case zlib

    init?(firstByte: UInt8) {
        if firstByte == UInt8(ascii: "B") {
            self = .bzip2
        } else if firstByte & 0x0F == 8, firstByte >> 4 <= 7 {
            self = .zlib
        } else {
            return nil
        }
    }

    var codec: any CompressionCodec {
        switch self {
        case .bzip2: BZip2Codec()
        case .zlib: ZlibCodec()
        }
    }
}

/// How a reply is compressed: in `codec`, and even below 100 bytes when it must show a Floe
/// client that announced zlib that this server reads it.
struct ReplyCompression {
    var codec: MessageCodec
    var evenIfSmall = false
}

/// Ice's message compression. A compressed message is the 14-byte header (its size the size on
/// the wire), the uncompressed message's size (4 bytes, header included), then the body
/// compressed as one stream. Only messages of 100 bytes or more are compressed; a smaller one
/// that could have been goes out with status 1, "a compressed reply is welcome", as ZeroC does.
///
/// Which codec (Docs/architecture.md §4.4): a Floe peer reads both, a ZeroC 3.7 peer only
/// bzip2. With `Floe.Compression.Codec=auto`, a connection's compressed requests use bzip2 and
/// carry the context entry `floe-compress=zlib` until the peer shows it reads zlib — a Floe
/// server answers such a request in zlib, however small the reply, and strips the entry — or
/// shows it does not, by answering in bzip2 (a ZeroC server ignores the entry). From then on the
/// connection uses what it learned. (A ZeroC server whose replies are all small never shows it:
/// requests to it keep the entry, 22 bytes each.)
extension IceConnectionHandler {
    static let thresholdSize = 100
    /// The request-context entry announcing that the sender reads zlib.
    static let announcementKey = "floe-compress"
    static let announcementValue = "zlib"

    /// The codec for this connection's compressed requests, and whether they announce zlib.
    var requestCompression: (codec: MessageCodec, announce: Bool) {
        switch options.compressionCodec {
        case .bzip2: (.bzip2, false)
        case .zlib: (.zlib, false)
        case .auto: (peerReadsZlib == true ? .zlib : .bzip2, peerReadsZlib == nil)
        }
    }

    /// The frame with its body inflated, and the codec it came in. The announced size is
    /// checked against `Ice.MessageSizeMax` before anything is inflated, and the stream may not
    /// inflate past it.
    static func inflate(_ frame: Frame, maxMessageSize: Int) throws -> (Frame, MessageCodec) {
        var body = frame.body
        guard let size = body.readInteger(endianness: .little, as: Int32.self) else {
            throw CompressionError("a compressed message without its uncompressed size")
        }
        guard size > 14 else { throw CompressionError("uncompressed size \(size) is below the 14-byte header") }
        guard maxMessageSize <= 0 || Int(size) <= maxMessageSize else {
            throw CompressionError(
                "uncompressed size \(size) exceeds the limit of \(maxMessageSize) (Ice.MessageSizeMax)")
        }
        guard let first = body.getInteger(at: body.readerIndex, as: UInt8.self) else {
            throw CompressionError("a compressed message without its compressed body")
        }
        guard let codec = MessageCodec(firstByte: first) else {
            throw CompressionError("a compressed body in an unknown format (first byte \(first))")
        }
        var header = frame.header
        header.compression = .compressionSupported
        return (Frame(header: header, body: try codec.codec.decompress(body, size: Int(size) - 14)), codec)
    }

    /// The codec to answer a request with, nil for uncompressed; removes the announcement from
    /// its context (servants see the context the caller set).
    func replyCodec(for request: inout Request, status: CompressionStatus, receivedIn codec: MessageCodec?)
        -> ReplyCompression?
    {
        guard status != .notCompressed else { return nil }
        var announced = false
        if !request.header.context.isEmpty, let value = request.header.context.removeValue(forKey: Self.announcementKey)
        {
            announced = value == Self.announcementValue
        }
        if announced || codec == .zlib { peerReadsZlib = true }
        if announced && options.compressionCodec != .bzip2 { return ReplyCompression(codec: .zlib, evenIfSmall: true) }
        // A request in zlib, or on a connection whose peer announced zlib before, is answered
        // in zlib; anything else in bzip2, the codec every peer reads.
        let zlib = codec == .zlib || (peerReadsZlib == true && options.compressionCodec != .bzip2)
        return ReplyCompression(codec: zlib ? .zlib : .bzip2)
    }

    /// A reply to a request that announced zlib tells whether the peer reads it.
    func learnCodec(fromReplyIn codec: MessageCodec?) {
        guard let codec, peerReadsZlib == nil else { return }
        peerReadsZlib = codec == .zlib
    }

    /// The buffers to write for a message given as its prefix and optional body: compressed
    /// with `codec` if it has 100 bytes or more, else as they are with status 1.
    func compressed(prefix: ByteBuffer, body: ByteBuffer?, codec: MessageCodec, evenIfSmall: Bool = false) throws
        -> (ByteBuffer, ByteBuffer?)
    {
        let size = prefix.readableBytes + (body?.readableBytes ?? 0)
        guard size >= Self.thresholdSize || evenIfSmall else {
            var prefix = prefix
            prefix.setInteger(CompressionStatus.compressionSupported.rawValue, at: prefix.readerIndex + 9)
            return (prefix, body)
        }
        var uncompressed: ByteBuffer
        if var body {
            uncompressed = ByteBufferAllocator().buffer(capacity: size - 14)
            uncompressed.writeBytes(prefix.readableBytesView.dropFirst(14))
            uncompressed.writeBuffer(&body)
        } else {
            uncompressed = prefix.getSlice(at: prefix.readerIndex + 14, length: size - 14) ?? ByteBuffer()
        }
        let compressed = try codec.codec.compress(uncompressed, level: options.compressionLevel)
        var header = ByteBufferAllocator().buffer(capacity: 18)
        header.writeBytes(prefix.readableBytesView.prefix(14))
        header.setInteger(CompressionStatus.compressed.rawValue, at: 9)
        header.setInteger(Int32(truncatingIfNeeded: 18 + compressed.readableBytes), at: 10, endianness: .little)
        header.writeInteger(Int32(truncatingIfNeeded: size), endianness: .little)
        return (header, compressed)
    }
}
