public import SliceAST

/// Turns preprocessed lines into tokens, keeping each token's original file, line and column.
public struct Lexer {
    private let source: PreprocessedSource
    private var bytes: [UInt8] = []
    /// Offset in `bytes` where each preprocessed line starts.
    private var lineStarts: [Int] = []
    private var offset = 0
    private var lineIndex = 0
    private var pendingDoc: String?
    private var pendingDocFile = -1
    public private(set) var diagnostics = Diagnostics()

    public init(source: PreprocessedSource) {
        self.source = source
        bytes.reserveCapacity(source.lines.reduce(0) { $0 + $1.text.utf8.count + 1 })
        for line in source.lines {
            lineStarts.append(bytes.count)
            bytes += line.text.utf8
            bytes.append(UInt8(ascii: "\n"))
        }
    }

    /// Scans everything.
    public mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        while true {
            let token = next()
            tokens.append(token)
            if case .endOfFile = token.kind { return tokens }
        }
    }

    private func location(at position: Int) -> (SourceLocation, Int) {
        guard !source.lines.isEmpty else {
            return (SourceLocation(file: source.files.first?.path ?? "", line: 1, column: 1), 0)
        }
        var index = lineIndex
        while index + 1 < lineStarts.count, lineStarts[index + 1] <= position { index += 1 }
        let line = source.lines[min(index, source.lines.count - 1)]
        return (
            SourceLocation(
                file: source.files[line.file].path, line: line.line, column: position - lineStarts[index] + 1),
            line.file
        )
    }

    private mutating func advanceLines(to position: Int) {
        while lineIndex + 1 < lineStarts.count, lineStarts[lineIndex + 1] <= position { lineIndex += 1 }
    }

    private func peek(_ ahead: Int = 0) -> UInt8 {
        offset + ahead < bytes.count ? bytes[offset + ahead] : 0
    }

    private mutating func error(_ message: String, at position: Int) {
        diagnostics.error("syntax", message, at: location(at: position).0)
    }

    private mutating func next() -> Token {
        skipTrivia()
        advanceLines(to: offset)
        let start = offset
        let (location, file) = location(at: start)
        var doc: String?
        if pendingDoc != nil, pendingDocFile == file { doc = pendingDoc }
        pendingDoc = nil
        guard offset < bytes.count else { return Token(kind: .endOfFile, location: location, file: file, doc: nil) }
        let kind = scanToken()
        return Token(kind: kind, location: location, file: file, doc: doc)
    }

    /// Skips whitespace and comments, remembering the last doc comment.
    private mutating func skipTrivia() {
        while offset < bytes.count {
            let c = bytes[offset]
            if c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12 {
                offset += 1
            } else if c == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "/") {
                while offset < bytes.count, bytes[offset] != 10 { offset += 1 }
            } else if c == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") {
                let start = offset
                offset += 2
                let isDoc = peek() == UInt8(ascii: "*") && peek(1) != UInt8(ascii: "/")
                while offset < bytes.count, !(bytes[offset] == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/")) {
                    offset += 1
                }
                if offset >= bytes.count {
                    error("end of file in comment", at: start)
                    return
                }
                offset += 2
                if isDoc {
                    pendingDoc = String(decoding: bytes[(start + 3)..<(offset - 2)], as: UTF8.self)
                    advanceLines(to: start)
                    pendingDocFile = location(at: start).1
                }
            } else {
                return
            }
        }
    }

    private static func isLetter(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    }
    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private static func isIdentifierChar(_ c: UInt8) -> Bool { isLetter(c) || isDigit(c) || c == 95 }

    private mutating func scanToken() -> TokenKind {
        let c = bytes[offset]
        switch c {
        case UInt8(ascii: "{"): offset += 1; return .leftBrace
        case UInt8(ascii: "}"): offset += 1; return .rightBrace
        case UInt8(ascii: "("): offset += 1; return .leftParen
        case UInt8(ascii: ")"): offset += 1; return .rightParen
        case UInt8(ascii: "<"): offset += 1; return .less
        case UInt8(ascii: ">"): offset += 1; return .greater
        case UInt8(ascii: ","): offset += 1; return .comma
        case UInt8(ascii: ";"): offset += 1; return .semicolon
        case UInt8(ascii: "="): offset += 1; return .equals
        case UInt8(ascii: "*"): offset += 1; return .star
        case UInt8(ascii: "["):
            offset += 1
            if peek() == UInt8(ascii: "[") {
                offset += 1
                return .leftDoubleBracket
            }
            return .leftBracket
        case UInt8(ascii: "]"):
            offset += 1
            if peek() == UInt8(ascii: "]") {
                offset += 1
                return .rightDoubleBracket
            }
            return .rightBracket
        case UInt8(ascii: "\""):
            return scanString()
        case UInt8(ascii: ":"):
            if peek(1) == UInt8(ascii: ":"), Self.isLetter(peek(2)) { return scanName(escaped: false) }
            offset += 1
            return .colon
        case UInt8(ascii: "\\") where Self.isLetter(peek(1)):
            offset += 1
            return scanName(escaped: true)
        case _ where Self.isLetter(c) || c == 95:
            return scanName(escaped: false)
        case _ where Self.isDigit(c):
            return scanNumber()
        case UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "+"):
            let next = c == UInt8(ascii: ".") ? peek(1) : (peek(1) == UInt8(ascii: ".") ? peek(2) : peek(1))
            if Self.isDigit(next) { return scanNumber() }
            fallthrough
        default:
            offset += 1
            let text = c < 32 || c > 126 ? "\\\(String(c, radix: 8))" : String(UnicodeScalar(c))
            error("illegal input character: '\(text)'", at: offset - 1)
            return next().kind
        }
    }

    /// An identifier, or a scoped name as one token: `A::B::C`, `::A::B`.
    private mutating func scanName(escaped: Bool) -> TokenKind {
        let start = offset
        while true {
            if peek() == UInt8(ascii: ":"), peek(1) == UInt8(ascii: ":") {
                offset += 2
                // A backslash after `::` is kept and makes the name fail to resolve, as in ZeroC.
                if peek() == UInt8(ascii: "\\") { offset += 1 }
            }
            guard Self.isLetter(peek()) || peek() == 95 else { break }
            while Self.isIdentifierChar(peek()) { offset += 1 }
            guard peek() == UInt8(ascii: ":"), peek(1) == UInt8(ascii: ":") else { break }
        }
        let text = String(decoding: bytes[start..<offset], as: UTF8.self)
        if !escaped, !text.contains(":"), let keyword = Keyword(rawValue: text) { return .keyword(keyword) }
        return .identifier(text, escaped: escaped)
    }

    private mutating func scanNumber() -> TokenKind {
        let start = offset
        if peek() == UInt8(ascii: "-") || peek() == UInt8(ascii: "+") { offset += 1 }
        let digitsStart = offset
        if peek() == UInt8(ascii: "0"), peek(1) == UInt8(ascii: "x") {
            offset += 2
            while Self.isDigit(peek()) || (peek() | 0x20 >= 97 && peek() | 0x20 <= 102) { offset += 1 }
            let text = String(decoding: bytes[start..<offset], as: UTF8.self)
            let hex = String(decoding: bytes[(digitsStart + 2)..<offset], as: UTF8.self)
            return .integer(text: text, value: signed(UInt64(hex, radix: 16), negative: bytes[start] == 45, text: text))
        }
        while Self.isDigit(peek()) { offset += 1 }
        var isFloat = false
        if peek() == UInt8(ascii: "."), Self.isDigit(peek(1)) || !Self.isLetter(peek(1)) {
            isFloat = true
            offset += 1
            while Self.isDigit(peek()) { offset += 1 }
        }
        if peek() | 0x20 == UInt8(ascii: "e"),
            Self.isDigit(peek(1)) || ((peek(1) == 43 || peek(1) == 45) && Self.isDigit(peek(2)))
        {
            isFloat = true
            offset += 2
            while Self.isDigit(peek()) { offset += 1 }
        }
        if isFloat {
            let text = String(decoding: bytes[start..<offset], as: UTF8.self)
            if peek() | 0x20 == UInt8(ascii: "f") { offset += 1 }
            let value = Double(text)
            if value == nil || !(value!.isFinite) {
                error("floating-point constant '\(text)' out of range", at: start)
                return .float(text: text, value: nil)
            }
            return .float(text: String(decoding: bytes[start..<offset], as: UTF8.self), value: value)
        }
        let text = String(decoding: bytes[start..<offset], as: UTF8.self)
        let digits = String(decoding: bytes[digitsStart..<offset], as: UTF8.self)
        let negative = bytes[start] == 45
        if digits.count > 1, digits.hasPrefix("0") {
            guard digits.allSatisfy({ $0 >= "0" && $0 <= "7" }) else {
                error("invalid octal constant '\(text)'", at: start)
                return .integer(text: text, value: 0)
            }
            return .integer(text: text, value: signed(UInt64(digits, radix: 8), negative: negative, text: text))
        }
        return .integer(text: text, value: signed(UInt64(digits), negative: negative, text: text))
    }

    private mutating func signed(_ magnitude: UInt64?, negative: Bool, text: String) -> Int64? {
        if let magnitude {
            if negative, magnitude <= UInt64(Int64.max) + 1 { return Int64(truncatingIfNeeded: 0 &- magnitude) }
            if !negative, magnitude <= UInt64(Int64.max) { return Int64(magnitude) }
        }
        error("integer constant '\(text)' out of range", at: offset - text.utf8.count)
        return nil
    }

    private mutating func scanString() -> TokenKind {
        let start = offset
        offset += 1
        var value: [UInt8] = []
        while true {
            guard offset < bytes.count, bytes[offset] != 10 else {
                error("unterminated string literal", at: start)
                return .string(String(decoding: value, as: UTF8.self))
            }
            let c = bytes[offset]
            offset += 1
            if c == UInt8(ascii: "\"") { break }
            if c < 32 || c == 127 {
                error("illegal control character in string literal", at: offset - 1)
                continue
            }
            guard c == UInt8(ascii: "\\") else {
                value.append(c)
                continue
            }
            scanEscape(into: &value)
        }
        return .string(String(decoding: value, as: UTF8.self))
    }

    private mutating func scanEscape(into value: inout [UInt8]) {
        let escapeStart = offset - 1
        let e = peek()
        offset += 1
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "\\"): 92, UInt8(ascii: "\""): 34, UInt8(ascii: "'"): 39, UInt8(ascii: "?"): 63,
            UInt8(ascii: "a"): 7, UInt8(ascii: "b"): 8, UInt8(ascii: "f"): 12, UInt8(ascii: "n"): 10,
            UInt8(ascii: "r"): 13, UInt8(ascii: "t"): 9, UInt8(ascii: "v"): 11,
        ]
        if let byte = simple[e] {
            value.append(byte)
        } else if e >= 48 && e <= 55 {
            var code = Int(e - 48)
            var count = 1
            while count < 3, peek() >= 48, peek() <= 55 {
                code = code * 8 + Int(peek() - 48)
                offset += 1
                count += 1
            }
            if code > 255 {
                error("octal escape sequence out of range", at: escapeStart)
            } else {
                value.append(UInt8(code))
            }
        } else if e == UInt8(ascii: "x") {
            var code = 0
            var count = 0
            while count < 2, let d = hexValue(peek()) {
                code = code * 16 + d
                offset += 1
                count += 1
            }
            if count == 0 {
                error("no hex digit in hex escape sequence", at: escapeStart)
            } else {
                value.append(UInt8(code))
            }
        } else if e == UInt8(ascii: "u") || e == UInt8(ascii: "U") {
            let digits = e == UInt8(ascii: "u") ? 4 : 8
            var code: UInt32 = 0
            for _ in 0..<digits {
                guard let d = hexValue(peek()) else {
                    error("unicode escape sequence needs exactly \(digits) hex digits", at: escapeStart)
                    return
                }
                code = code * 16 + UInt32(d)
                offset += 1
            }
            guard let scalar = Unicode.Scalar(code) else {
                let text = String(decoding: bytes[escapeStart..<offset], as: UTF8.self)
                error(
                    (0xD800...0xDFFF).contains(code)
                        ? "a universal character name cannot designate a surrogate: '\(text)'"
                        : "'\(text)' is not a valid code point",
                    at: escapeStart)
                return
            }
            value += Array(String(Character(scalar)).utf8)
        } else {
            diagnostics.warning(
                "unknown-escape", "unknown escape sequence '\\\(Character(Unicode.Scalar(e)))'",
                at: location(at: escapeStart).0)
            value.append(UInt8(ascii: "\\"))
            offset -= 1
        }
    }

    private func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: Int(c - 48)
        case 97...102: Int(c - 87)
        case 65...70: Int(c - 55)
        default: nil
        }
    }
}
