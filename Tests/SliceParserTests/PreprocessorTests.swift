import SliceAST
import SliceParser
import Testing

@Suite("Preprocessor")
struct PreprocessorTests {
    private func run(
        _ files: [String: String], main: String = "main.ice", options: PreprocessorOptions = PreprocessorOptions()
    ) -> (PreprocessedSource, Diagnostics) {
        Preprocessor.run(path: main, options: options, provider: InMemorySourceProvider(files))
    }

    private func text(_ source: PreprocessedSource) -> [String] { source.lines.map(\.text) }

    @Test func quotedIncludesSearchTheIncludingFolderFirst() {
        let files = [
            "main.ice": "#include \"dir/a.ice\"",
            "dir/a.ice": "#include \"b.ice\"\n#include <b.ice>",
            "dir/b.ice": "near", "inc/b.ice": "far",
        ]
        let (source, diagnostics) = run(files, options: PreprocessorOptions(includePaths: ["inc"]))
        #expect(diagnostics.count == 0)
        #expect(text(source) == ["near", "far"], "<...> searches only -I folders")
        #expect(source.files.map(\.path) == ["main.ice", "dir/a.ice", "dir/b.ice", "inc/b.ice"])
        #expect(source.files.map(\.includeLevel) == [0, 1, 2, 2])
    }

    @Test func pragmaOnceAndIncludeGuards() {
        let files = [
            "main.ice": "#include \"once.ice\"\n#include \"once.ice\"\n#include \"guard.ice\"\n#include \"guard.ice\"",
            "once.ice": "#pragma once\nonce", "guard.ice": "#ifndef G\n#define G\nguarded\n#endif",
        ]
        #expect(text(run(files).0) == ["once", "guarded"])
    }

