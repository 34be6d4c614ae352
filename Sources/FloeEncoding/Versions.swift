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
