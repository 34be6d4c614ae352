import SliceAST
import SliceParser
import TestSupport
import Testing

/// Slice written to hang or crash the compiler ends quickly with a clear error (issue 13).
@Suite("Hostile Slice", .timeLimit(.minutes(1)))
struct HostileSliceTests {
    /// (Off the cooperative pool: some of these take seconds of CPU.)
    private func preprocess(_ files: [String: String]) async -> (PreprocessedSource, [String]) {
        await offPool {
            let (source, diagnostics) = Preprocessor.run(
                path: "main.ice", options: PreprocessorOptions(), provider: InMemorySourceProvider(files))
            return (source, diagnostics.map(\.description))
        }
    }

    @Test func aMacroIsNotExpandedInsideItsOwnExpansion() async {
        let (source, errors) = await preprocess(["main.ice": "#define X X X\nX\n#define A B\n#define B A\nA"])
        #expect(errors.isEmpty, "\(errors)")
        #expect(source.lines.map(\.text) == ["X X", "A"])
    }

    @Test func aSelfReferentialMacroInAConditionEvaluates() async {
        let (source, errors) = await preprocess([
            "main.ice": "#define X X X\n#if X\nyes\n#endif\n#if defined(X)\nd\n#endif"
        ])
        // `X X` is not a valid expression: an error, not a hang.
        #expect(errors.count == 1 && errors[0].contains("invalid #if expression"), "\(errors)")
        #expect(source.lines.map(\.text) == ["d"])
    }

    /// Each macro doubles the one before: 2^40 characters if expanded naively.
    @Test func exponentialExpansionIsRefused() async {
        var lines = (0..<40).map { "#define M\($0) M\($0 + 1) M\($0 + 1)" }
        lines += ["#define M40 x", "M0", "#if M0", "#endif"]
        let (_, errors) = await preprocess(["main.ice": lines.joined(separator: "\n")])
        #expect(errors.count == 2, "\(errors)")
        #expect(errors.allSatisfy { $0.contains("exceeds") }, "\(errors)")
    }

    @Test func longMacroChainsAreRefused() async {
        var lines = (0..<100_000).map { "#define M\($0) M\($0 + 1)" }
        lines.append("M0")
        let (_, errors) = await preprocess(["main.ice": lines.joined(separator: "\n")])
        #expect(errors.count == 1 && errors[0].contains("more than 200 deep"), "\(errors)")
    }

    /// A file without guards that includes itself twice: 2^100 inclusions within the depth
    /// limit. The first path to reach the limit ends preprocessing.
    @Test func includeCyclesStopAtTheDepthLimit() async {
        let (source, errors) = await preprocess(["main.ice": "#include \"main.ice\"\n#include \"main.ice\"\nx"])
        #expect(errors.count == 1 && errors[0].contains("nested too deeply"), "\(errors)")
        #expect(source.lines.isEmpty)
    }

    /// Without a cycle: 40 includes of a file that includes another 40 times.
    @Test func includeFanOutIsRefused() async {
        let forty = { (name: String) in String(repeating: "#include \"\(name)\"\n", count: 40) }
        let (source, errors) = await preprocess(["main.ice": forty("a.ice"), "a.ice": forty("b.ice"), "b.ice": "x"])
        #expect(
            errors.count == 1 && errors[0].contains("more than 1000 files included (a file without #pragma once"),
            "\(errors)")
        #expect(source.lines.isEmpty)
    }

    /// The same fan-out of `#pragma once` files is no explosion: the files met again are skipped
    /// before they count (1,280 includes of two such files, common in a large project, were
    /// refused).
    @Test func includesOfOnceFilesDoNotCount() async {
        let forty = { (name: String) in String(repeating: "#include \"\(name)\"\n", count: 40) }
        let (source, errors) = await preprocess([
            "main.ice": forty("a.ice") + String(repeating: forty("b.ice"), count: 30),
            "a.ice": "#pragma once\n" + forty("b.ice") + "a",
            "b.ice": "#pragma once\nb",
        ])
        #expect(errors.isEmpty, "\(errors)")
        #expect(source.lines.map(\.text) == ["b", "a"])
    }

    /// The same with include guards, as older Slice has them: a guarded file met again while its
    /// macro is defined is skipped before it counts. A file with anything outside its guard is
    /// read each time.
    @Test func includesOfGuardedFilesDoNotCount() async {
        let forty = { (name: String) in String(repeating: "#include \"\(name)\"\n", count: 40) }
        let guarded = { (macro: String, body: String) in
            "// Copyright line\n/* a block\n comment */\n#ifndef \(macro)\n#define \(macro)\n\(body)\n#endif // \(macro)\n\n"
        }
        let (source, errors) = await preprocess([
            "main.ice": forty("a.ice") + String(repeating: forty("b.ice"), count: 30) + forty("c.ice"),
            "a.ice": guarded("A_ICE", forty("b.ice") + "a"), "b.ice": guarded("B_ICE", "b"),
            "c.ice": guarded("C_ICE", "c") + "after",
        ])
        #expect(errors.isEmpty, "\(errors)")
        // Read each time: text after `/*/ … */` (the `*` of `/*/` opens a comment, not closes
        // it), and a guard with an `#else`.
        let (twice, twiceErrors) = await preprocess([
            "main.ice": "#include \"d.ice\"\n#include \"d.ice\"\n#include \"f.ice\"\n#include \"f.ice\"",
            "d.ice": guarded("D_ICE", "d") + "/*/ // */ after-d", "f.ice": guarded("F_ICE", "f\n#else\nnot-f"),
        ])
        #expect(twiceErrors.isEmpty, "\(twiceErrors)")
        #expect(twice.lines.filter { $0.text.hasSuffix("after-d") }.count == 2, "\(twice.lines.map(\.text))")
        #expect(twice.lines.map(\.text).filter { ["f", "not-f"].contains($0) } == ["f", "not-f"])
        #expect(
            source.lines.map(\.text).filter { ["a", "b", "c", "after"].contains($0) } == ["b", "a", "c"]
                + Array(repeating: "after", count: 40))
    }

    @Test(arguments: [5_000, 100_000])
    func deeplyNestedModulesAreRefused(depth: Int) async {
        let source =
            String(repeating: "module M { ", count: depth) + "struct S { int i; }"
            + String(repeating: " }", count: depth)
        let errors = await offPool { SliceCompiler.compile(source: source).diagnostics.map(\.description) }
        #expect(
            errors == ["input.ice:1:\(100 * 11 + 8): error: modules nested more than 100 deep"], "\(errors.prefix(3))")
    }

    @Test(arguments: ["(", "!", "- "])
    func deeplyNestedConditionsAreRefused(prefix: String) async {
        let closing = prefix == "(" ? String(repeating: ")", count: 100_000) : ""
        let (_, errors) = await preprocess([
            "main.ice": "#if " + String(repeating: prefix, count: 100_000) + "1" + closing + "\n#endif"
        ])
        #expect(errors.count == 1 && errors[0].contains("nested more than 200 deep"), "\(errors)")
    }
}
