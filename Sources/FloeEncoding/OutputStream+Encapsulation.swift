import NIOCore

/// Per-encapsulation writer state; instance ids and type ids restart in each one.
struct WriteEncapsulation {
    var start: Int
    var outerEncoding: EncodingVersion
    var outerFormat: FormatType
    /// The enclosing scope's class state, restored when this encapsulation ends.
    var outerClasses: ClassWriter
}

extension OutputStream {
    /// Starts an encapsulation: reserves its size and writes its encoding version.
    public mutating func startEncapsulation(encoding: EncodingVersion = .v1_1, format: FormatType? = nil) {
        let start = position
        encapsulations.push(
            WriteEncapsulation(
                start: start, outerEncoding: self.encoding, outerFormat: currentFormat, outerClasses: classes))
        classes = ClassWriter()
        currentFormat = format ?? defaultFormat
        write(Int32(0))
        write(encoding.major)
        write(encoding.minor)
        self.encoding = encoding
    }

    /// Ends the innermost encapsulation, writing its size.
    public mutating func endEncapsulation() {
        guard let encaps = encapsulations.pop() else {
            preconditionFailure("endEncapsulation without startEncapsulation")
        }
        rewrite(Int32(position - encaps.start), at: encaps.start)
        encoding = encaps.outerEncoding
        classes = encaps.outerClasses
        currentFormat = encaps.outerFormat
    }

    /// Writes an encapsulation with no content: `06 00 00 00 01 01` for 1.1.
    public mutating func writeEmptyEncapsulation(encoding: EncodingVersion = .v1_1) {
        // One write rather than three: every `void` reply has one.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 6) { bytes in
            bytes.storeBytes(of: Int32(6).littleEndian, toByteOffset: 0, as: Int32.self)
            bytes.storeBytes(of: encoding.major, toByteOffset: 4, as: UInt8.self)
            bytes.storeBytes(of: encoding.minor, toByteOffset: 5, as: UInt8.self)
            return 6
        }
    }

    /// Writes an encapsulation around already-encoded `content`.
    public mutating func writeEncapsulation(encoding: EncodingVersion, content: some Collection<UInt8>) {
        write(Int32(6 + content.count))
        write(encoding.major)
        write(encoding.minor)
        writeBlob(content)
    }
}
