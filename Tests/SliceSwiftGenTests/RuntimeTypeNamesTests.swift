import Foundation
import SliceAST
import SliceParser
import SliceSwiftGen
import Testing

/// A Slice module named like a runtime type cannot be named from generated code in another
/// Swift module (`Transport.Packet` is FloeCore's `Transport`): slice2floe says so. The list it
/// checks against must stay the runtime's.
@Suite("Runtime type names")
struct RuntimeTypeNamesTests {
    @Test func theListIsTheRuntimesTopLevelPublicTypes() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Sources")
        let declaration = try Regex(
            #"^(?:public (?:final |indirect )?(?:class|struct|enum|protocol|actor|typealias)|open class) (\w+)"#
        )
        .anchorsMatchLineEndings()
        var names: Set<String> = []
        for module in ["FloeCore", "FloeEncoding", "FloeProtocol"] {
            let folder = sources.appendingPathComponent(module)
            let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)
            while let file = files?.nextObject() as? URL {
                guard file.pathExtension == "swift" else { continue }
                let text = try String(contentsOf: file, encoding: .utf8)
                for match in text.matches(of: declaration) {
                    if let name = match.output[1].substring { names.insert(String(name)) }
                }
            }
        }
        #expect(names.count > 50, "the runtime's sources were not found at \(sources.path)")
        #expect(names.subtracting(SwiftGenerator.runtimeTypeNames).sorted() == [], "missing from the list")
        #expect(SwiftGenerator.runtimeTypeNames.subtracting(names).sorted() == [], "no longer in the runtime")
    }

    @Test func aTypeInAModuleNamedLikeARuntimeTypeIsAnErrorWhereItIsUsed() {
        let source = """
            #include "Transport.ice"
            module App { interface I { void send(Transport::Packet p); } }
            """
        let result = SliceCompiler.compile(
            source: source, includes: ["Transport.ice": "module Transport { struct Packet { int a; } }\n"])
        let problems = SwiftGenerator(unit: result.unit).check()
        #expect(
            problems.map(\.description) == [
                "input.ice:2:38: error: 'Transport::Packet' is in Swift module 'Transport', which generated code cannot name: Floe's runtime has a type 'Transport'; give the Slice module [\"swift:module:OtherName\"] metadata"
            ])
        // In one Swift module the type is named unqualified: nothing to report.
        let one = SwiftGenerator(unit: result.unit, options: GeneratorOptions(moduleName: "App")).check()
        #expect(one.count == 0)
    }
}
