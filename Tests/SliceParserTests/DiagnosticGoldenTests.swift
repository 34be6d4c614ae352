import Foundation
import SliceAST
import SliceParser
import TestSupport
import Testing

/// Each `Inputs/diagnostics/NAME.ice` produces exactly the diagnostics in `NAME.err`
/// (regenerate with `Tools/scripts/update-goldens.sh` and review the diff).
@Suite("Diagnostics goldens")
struct DiagnosticGoldenTests {
    @Test(arguments: Inputs.names(in: "diagnostics"))
    func expectedDiagnostics(name: String) throws {
        let (result, text) = Inputs.compile(name, in: "diagnostics")
        let expected = try String(
            contentsOfFile: Inputs.root + "/diagnostics/" + name + ".err", encoding: .utf8)
        #expect(text == expected.trimmingCharacters(in: .newlines))
        #expect(result.diagnostics.count > 0, "every golden case must produce a diagnostic")
    }

    @Test func thereAreAtLeastSixtyCases() {
        #expect(Inputs.names(in: "diagnostics").count >= 60)
        #expect(Inputs.names(in: "diagnostics") == Inputs.names(in: "diagnostics", extension: "err"))
    }

    /// The inputs are listed from the bundle at run time: an empty list would pass vacuously.
    @Test func theValidInputsAreAllThere() {
        #expect(Inputs.names(in: "valid").count == 8)
    }

    @Test(arguments: Inputs.names(in: "valid"))
    func validInputHasNoDiagnostic(name: String) {
        let (_, text) = Inputs.compile(name, in: "valid")
        #expect(text == "")
    }

    /// Every .ice file of Debian's zeroc-ice-slice is accepted (Tools/test.sh installs it).
    @Test func zerocCorpusIsAccepted() async throws {
        let root = "/usr/share/ice/slice"
        let enumerator = try #require(
            FileManager.default.enumerator(atPath: root), "zeroc-ice-slice is not installed; run Tools/test.sh")
        let files = enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".ice") }.sorted()
        #expect(files.count >= 60)
        let errors = await offPool {
            files.flatMap { file in
                SliceCompiler.compile(path: root + "/" + file, options: PreprocessorOptions(includePaths: [root]))
                    .diagnostics.filter { $0.severity == .error }.map { "\(file): \($0)" }
            }
        }
        #expect(errors.isEmpty, "\(errors)")
    }
}
