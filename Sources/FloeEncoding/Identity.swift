/// The identity of an Ice object (`::Ice::Identity`): encoded name first, then category.
public struct Identity: Hashable, Sendable, StreamCodable {
    public var name: String
    public var category: String

    public init(name: String = "", category: String = "") {
        self.name = name
        self.category = category
    }

    public init(from stream: inout InputStream) throws {
        name = try stream.read(String.self)
        category = try stream.read(String.self)
    }

    public func encode(to stream: inout OutputStream) {
        stream.write(name)
        stream.write(category)
    }

    public static var minWireSize: Int { 2 }
}

/// `Ice::IdentitySeq`.
public typealias IdentitySeq = [Identity]

// Slice structs with an `Ice::Identity` member (IceGrid's ObjectDescriptor) take the fast
// coding path of structs, which needs it of every member.
extension Identity: RawDecodable, RawEncodable {
    public init(from reader: inout RawReader) throws {
        name = try reader.read(String.self)
        category = try reader.read(String.self)
    }

    public var rawEncodedSize: Int { name.rawEncodedSize + category.rawEncodedSize }

    public func encode(to writer: inout RawWriter) {
        writer.write(name)
        writer.write(category)
    }
}
