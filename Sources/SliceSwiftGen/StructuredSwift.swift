/// The Swift the generator produces, as data: declarations with their doc comments,
/// attributes and members, rendered to text in one place (`SwiftRenderer`).
///
/// Function bodies are kept as lines of statements; everything that decides the shape of
/// the API (names, conformances, signatures, access) is structured.
indirect enum SwiftDecl: Equatable {
    /// `public typealias Name = Type`
    case typeAlias(doc: [String], access: String, name: String, type: String)
    /// `public let Name: Type = value`
    case constant(doc: [String], access: String, name: String, type: String, value: String)
    /// A struct, class, enum, protocol or extension.
    case nominal(SwiftNominal)
    /// A stored or computed property; `body` makes it computed.
    case property(doc: [String], modifiers: String, name: String, type: String, value: String?, body: [String]?)
    /// An enum case.
    case enumCase(doc: [String], name: String, rawValue: String?)
    /// A function or initializer: the signature line as written, then the body (nil for a
    /// protocol requirement).
    case function(doc: [String], signature: String, body: [String]?)
    /// A blank line between groups.
    case blank
}

struct SwiftNominal: Equatable {
    enum Kind: String { case `struct`, `class`, `enum`, `protocol`, `extension` }
    var doc: [String] = []
    var attributes: [String] = []
    var modifiers: String
    var kind: Kind
    var name: String
    var inherits: [String] = []
    var whereClause: String? = nil
    var members: [SwiftDecl] = []
}

/// Turns declarations into source text: four-space indentation, `///` doc comments.
struct SwiftRenderer {
    var lines: [String] = []
    private var indent = 0

    mutating func render(_ decls: [SwiftDecl]) {
        for decl in decls { render(decl) }
    }

    private mutating func emit(_ line: String) {
        lines.append(line.isEmpty ? "" : String(repeating: "    ", count: indent) + line)
    }

    private mutating func emitDoc(_ doc: [String]) {
        for line in doc { emit(line.isEmpty ? "///" : "/// " + line) }
    }

    private static func join(_ parts: String...) -> String {
        parts.filter { !$0.isEmpty }.joined(separator: " ")
    }

    mutating func render(_ decl: SwiftDecl) {
        switch decl {
        case .blank:
            emit("")
        case .typeAlias(let doc, let access, let name, let type):
            emitDoc(doc)
            emit(Self.join(access, "typealias \(name) = \(type)"))
        case .constant(let doc, let access, let name, let type, let value):
            emitDoc(doc)
            emit(Self.join(access, "let \(name): \(type) = \(value)"))
        case .property(let doc, let modifiers, let name, let type, let value, let body):
            emitDoc(doc)
            // `modifiers` may end in `let` for constants; otherwise the property is a `var`.
            let binding = modifiers.hasSuffix("let") ? "" : "var "
            let head = Self.join(modifiers, binding + "\(name): \(type)")
            if let body {
                if body.count == 1 {
                    emit(head + " { \(body[0]) }")
                } else {
                    emit(head + " {")
                    indent += 1
                    for line in body { emit(line) }
                    indent -= 1
                    emit("}")
                }
            } else {
                emit(head + (value.map { " = \($0)" } ?? ""))
            }
        case .enumCase(let doc, let name, let rawValue):
            emitDoc(doc)
            emit("case \(name)" + (rawValue.map { " = \($0)" } ?? ""))
        case .function(let doc, let signature, let body):
            emitDoc(doc)
            guard let body else {
                emit(signature)
                return
            }
            if body.isEmpty {
                emit(signature + " {}")
                return
            }
            emit(signature + " {")
            indent += 1
            for line in body {
                // Body lines carry their own relative indentation as leading spaces.
                emit(line)
            }
            indent -= 1
            emit("}")
        case .nominal(let n):
            emitDoc(n.doc)
            for attribute in n.attributes { emit(attribute) }
            var head = Self.join(n.modifiers, n.kind.rawValue, n.name)
            if !n.inherits.isEmpty { head += ": " + n.inherits.joined(separator: ", ") }
            if let whereClause = n.whereClause { head += " where " + whereClause }
            if n.members.isEmpty {
                emit(head + " {}")
                return
            }
            emit(head + " {")
            indent += 1
            var previousWasBlank = true
            for member in n.members {
                if member == .blank && previousWasBlank { continue }
                // Functions and nested types stand apart from what precedes them.
                if !previousWasBlank, member.hasBody { emit("") }
                render(member)
                previousWasBlank = member == .blank
            }
            while lines.last == "" { lines.removeLast() }
            indent -= 1
            emit("}")
        }
    }

    var text: String { lines.joined(separator: "\n") + "\n" }
}

extension SwiftDecl {
    /// Whether the declaration spans several lines (a function body or a type).
    var hasBody: Bool {
        switch self {
        case .function(_, _, let body): body != nil
        case .nominal: true
        default: false
        }
    }
}
