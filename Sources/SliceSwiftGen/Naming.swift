import Foundation
import SliceAST

/// Swift's reserved words: Slice names that collide are written with backticks.
let swiftKeywords: Set<String> = [
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
    "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows", "static",
    "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default", "defer", "do", "else",
    "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch", "where", "while", "Any", "as",
    "await", "false", "is", "nil", "self", "Self", "super", "throws", "true", "try", "Type", "Protocol",
]

/// A Slice name as a Swift identifier.
func swiftName(_ name: String) -> String {
    swiftKeywords.contains(name) ? "`\(name)`" : name
}

/// A Slice name as a Swift argument label at a call site, where only `inout`, `var` and `let`
/// need backticks (escaping others draws a warning).
func argumentLabel(_ name: String) -> String {
    ["inout", "var", "let"].contains(name) ? "`\(name)`" : name
}

/// A Swift string literal for `text`, with non-ASCII and control characters escaped.
func swiftStringLiteral(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 32 || scalar.value > 126 {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// Doc comment lines for a Slice doc comment, in Swift's markup.
func docLines(_ doc: DocComment?) -> [String] {
    guard let doc else { return [] }
    var lines =
        doc.overview.isEmpty
        ? [] : doc.overview.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var tags: [String] = []
    for tag in doc.parameters { tags.append("- Parameter \(tag.name): \(tag.text)") }
    if let returns = doc.returns { tags.append("- Returns: \(returns)") }
    for tag in doc.exceptions { tags.append("- Throws: `\(tag.name)` \(tag.text)") }
    for target in doc.seeAlso { tags.append("- SeeAlso: `\(target.replacingOccurrences(of: "#", with: "."))`") }
    if let deprecated = doc.deprecated {
        tags.append("- Note: Deprecated" + (deprecated.isEmpty ? "." : ": \(deprecated)"))
    }
    if !tags.isEmpty {
        if !lines.isEmpty { lines.append("") }
        lines += tags.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
    }
    return lines.map { line in
        // Slice's {@link X#y} becomes a code span.
        var text = line
        while let start = text.range(of: "{@link "), let end = text[start.upperBound...].firstIndex(of: "}") {
            let target = text[start.upperBound..<end].replacingOccurrences(of: "#", with: ".")
            text.replaceSubrange(start.lowerBound...end, with: "`\(target)`")
        }
        return text
    }
}
