/// A top-level or nested definition, in source order.
public enum Definition: Hashable, Sendable, Codable {
    case module(ModuleDef)
    /// `class C;` or `interface I;`
    case forward(ForwardDecl)
    case classDef(ClassDef)
    case interfaceDef(InterfaceDef)
    case exception(ExceptionDef)
    case structDef(StructDef)
    case sequence(SequenceDef)
    case dictionary(DictionaryDef)
    case enumDef(EnumDef)
    case const(ConstDef)

    public var info: DefinitionInfo {
        switch self {
        case .module(let d): d.info
        case .forward(let d): d.info
        case .classDef(let d): d.info
        case .interfaceDef(let d): d.info
        case .exception(let d): d.info
        case .structDef(let d): d.info
        case .sequence(let d): d.info
        case .dictionary(let d): d.info
        case .enumDef(let d): d.info
        case .const(let d): d.info
        }
    }
}

public struct ModuleDef: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var contents: [Definition]

    public init(info: DefinitionInfo, contents: [Definition] = []) {
        self.info = info
        self.contents = contents
    }
}

public struct ForwardDecl: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable { case `class`, interface }
    public var info: DefinitionInfo
    public var kind: Kind

    public init(info: DefinitionInfo, kind: Kind) {
        self.info = info
        self.kind = kind
    }
}

/// A data member of a class, exception or struct.
public struct DataMember: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var type: TypeRef
    /// `optional(tag)` as written, and its value once checked.
    public var tagSyntax: ValueSyntax?
    public var tag: Int?
    public var defaultSyntax: ValueSyntax?
    public var defaultValue: ConstantValue?

    public init(
        info: DefinitionInfo, type: TypeRef, tagSyntax: ValueSyntax? = nil, tag: Int? = nil,
        defaultSyntax: ValueSyntax? = nil, defaultValue: ConstantValue? = nil
    ) {
        self.info = info
        self.type = type
        self.tagSyntax = tagSyntax
        self.tag = tag
        self.defaultSyntax = defaultSyntax
        self.defaultValue = defaultValue
    }

    /// Whether the member is `optional(tag)`.
    public var isOptional: Bool { tagSyntax != nil }
}

public struct ClassDef: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var compactIdSyntax: ValueSyntax?
    public var compactId: Int?
    public var base: TypeRef?
    /// `implements` (deprecated in 3.7).
    public var implements: [TypeRef]
    public var members: [DataMember]
    /// Operations on a class (deprecated in 3.7; only local classes in practice).
    public var operations: [Operation]

    public init(
        info: DefinitionInfo, compactIdSyntax: ValueSyntax? = nil, compactId: Int? = nil, base: TypeRef? = nil,
        implements: [TypeRef] = [], members: [DataMember] = [], operations: [Operation] = []
    ) {
        self.info = info
        self.compactIdSyntax = compactIdSyntax
        self.compactId = compactId
        self.base = base
        self.implements = implements
        self.members = members
        self.operations = operations
    }
}

public struct InterfaceDef: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var bases: [TypeRef]
    public var operations: [Operation]

    public init(info: DefinitionInfo, bases: [TypeRef] = [], operations: [Operation] = []) {
        self.info = info
        self.bases = bases
        self.operations = operations
    }
}

public struct Operation: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var isIdempotent: Bool
    /// Nil for `void`.
    public var returnType: TypeRef?
    public var returnTagSyntax: ValueSyntax?
    public var returnTag: Int?
    public var parameters: [Parameter]
    public var throwsClause: [TypeRef]

    public init(
        info: DefinitionInfo, isIdempotent: Bool = false, returnType: TypeRef? = nil,
        returnTagSyntax: ValueSyntax? = nil, returnTag: Int? = nil, parameters: [Parameter] = [],
        throwsClause: [TypeRef] = []
    ) {
        self.info = info
        self.isIdempotent = isIdempotent
        self.returnType = returnType
        self.returnTagSyntax = returnTagSyntax
        self.returnTag = returnTag
        self.parameters = parameters
        self.throwsClause = throwsClause
    }
}

public struct Parameter: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var type: TypeRef
    public var isOut: Bool
    public var tagSyntax: ValueSyntax?
    public var tag: Int?

    public init(
        info: DefinitionInfo, type: TypeRef, isOut: Bool = false, tagSyntax: ValueSyntax? = nil, tag: Int? = nil
    ) {
        self.info = info
        self.type = type
        self.isOut = isOut
        self.tagSyntax = tagSyntax
        self.tag = tag
    }
}

public struct ExceptionDef: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var base: TypeRef?
    public var members: [DataMember]

    public init(info: DefinitionInfo, base: TypeRef? = nil, members: [DataMember] = []) {
        self.info = info
        self.base = base
        self.members = members
    }
}

public struct StructDef: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var members: [DataMember]

    public init(info: DefinitionInfo, members: [DataMember] = []) {
        self.info = info
        self.members = members
    }
}

public struct SequenceDef: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var element: TypeRef

    public init(info: DefinitionInfo, element: TypeRef) {
        self.info = info
        self.element = element
    }
}

public struct DictionaryDef: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var key: TypeRef
    public var value: TypeRef

    public init(info: DefinitionInfo, key: TypeRef, value: TypeRef) {
        self.info = info
        self.key = key
        self.value = value
    }
}

public struct Enumerator: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var valueSyntax: ValueSyntax?
    /// The enumerator's value, explicit or implied; set by semantic analysis.
    public var value: Int64

    public init(info: DefinitionInfo, valueSyntax: ValueSyntax? = nil, value: Int64 = 0) {
        self.info = info
        self.valueSyntax = valueSyntax
        self.value = value
    }
}

public struct EnumDef: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var enumerators: [Enumerator]

    public init(info: DefinitionInfo, enumerators: [Enumerator] = []) {
        self.info = info
        self.enumerators = enumerators
    }

    /// The largest enumerator value, which decides the Swift raw type and the 1.0 width.
    public var maxValue: Int64 { enumerators.map(\.value).max() ?? 0 }
}

public struct ConstDef: Hashable, Sendable, Codable {
    public var info: DefinitionInfo
    public var type: TypeRef
    public var valueSyntax: ValueSyntax
    /// The checked, folded value; set by semantic analysis.
    public var value: ConstantValue?

    public init(info: DefinitionInfo, type: TypeRef, valueSyntax: ValueSyntax, value: ConstantValue? = nil) {
        self.info = info
        self.type = type
        self.valueSyntax = valueSyntax
        self.value = value
    }
}

/// A Slice file as read: its metadata, and whether it was named or included.
public struct SourceFile: Hashable, Sendable, Codable {
    public var path: String
    public var includeLevel: Int
    public var metadata: [Metadata]

    public init(path: String, includeLevel: Int, metadata: [Metadata] = []) {
        self.path = path
        self.includeLevel = includeLevel
        self.metadata = metadata
    }
}

/// Everything parsed from one file named on the command line and the files it includes.
public struct CompilationUnit: Hashable, Sendable, Codable {
    public var files: [SourceFile]
    /// Top-level definitions in source order (modules, and erroneous non-modules).
    public var definitions: [Definition]

    public init(files: [SourceFile] = [], definitions: [Definition] = []) {
        self.files = files
        self.definitions = definitions
    }
}
