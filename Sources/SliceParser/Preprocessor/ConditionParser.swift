/// Evaluates the expression of `#if`/`#elif`: integers, `defined`, macros (undefined names
/// are 0), and C's unary, binary and conditional operators.
struct ConditionParser {
    struct Failure: Error {
        var message: String
    }

    private enum Token: Equatable {
        case number(Int64)
        case name(String)
        case op(String)
    }

    private var tokens: [Token] = []
    private var position = 0
    private let macros: [String: String]
    private var tokenizeError: String?

    init(text: String, macros: [String: String]) {
        self.macros = macros
        tokens = tokenize(text, disabled: [])
    }

    mutating func parse() throws -> Int64 {
        if let tokenizeError { throw Failure(message: tokenizeError) }
        guard !tokens.isEmpty else { throw Failure(message: "empty expression") }
        let value = try conditional()
        guard position == tokens.count else { throw Failure(message: "unexpected tokens at the end") }
        return value
    }

    /// Tokens an expression may expand to, and how deeply macros may expand within each other
    /// and the expression may nest (parentheses, `!` chains, `?:`).
    static let maxTokens = 100_000
    static let maxDepth = 200
    private var depth = 0

    /// The tokens of `text`, expanding macros except inside their own expansion (the C rule:
    /// `#define X X X` then `#if X` sees `X X`).
    private mutating func tokenize(_ text: String, disabled: Set<String>) -> [Token] {
        guard disabled.count <= Self.maxDepth else {
            tokenizeError = "macros expand within each other more than \(Self.maxDepth) deep"
            return []
        }
        var result: [Token] = []
        var chars = text[...]
        let operators = [
            "&&", "||", "==", "!=", "<=", ">=", "<<", ">>", "!", "~", "+", "-", "*", "/", "%", "<", ">",
            "&", "^", "|", "(", ")", "?", ":",
        ]
        while let c = chars.first {
            if c == " " || c == "\t" {
                chars = chars.dropFirst()
            } else if c.isNumber {
                let digits = chars.prefix { $0.isLetter || $0.isNumber }
                chars = chars.dropFirst(digits.count)
                var text = String(digits)
                while let last = text.last, "uUlL".contains(last) { text.removeLast() }
                let value: Int64?
                if text.hasPrefix("0x") || text.hasPrefix("0X") {
                    value = Int64(text.dropFirst(2), radix: 16)
                } else if text.hasPrefix("0"), text.count > 1 {
                    value = Int64(text.dropFirst(), radix: 8)
                } else {
                    value = Int64(text)
                }
                guard let value else {
                    tokenizeError = "bad number '\(digits)'"
                    return []
                }
                result.append(.number(value))
            } else if c.isLetter || c == "_" {
                let word = String(chars.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                chars = chars.dropFirst(word.count)
                if word == "defined" {
                    result.append(.name(word))
                } else if let replacement = macros[word], !disabled.contains(word), !Self.isOperandOfDefined(result) {
                    // A macro defined empty expands to nothing, as in C: `#if EMPTY > 2` is an error.
                    result += tokenize(replacement, disabled: disabled.union([word]))
                    guard tokenizeError == nil else { return [] }
                    guard result.count <= Self.maxTokens else {
                        tokenizeError = "macro expansion exceeds \(Self.maxTokens) tokens"
                        return []
                    }
                } else {
                    result.append(.name(word))
                }
            } else if let op = operators.first(where: { chars.hasPrefix($0) }) {
                result.append(.op(op))
                chars = chars.dropFirst(op.count)
            } else {
                tokenizeError = "unexpected character '\(c)'"
                return []
            }
        }
        return result
    }

    /// `defined X` and `defined(X)` test the name itself, so X is not expanded.
    private static func isOperandOfDefined(_ tokens: [Token]) -> Bool {
        if tokens.last == .name("defined") { return true }
        return tokens.count >= 2 && tokens[tokens.count - 1] == .op("(") && tokens[tokens.count - 2] == .name("defined")
    }

    private var peek: Token? { position < tokens.count ? tokens[position] : nil }

    private mutating func take(_ op: String) -> Bool {
        if peek == .op(op) {
            position += 1
            return true
        }
        return false
    }

    /// Runs a recursive step, failing beyond `maxDepth` instead of exhausting the stack.
    private mutating func nested<T>(_ step: (inout Self) throws -> T) throws -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else {
            throw Failure(message: "expression nested more than \(Self.maxDepth) deep")
        }
        return try step(&self)
    }

    private mutating func conditional() throws -> Int64 {
        try nested { try $0.conditionalStep() }
    }

    private mutating func conditionalStep() throws -> Int64 {
        let condition = try binary(0)
        guard take("?") else { return condition }
        let a = try conditional()
        guard take(":") else { throw Failure(message: "expected ':'") }
        let b = try conditional()
        return condition != 0 ? a : b
    }

    private static let precedence: [[String]] = [
        ["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", ">", "<=", ">="], ["<<", ">>"], ["+", "-"],
        ["*", "/", "%"],
    ]

    private mutating func binary(_ level: Int) throws -> Int64 {
        guard level < Self.precedence.count else { return try unary() }
        var left = try binary(level + 1)
        while case .op(let op)? = peek, Self.precedence[level].contains(op) {
            position += 1
            let right = try binary(level + 1)
            left = try apply(op, left, right)
        }
        return left
    }

    private func apply(_ op: String, _ a: Int64, _ b: Int64) throws -> Int64 {
        switch op {
        case "||": return a != 0 || b != 0 ? 1 : 0
        case "&&": return a != 0 && b != 0 ? 1 : 0
        case "|": return a | b
        case "^": return a ^ b
        case "&": return a & b
        case "==": return a == b ? 1 : 0
        case "!=": return a != b ? 1 : 0
        case "<": return a < b ? 1 : 0
        case ">": return a > b ? 1 : 0
        case "<=": return a <= b ? 1 : 0
        case ">=": return a >= b ? 1 : 0
        case "<<": return a << (b & 63)
        case ">>": return a >> (b & 63)
        case "+": return a &+ b
        case "-": return a &- b
        case "*": return a &* b
        case "/", "%":
            guard b != 0 else { throw Failure(message: "division by zero") }
            guard !(a == .min && b == -1) else { throw Failure(message: "overflow") }
            return op == "/" ? a / b : a % b
        default: throw Failure(message: "unknown operator \(op)")
        }
    }

    private mutating func unary() throws -> Int64 {
        try nested { try $0.unaryStep() }
    }

    private mutating func unaryStep() throws -> Int64 {
        guard let token = peek else { throw Failure(message: "expression ends too early") }
        position += 1
        switch token {
        case .number(let n): return n
        case .name("defined"):
            let parenthesized = take("(")
            guard case .name(let name)? = peek else { throw Failure(message: "defined needs a macro name") }
            position += 1
            if parenthesized, !take(")") { throw Failure(message: "expected ')'") }
            return macros[name] != nil ? 1 : 0
        case .name: return 0
        case .op("!"): return try unary() == 0 ? 1 : 0
        case .op("~"): return ~(try unary())
        case .op("-"): return 0 &- (try unary())
        case .op("+"): return try unary()
        case .op("("):
            let value = try conditional()
            guard take(")") else { throw Failure(message: "expected ')'") }
            return value
        case .op(let op): throw Failure(message: "unexpected '\(op)'")
        }
    }
}
