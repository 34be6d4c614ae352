import Foundation
import Testing
import VectorFixtures

/// Every captured vector is used by some test: its name appears, quoted, in a test of this
/// target or of GeneratedCodeTests (which drive generated code and connections with them),
/// outside `@Test(...)` names.
/// Read from the test sources, so a vector whose test is deleted is reported.
@Test("every vector file has its test")
func everyVectorHasATest() throws {
    let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    var sources = ""
    for folder in ["FloeProtocolTests", "GeneratedCodeTests"] {
        let directory = tests.appendingPathComponent(folder)
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".swift") {
            guard file != URL(fileURLWithPath: #filePath).lastPathComponent else { continue }
            // A test's display name is not a use of the vector.
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            sources += text.split(separator: "\n").filter { !$0.contains("@Test(") }.joined(separator: "\n")
        }
    }
    #expect(VectorFile.allNames.count == 52)
    let untested = VectorFile.allNames.filter { !sources.contains("\"\($0)\"") }
    #expect(untested.isEmpty, "vectors no test uses: \(untested)")
}
