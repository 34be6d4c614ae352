/// A Slice enum: written as a size in 1.1, and in 1.0 as a byte, short or int chosen by
/// its largest enumerator. Decoding rejects values that are not enumerators.
public protocol StreamCodableEnum: StreamCodable, RawRepresentable where RawValue: FixedWidthInteger {
    /// The largest enumerator value, which decides the 1.0 width.
    static var maxRawValue: Int32 { get }
}

extension StreamCodableEnum {
    public init(from stream: inout InputStream) throws {
        let value = try stream.readEnum(maxValue: Self.maxRawValue)
        guard let raw = RawValue(exactly: value), let enumerator = Self(rawValue: raw) else {
            throw MarshalError(.invalidValue, "\(value) is not an enumerator of \(Self.self)")
        }
        self = enumerator
    }

    public func encode(to stream: inout OutputStream) {
        stream.writeEnum(Int32(truncatingIfNeeded: rawValue), maxValue: Self.maxRawValue)
    }

    public static var minWireSize: Int { 1 }
    public static var optionalFormat: OptionalFormat { .size }
}
