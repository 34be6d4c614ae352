import SliceAST
import SliceParser
import Testing

@Suite("Lexer")
struct LexerTests {
    private func tokens(_ text: String) -> ([TokenKind], [String]) {
        let (source, _) = Preprocessor.run(
            path: "t.ice", options: PreprocessorOptions(), provider: InMemorySourceProvider(["t.ice": text]))
        var lexer = Lexer(source: source)
        let tokens = lexer.tokenize().map(\.kind).dropLast()
        return (Array(tokens), lexer.diagnostics.map(\.description))
    }

    @Test func integerLiterals() {
        let (kinds, errors) = tokens("0 42 -7 +5 0x1F 017 9223372036854775807 -9223372036854775808")
        #expect(errors.isEmpty)
        let values: [Int64?] = kinds.map { if case .integer(_, let v) = $0 { v } else { nil } }
        #expect(values == [0, 42, -7, 5, 31, 15, .max, .min])
        #expect(
            tokens("9223372036854775808").1 == ["t.ice:1:1: error: integer constant '9223372036854775808' out of range"]
        )
        // `0XFF` is not a hex literal: it is 0 followed by the identifier XFF.
        #expect(tokens("0XFF").0 == [.integer(text: "0", value: 0), .identifier("XFF", escaped: false)])
    }

    @Test func floatingLiterals() {
        let (kinds, _) = tokens("1.5 .5 3. 1e10 2.5E-3f -1.0")
        let values: [Double?] = kinds.map { if case .float(_, let v) = $0 { v } else { nil } }
        #expect(values == [1.5, 0.5, 3, 1e10, 2.5e-3, -1])
        #expect(tokens("1e400").1 == ["t.ice:1:1: error: floating-point constant '1e400' out of range"])
    }

    @Test func stringEscapes() {
        let (kinds, errors) = tokens(#""a\tb\101\x41\u00e9\U0001F600\\\"" "café""#)
        #expect(errors.isEmpty)
        #expect(kinds == [.string("a\tbAA\u{e9}\u{1F600}\\\""), .string("café")])
        #expect(tokens(#""\x0ab""#).0 == [.string("\nb")], "hex escapes take at most two digits")
        #expect(tokens(#""\q""#).0 == [.string("\\q")])
        #expect(tokens(#""\u12""#).1 == ["t.ice:1:2: error: unicode escape sequence needs exactly 4 hex digits"])
        #expect(tokens("\"open").1 == ["t.ice:1:1: error: unterminated string literal"])
    }

    @Test func namesKeywordsAndPunctuation() {
        let (kinds, _) = tokens("module \\module A::B ::C Struct [[ ]] [ ] < > ( ) { } , ; = * :")
        #expect(
            kinds == [
                .keyword(.module), .identifier("module", escaped: true), .identifier("A::B", escaped: false),
                .identifier("::C", escaped: false), .identifier("Struct", escaped: false), .leftDoubleBracket,
                .rightDoubleBracket, .leftBracket, .rightBracket, .less, .greater, .leftParen, .rightParen, .leftBrace,
                .rightBrace, .comma, .semicolon, .equals, .star, .colon,
            ])
    }

    @Test func illegalCharactersAreReportedWithTheirPosition() {
        #expect(tokens("a\n  $ b").1 == ["t.ice:2:3: error: illegal input character: '$'"])
    }

    @Test func docCommentsAttachToTheNextToken() {
        let (source, _) = Preprocessor.run(
            path: "t.ice", options: PreprocessorOptions(),
            provider: InMemorySourceProvider(["t.ice": "/** first */ a /* plain */ b /**\n * second\n **/ c"]))
        var lexer = Lexer(source: source)
        #expect(lexer.tokenize().map(\.doc) == [" first ", nil, "\n * second\n *", nil])
    }
}