    @Test func linesKeepTheirOriginalPositions() {
        let (source, _) = run(["main.ice": "a\n#ifdef X\nskipped\n#endif\nb\n#include \"i.ice\"\nc", "i.ice": "\ni"])
        #expect(
            source.lines.map { "\(source.files[$0.file].path):\($0.line):\($0.text)" } == [
                "main.ice:1:a", "main.ice:5:b", "i.ice:1:", "i.ice:2:i", "main.ice:7:c",
            ])
    }

    @Test func objectLikeMacrosExpandOutsideStringsAndComments() {
        let (source, _) = run(
            [
                "main.ice":
                    "#define SIZE 42\n#define TWICE SIZE SIZE\nconst int S = SIZE; \"SIZE\" TWICE // SIZE\n#undef SIZE\nSIZE"
            ])
        #expect(text(source) == ["const int S = 42; \"SIZE\" 42 42 // SIZE", "SIZE"])
    }

    /// Function-like macros as mcpp (ZeroC's preprocessor) expands them.
    @Test func functionLikeMacros() {
        let source = """
            #define SEQ(T) sequence<T> T##Seq;
            #define PAIR(a, b) a##b
            #define STR(x) #x
            #define CALL(f, x) f(x)
            #define NONE() empty
            #define LOOP(x) LOOP(x) x
            SEQ(int) PAIR(Po, int) STR(a "b" c)
            CALL(SEQ, long) PAIR(x, (1, 2)) NONE() NONE SEQ (byte)
            LOOP(1) "SEQ(int)"
            #ifdef PAIR
            defined
            #endif
            #undef SEQ
            SEQ(int)
            """
        let (result, diagnostics) = run(["main.ice": source])
        #expect(diagnostics.count == 0, "\(diagnostics.map(\.description))")
        #expect(
            text(result) == [
                "sequence<int> intSeq; Point \"a \\\"b\\\" c\"",
                "sequence<long> longSeq; x(1, 2) empty NONE sequence<byte> byteSeq;",
                "LOOP(1) 1 \"SEQ(int)\"", "defined", "SEQ(int)",
            ])
    }

    /// A body that names a long argument many times stops at the expansion limit, without
    /// first building the whole text (2,000 × 30,000 bytes here).
    @Test func aFunctionLikeMacroCannotOutgrowTheLimit() {
        let body = Array(repeating: "x", count: 2000).joined(separator: " ")
        let argument = String(repeating: "a", count: 30_000)
        let (_, diagnostics) = run(["main.ice": "#define F(x) \(body)\nF(\(argument))"])
        #expect(diagnostics.map(\.code) == ["macro-expansion"])
    }

    @Test func functionLikeMacroErrors() {
        let (_, diagnostics) = run(["main.ice": "#define F(a, a) a\n#define G(a, ...) a\n#define H(x) x\nH(1, 2)"])
        #expect(
            diagnostics.map(\.description) == [
                "main.ice:1:1: error: duplicate macro parameter name",
                "main.ice:2:1: error: variadic macros are not supported",
                "main.ice:4:1: error: macro 'H' takes 1 arguments, 2 given",
            ])
    }

    @Test(arguments: [
        ("defined(A) && !defined(B)", true), ("defined A || 0", true), ("A == 3 && A * 2 > 5", true),
        ("(1 ? 0 : 1)", false), ("__ICE_VERSION__ >= 30700 && __SLICE2FLOE__", true), ("UNKNOWN", false),
        ("0x10 == 16 && 010 == 8 && -1 < 0 && (7 % 4) == 3 && (1 << 3) == 8", true),
    ])
    func conditions(expression: String, expected: Bool) {
        let (source, diagnostics) = run(["main.ice": "#define A 3\n#if \(expression)\nyes\n#else\nno\n#endif"])
        #expect(diagnostics.count == 0)
        #expect(text(source) == [expected ? "yes" : "no"])
    }

    @Test func elifChainsTakeTheFirstTrueBranch() {
        let (source, _) = run(["main.ice": "#if 0\na\n#elif 1\nb\n#elif 1\nc\n#else\nd\n#endif"])
        #expect(text(source) == ["b"])
    }

    @Test func commandLineDefinesAndUndefines() {
        let options = PreprocessorOptions(defines: [("FOO", "7")], undefines: ["__SLICE2FLOE__"])
        let (source, _) = run(["main.ice": "#if FOO == 7 && !defined(__SLICE2FLOE__)\nok\n#endif"], options: options)
        #expect(text(source) == ["ok"])
    }

    @Test func directivesInsideCommentsAreText() {
        let (source, _) = run(["main.ice": "/*\n#include \"nothing.ice\"\n*/\nafter"])
        #expect(text(source) == ["/*", "#include \"nothing.ice\"", "*/", "after"])
    }

    @Test func commentDelimitersDoNotShareBytes() {
        // `/*/` opens a comment without closing it; `*/*` closes one without opening another.
        let (source, diagnostics) = run(["main.ice": "/*/\n#bogus\n*/*\n#define X 1\n\"/*\" X"])
        #expect(diagnostics.count == 0)
        #expect(text(source) == ["/*/", "#bogus", "*/*", "\"/*\" 1"])
    }

    @Test func errorsPointAtTheDirective() {
        let (_, diagnostics) = run(["main.ice": "ok\n#include \"missing.ice\"\n#if (1\n#endif\n#endif\n#bogus"])
        #expect(
            diagnostics.map(\.description) == [
                "main.ice:2:1: error: cannot find include file 'missing.ice'",
                "main.ice:3:1: error: invalid #if expression: expected ')'",
                "main.ice:5:1: error: #endif without #if",
                "main.ice:6:1: error: unknown directive '#bogus'",
            ])
    }

    /// As in C: a macro defined empty expands to nothing, so comparing it is an error, not 0.
    @Test func anEmptyMacroInAConditionIsAnError() {
        let options = PreprocessorOptions(defines: [("EMPTY", "")])
        let (source, diagnostics) = run(
            ["main.ice": "#if defined(EMPTY) && EMPTY > 2\nyes\n#endif\nafter"], options: options)
        #expect(diagnostics.map(\.code) == ["preprocessor"], "\(diagnostics.map(\.description))")
        #expect(text(source) == ["after"])
    }

    /// cpp's `# 12 "file"` markers and `#line` are accepted (and what `-E` prints).
    @Test func lineMarkersAreAccepted() {
        let (source, diagnostics) = run(["main.ice": "# 1 \"other.ice\"\na\n#line 7 \"other.ice\"\nb"])
        #expect(diagnostics.count == 0)
        #expect(text(source) == ["a", "b"])
    }

    /// A missing include is the one error: compiling stops there, as ZeroC's compilers do,
    /// instead of also reporting every type the file would have defined.
    @Test func aPreprocessorErrorStopsTheCompile() {
        let result = SliceCompiler.compile(
            source: "#include <Ice/Identity.ice>\nmodule M { interface I { void f(Ice::Identity id); } }\n")
        #expect(
            result.diagnostics.map(\.description) == [
                "input.ice:1:1: error: cannot find include file 'Ice/Identity.ice'"
            ])
    }

    @Test func includeCyclesWithoutGuardsStop() {
        let (_, diagnostics) = run(["main.ice": "#include \"main.ice\""])
        #expect(diagnostics.map(\.code) == ["include-depth"])
    }
}
