public import SliceAST

/// The reserved words of Slice 3.7, matched case-sensitively.
public enum Keyword: String, Sendable, CaseIterable {
    case bool, byte, `class`, const, dictionary, double, `enum`, exception, extends, `false`, float, idempotent
    case implements, int, interface, local, LocalObject, long, module, Object, optional, out, sequence, short
    case string, `struct`, `throws`, `true`, Value, void

    /// Keywords keyed by their lower-cased spelling, to warn about near-misses like `Struct`.
    static let byLowercase: [String: Keyword] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0.rawValue.lowercased(), $0) })
}

public enum TokenKind: Hashable, Sendable {
    /// A name, possibly scoped (`A::B`, `::A`); `escaped` when written with a leading backslash.
    case identifier(String, escaped: Bool)
    case keyword(Keyword)
    case integer(text: String, value: Int64?)
    case float(text: String, value: Double?)
    case string(String)
    case leftBrace, rightBrace, leftParen, rightParen, less, greater, leftBracket, rightBracket
    case leftDoubleBracket, rightDoubleBracket, comma, semicolon, equals, star, colon
    case endOfFile

    var text: String {
        switch self {
        case .identifier(let name, let escaped): (escaped ? "\\" : "") + name
        case .keyword(let k): k.rawValue
        case .integer(let text, _), .float(let text, _): text
        case .string(let s): "\"\(s)\""
        case .leftBrace: "{"
        case .rightBrace: "}"
        case .leftParen: "("
        case .rightParen: ")"
        case .less: "<"
        case .greater: ">"
        case .leftBracket: "["
        case .rightBracket: "]"
        case .leftDoubleBracket: "[["
        case .rightDoubleBracket: "]]"
        case .comma: ","
        case .semicolon: ";"
        case .equals: "="
        case .star: "*"
        case .colon: ":"
        case .endOfFile: "end of file"
        }
    }
}

public struct Token: Sendable {
    public var kind: TokenKind
    public var location: SourceLocation
    /// Index of the source file the token came from.
    public var file: Int
    /// The body of the doc comment that came right before this token, if any.
    public var doc: String?
}
