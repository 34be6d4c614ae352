import NIOCore

/// How an optional (tagged) value is framed after its tag, so readers can skip unknown tags.
public enum OptionalFormat: UInt8, Sendable, Hashable {
    case f1 = 0, f2, f4, f8
    /// One *size* (enumerators).
    case size
    /// A *size* byte count, then the bytes (strings, fixed-size structs and sequences).
    case vSize
    /// An `int32` byte count, then the bytes (variable-size values, proxies).
    case fSize
    /// A class instance.
    case `class`
}

extension OutputStream {
    /// Writes the header of the optional value with `tag`, unless the encoding (1.0) has no
    /// optionals; returns whether the value should follow.
    public mutating func writeOptional(tag: Int, format: OptionalFormat) -> Bool {
        guard encoding != .v1_0 else { return false }
        if tag < 30 {
            write(UInt8(truncatingIfNeeded: tag << 3) | format.rawValue)
        } else {
            write(0xf0 | format.rawValue)
            writeSize(tag)
        }
        markOptionalMember()
        return true
    }

    /// Writes `value` with `tag` when it is set; nothing when it is nil.
    public mutating func write<T: StreamCodable>(tag: Int, _ value: T?) {
        guard let value, writeOptional(tag: tag, format: T.optionalFormat) else { return }
        value.encodeOptionalPayload(to: &self)
    }
}

extension InputStream {
    /// Moves to the optional value with `tag` if it is present with `format`, skipping the
    /// unknown ones with lower tags. Returns false when it is absent.
    public mutating func readOptional(tag: Int, format: OptionalFormat) throws -> Bool {
        guard encoding != .v1_0, canReadOptionals else { return false }
        while true {
            if isAtEnd { return false }
            let start = position
            let header = try read(UInt8.self)
            if header == 0xff {
                seek(to: start)
                return false
            }
            guard let found = OptionalFormat(rawValue: header & 0x07) else { return false }
            var foundTag = Int(header >> 3)
            if foundTag == 30 { foundTag = try readSize() }
            if foundTag > tag {
                seek(to: start)
                return false
            }
            if foundTag < tag {
                try skipOptional(format: found)
                continue
            }
            guard found == format else {
                throw MarshalError(.optionalFormat, "optional tag \(tag) has format \(found), expected \(format)")
            }
            return true
        }
    }

    /// Reads the optional value with `tag`, or nil when it is absent.
    public mutating func read<T: StreamCodable>(tag: Int, _: T.Type = T.self) throws -> T? {
        guard try readOptional(tag: tag, format: T.optionalFormat) else { return nil }
        return try T.decodeOptionalPayload(from: &self)
    }

    mutating func skipOptional(format: OptionalFormat) throws {
        switch format {
        case .f1: try skip(1)
        case .f2: try skip(2)
        case .f4: try skip(4)
        case .f8: try skip(8)
        case .size: try skipSize()
        case .vSize: try skip(try readSize())
        case .fSize:
            let n = try read(Int32.self)
            guard n >= 0 else { throw MarshalError(.invalidSize, "negative optional size \(n)") }
            try skip(Int(n))
        case .class: _ = try readValue()
        }
    }

    /// Skips every optional value up to the end of the encapsulation, or up to and
    /// including the `ff` end marker of a slice.
    mutating func skipRemainingOptionals() throws {
        while !isAtEnd {
            let header = try read(UInt8.self)
            if header == 0xff { return }
            guard let format = OptionalFormat(rawValue: header & 0x07) else { return }
            if header >> 3 == 30 { try skipSize() }
            try skipOptional(format: format)
        }
    }
}

extension OutputStream {
    /// Writes an optional class instance with `tag` when it is set (Ice 3.7 only).
    public mutating func write(tag: Int, value: Value?) {
        guard let value, writeOptional(tag: tag, format: .class) else { return }
        write(value)
    }
}

extension InputStream {
    /// Reads the optional class instance with `tag`, or nil when it is absent.
    public mutating func readValue(tag: Int) throws -> Value? {
        guard try readOptional(tag: tag, format: .class) else { return nil }
        return try readValue()
    }
}
