/// A name as written in the source.
public struct Identifier: Hashable, Sendable, Codable, CustomStringConvertible {
    public var name: String
    public var location: SourceLocation

    public init(_ name: String, at location: SourceLocation) {
        self.name = name
        self.location = location
    }

    public var description: String { name }
}

/// One metadata string: `["swift:module:Kit"]` gives `swift:module:Kit`.
public struct Metadata: Hashable, Sendable, Codable {
    public var value: String
    public var location: SourceLocation

    public init(_ value: String, at location: SourceLocation) {
        self.value = value
        self.location = location
    }

    /// The directive's language prefix (`swift`, `cpp`, …) when it has one of the known ones.
    public var languagePrefix: String? {
        let prefixes = [
            "cpp", "cs", "java", "js", "matlab", "objc", "php", "python", "ruby", "swift", "clr", "freeze", "floe",
        ]
        guard let colon = value.firstIndex(of: ":") else { return nil }
        let prefix = String(value[..<colon])
        return prefixes.contains(prefix) ? prefix : nil
    }
}

/// What every named definition carries besides its own content.
public struct DefinitionInfo: Hashable, Sendable, Codable {
    public var name: Identifier
    public var metadata: [Metadata]
    public var doc: DocComment?
    public var isLocal: Bool
    /// 0 for definitions in a file named on the command line; more for included files.
    public var includeLevel: Int
    /// The absolute Slice name, `::M::Name`; this is also the type id. Set by the parser.
    public var scopedName: String

    public init(
        name: Identifier, metadata: [Metadata] = [], doc: DocComment? = nil, isLocal: Bool = false,
        includeLevel: Int = 0, scopedName: String = ""
    ) {
        self.name = name
        self.metadata = metadata
        self.doc = doc
        self.isLocal = isLocal
        self.includeLevel = includeLevel
        self.scopedName = scopedName
    }

    public func hasMetadata(_ value: String) -> Bool { metadata.contains { $0.value == value } }
}

/// The built-in types of Slice.
public enum BuiltinType: String, Hashable, Sendable, Codable, CaseIterable {
    case bool, byte, short, int, long, float, double, string
    case object = "Object"
    case value = "Value"
    case localObject = "LocalObject"

    /// Integral types: the ones allowed for tags, compact ids and enumerator values.
    public var isIntegral: Bool { [.byte, .short, .int, .long].contains(self) }
}

/// A use of a type: a built-in, or a (possibly scoped) name, optionally as a proxy (`T*`).
public struct TypeRef: Hashable, Sendable, Codable {
    public enum Syntax: Hashable, Sendable, Codable {
        case builtin(BuiltinType)
        case named(String)
    }

    public var syntax: Syntax
    public var isProxy: Bool
    public var location: SourceLocation
    public var metadata: [Metadata]
    /// What the name denotes; set by semantic analysis.
    public var resolved: ResolvedType?

    public init(
        _ syntax: Syntax, isProxy: Bool = false, at location: SourceLocation, metadata: [Metadata] = [],
        resolved: ResolvedType? = nil
    ) {
        self.syntax = syntax
        self.isProxy = isProxy
        self.location = location
        self.metadata = metadata
        self.resolved = resolved
    }

    /// The type as written: `int`, `M::S`, `Object*`.
    public var spelling: String {
        let base: String
        switch syntax {
        case .builtin(let b): base = b.rawValue
        case .named(let n): base = n
        }
        return isProxy ? base + "*" : base
    }
}

/// A type after name resolution.
public indirect enum ResolvedType: Hashable, Sendable, Codable {
    case builtin(BuiltinType)
    /// A proxy to an interface (`::Ice::Object` for `Object*`) or, deprecated, to a class.
    case proxy(String)
    /// A user-defined type by scoped name.
    case user(String, TypeKind)

    /// The scoped name of the definition referred to; nil for a builtin type.
    public var scopedName: String? {
        switch self {
        case .builtin: nil
        case .proxy(let name), .user(let name, _): name
        }
    }
}

/// The kinds of user-defined types.
public enum TypeKind: String, Hashable, Sendable, Codable {
    case `class`, interface, `struct`, sequence, dictionary, `enum`
    /// Only in `extends` of exceptions and in `throws` clauses: exceptions are not types.
    case exception
}

/// A literal or name used as a constant value, a default value, a tag, a compact id or an
/// enumerator value, as written.
public struct ValueSyntax: Hashable, Sendable, Codable {
    public enum Kind: Hashable, Sendable, Codable {
        /// The literal's text, sign included; the value when it fits in 64 bits.
        case integer(text: String, value: Int64?)
        case float(text: String, value: Double?)
        case string(String)
        case bool(Bool)
        case name(String)
    }

    public var kind: Kind
    public var location: SourceLocation

    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }
}

/// A constant value after checking against its type.
public enum ConstantValue: Hashable, Sendable, Codable {
    case bool(Bool)
    case integer(Int64)
    case float(Double)
    case string(String)
    /// An enumerator: the enum's scoped name, the enumerator's name and its value.
    case enumerator(enumType: String, name: String, value: Int64)
}
