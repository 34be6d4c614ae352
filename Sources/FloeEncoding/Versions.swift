/// The version of the Ice encoding used inside an encapsulation (`-e 1.1` in proxy strings).
public struct EncodingVersion: Hashable, Sendable, CustomStringConvertible {
    public var major: UInt8
    public var minor: UInt8

    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    /// The legacy encoding: no optionals, enums sized by their largest value, classes appended.
    public static let v1_0 = EncodingVersion(major: 1, minor: 0)
    /// The encoding every current ZeroC peer uses by default.
    public static let v1_1 = EncodingVersion(major: 1, minor: 1)

    /// Whether this runtime can read and write data in this encoding.
    public var isSupported: Bool { major == 1 && minor <= 1 }

    public var description: String { "\(major).\(minor)" }
}

/// The version of the Ice protocol (`-p 1.0`); only 1.0 exists on the wire.
public struct ProtocolVersion: Hashable, Sendable, CustomStringConvertible {
    public var major: UInt8
    public var minor: UInt8

    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    public static let v1_0 = ProtocolVersion(major: 1, minor: 0)

    public var description: String { "\(major).\(minor)" }
}

/// `Ice::EncodingVersion` and `Ice::ProtocolVersion` as Slice data (in a struct or a
/// parameter): structs of two bytes, major first, zero by default, as any generated struct.
public protocol SliceVersion: StreamCodable, RawDecodable, RawEncodable {
    var major: UInt8 { get }
    var minor: UInt8 { get }
    init(major: UInt8, minor: UInt8)
}

extension SliceVersion {
    public init() { self.init(major: 0, minor: 0) }
    public init(from stream: inout InputStream) throws {
        self.init(major: try stream.read(UInt8.self), minor: try stream.read(UInt8.self))
    }
    public func encode(to stream: inout OutputStream) {
        stream.write(major)
        stream.write(minor)
    }
    public static var minWireSize: Int { 2 }
    public init(from reader: inout RawReader) throws {
        self.init(major: try reader.read(UInt8.self), minor: try reader.read(UInt8.self))
    }
    public var rawEncodedSize: Int { 2 }
    public func encode(to writer: inout RawWriter) {
        writer.write(major)
        writer.write(minor)
    }
}

extension EncodingVersion: SliceVersion {}
extension ProtocolVersion: SliceVersion {}
