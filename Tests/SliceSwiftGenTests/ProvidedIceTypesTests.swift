import Foundation
import SliceAST
import SliceParser
import SliceSwiftGen
import Testing

/// The generator's list of the Ice types Floe provides is what Floe's `Slice/Ice` defines.
@Suite("Provided Ice types")
struct ProvidedIceTypesTests {
    @Test func theListMatchesFloesSliceFiles() throws {
        let slice = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Slice")
        let files = try FileManager.default.contentsOfDirectory(atPath: slice.appendingPathComponent("Ice").path)
            .filter { $0.hasSuffix(".ice") }
        #expect(files.count >= 8)
        var defined: Set<String> = ["::Ice::Object"]
        for file in files {
            let result = SliceCompiler.compile(
                path: slice.appendingPathComponent("Ice/" + file).path,
                options: PreprocessorOptions(includePaths: [slice.path]))
            #expect(!result.diagnostics.hasErrors, "\(file): \(result.diagnostics.map(\.description))")
            func walk(_ definitions: [Definition]) {
                for definition in definitions where definition.info.includeLevel == 0 && !definition.info.isLocal {
                    switch definition {
                    case .module(let m): walk(m.contents)
                    case .forward, .const: break
                    default: defined.insert(definition.info.scopedName)
                    }
                }
            }
            walk(result.unit.definitions)
        }
        #expect(defined == SwiftGenerator.providedIceTypes)
    }
}
