import Foundation

/// A function-like macro, `#define NAME(a, b) body`, as ZeroC's preprocessor (mcpp) takes them:
/// arguments are macro-expanded before they replace their parameters, except next to `##`
/// (token pasting) and after `#` (stringizing), which use them as written.
struct FunctionMacro: Hashable, Sendable {
    let parameters: [String]
    let body: String

    /// Parses `(a, b) body` — what follows the macro's name, the parenthesis right after it.
    static func parse(_ text: Substring) -> Result<FunctionMacro, MacroError> {
        guard text.first == "(", let close = text.firstIndex(of: ")") else {
            return .failure(MacroError("missing ')' in the parameter list of a function-like macro"))
        }
        let list = text[text.index(after: text.startIndex)..<close]
        let parameters = list.split(separator: ",", omittingEmptySubsequences: false).map {
            String($0).trimmingWhitespace()
        }
        if parameters == [""] {
            return .success(
                FunctionMacro(parameters: [], body: String(text[text.index(after: close)...]).trimmingWhitespace()))
        }
        for parameter in parameters {
            if parameter == "..." { return .failure(MacroError("variadic macros are not supported")) }
            guard let first = parameter.first, first.isLetter || first == "_",
                parameter.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
            else {
                return .failure(MacroError("'\(parameter)' is not a macro parameter name"))
            }
        }
        guard Set(parameters).count == parameters.count else {
            return .failure(MacroError("duplicate macro parameter name"))
        }
        return .success(
            FunctionMacro(parameters: parameters, body: String(text[text.index(after: close)...]).trimmingWhitespace()))
    }

    /// The arguments of an invocation at the start of `text` (after the macro's name), and what
    /// follows it; nil when no `(` follows, so the name stays as it is (the C rule), or when the
    /// invocation does not close on this line.
    static func arguments(at text: Substring) -> (arguments: [String], rest: Substring)? {
        var chars = text.drop { $0 == " " || $0 == "\t" }
        guard chars.first == "(" else { return nil }
        chars = chars.dropFirst()
        var arguments: [String] = []
        var current = ""
        var depth = 0
        while let c = chars.first {
            if c == "\"" {
                let literal = stringLiteralPrefix(chars)
                current += literal
                chars = chars.dropFirst(literal.count)
                continue
            }
            chars = chars.dropFirst()
            switch c {
            case "(":
                depth += 1
                current.append(c)
            case ")" where depth == 0:
                arguments.append(current.trimmingWhitespace())
                return (arguments, chars)
            case ")":
                depth -= 1
                current.append(c)
            case "," where depth == 0:
                arguments.append(current.trimmingWhitespace())
                current = ""
            default:
                current.append(c)
            }
        }
        return nil
    }

    /// The body with parameters replaced: `expanded` where used plainly, `raw` next to `##`
    /// and after `#`; `##` joins its neighbours. Nil once the result would exceed `limit` bytes
    /// (a body naming a long argument many times).
    func substitute(expanded: [String], raw: [String], limit: Int) -> String? {
        let tokens = Self.tokens(body)
        let index = Dictionary(uniqueKeysWithValues: parameters.enumerated().map { ($1, $0) })
        func neighbour(_ i: Int, step: Int) -> String? {
            var j = i + step
            while j >= 0, j < tokens.count, tokens[j].allSatisfy({ $0 == " " || $0 == "\t" }) { j += step }
            return j >= 0 && j < tokens.count ? tokens[j] : nil
        }
        var out = ""
        var i = 0
        var pasting = false
        while i < tokens.count {
            let token = tokens[i]
            defer { i += 1 }
            if token.allSatisfy({ $0 == " " || $0 == "\t" }) {
                if !pasting && neighbour(i, step: 1) != "##" { out += token }
                continue
            }
            if token == "##" {
                pasting = true
                continue
            }
            if token == "#", let next = neighbour(i, step: 1), let p = index[next] {
                out +=
                    "\""
                    + raw[p].replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    + "\""
                while i + 1 < tokens.count, tokens[i + 1] != next { i += 1 }
                i += 1
                pasting = false
                continue
            }
            if let p = index[token] {
                let asWritten = pasting || neighbour(i, step: 1) == "##"
                out += asWritten ? raw[p] : expanded[p]
            } else {
                out += token
            }
            pasting = false
            if out.utf8.count > limit { return nil }
        }
        return out
    }

    /// Identifiers, `##`, string literals, runs of blanks, and single other characters.
    private static func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var chars = text[...]
        while let c = chars.first {
            let token: Substring
            if c == "\"" {
                token = stringLiteralPrefix(chars)
            } else if c.isLetter || c.isNumber || c == "_" {
                token = chars.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            } else if c == " " || c == "\t" {
                token = chars.prefix { $0 == " " || $0 == "\t" }
            } else if chars.hasPrefix("##") {
                token = chars.prefix(2)
            } else {
                token = chars.prefix(1)
            }
            tokens.append(String(token))
            chars = chars.dropFirst(token.count)
        }
        return tokens
    }
}

struct MacroError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
