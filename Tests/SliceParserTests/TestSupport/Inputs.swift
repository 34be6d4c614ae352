import Foundation
import SliceAST
import SliceParser

/// The folder of test inputs copied into the test bundle.
enum Inputs {
    static var root: String { Bundle.module.resourceURL?.appendingPathComponent("Inputs").path ?? "Inputs" }

    static func names(in folder: String, extension ext: String = "ice") -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + folder)) ?? []
        return files.filter { $0.hasSuffix("." + ext) }.map { String($0.dropLast(ext.count + 1)) }.sorted()
    }

    /// Compiles a file under `folder` and renders its diagnostics with paths relative to that folder.
    static func compile(_ name: String, in folder: String) -> (CompilationResult, String) {
        let directory = root + "/" + folder
        let result = SliceCompiler.compile(path: directory + "/" + name + ".ice")
        let text = result.diagnostics.map(\.description).joined(separator: "\n")
        return (result, text.replacingOccurrences(of: directory + "/", with: ""))
    }
}

/// Compiles inline Slice and returns the diagnostics as lines (`input.ice:line:col: …`).
func diagnostics(of source: String, includes: [String: String] = [:]) -> [String] {
    SliceCompiler.compile(source: source, includes: includes).diagnostics.map(\.description)
}
