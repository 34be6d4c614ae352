import Foundation
import SliceAST
import SliceParser
import SliceSwiftGen
import Testing

/// The Slice files compiled by the GeneratedCodeTests target generate exactly the checked-in
/// Swift in `Golden/`. After an intended change, regenerate with `Tools/scripts/update-goldens.sh`
/// and review the diff: it is the change users will see in their generated code.
@Suite("Generated Swift goldens")
struct GoldenTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let inputs = repository.appendingPathComponent("Tests/GeneratedCodeTests")
    static let goldens = repository.appendingPathComponent("Tests/SliceSwiftGenTests/Golden")

    static var names: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: inputs.path)) ?? []
        return files.filter { $0.hasSuffix(".ice") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// An unreadable folder would make the parameterized test below run no case and pass.
    @Test func everyGoldenHasItsInput() throws {
        let expected = try FileManager.default.contentsOfDirectory(atPath: Self.goldens.path)
            .filter { $0.hasSuffix(".swift.expected") }.map { String($0.dropLast(".swift.expected".count)) }.sorted()
        #expect(!Self.names.isEmpty && Self.names == expected)
    }

    @Test(arguments: names)
    func generatedSwiftMatchesGolden(name: String) throws {
        let result = SliceCompiler.compile(
            path: Self.inputs.appendingPathComponent(name + ".ice").path,
            options: PreprocessorOptions(
                includePaths: [Self.inputs.path, Self.repository.appendingPathComponent("Slice").path]))
        #expect(!result.diagnostics.hasErrors, "\(result.diagnostics.map(\.description))")
        // As the build plugin compiles them: all into the target's module.
        let generated = SwiftGenerator(unit: result.unit, options: GeneratorOptions(moduleName: "GeneratedCodeTests"))
            .generate(fileName: name + ".swift", sourcePath: name + ".ice")
        let expected = try String(
            contentsOf: Self.goldens.appendingPathComponent(name + ".swift.expected"), encoding: .utf8)
        let actualLines = generated.contents.split(separator: "\n", omittingEmptySubsequences: false)
        let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
        if let first = zip(actualLines, expectedLines).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            Issue.record(
                "line \(first.offset + 1) differs:\n- \(first.element.1)\n+ \(first.element.0)\n(run Tools/scripts/update-goldens.sh)"
            )
        }
        #expect(actualLines.count == expectedLines.count)
    }

    @Test func everyInputHasAGolden() {
        #expect(Self.names.count >= 3)
        for name in Self.names {
            #expect(
                FileManager.default.fileExists(
                    atPath: Self.goldens.appendingPathComponent(name + ".swift.expected").path))
        }
    }
}
