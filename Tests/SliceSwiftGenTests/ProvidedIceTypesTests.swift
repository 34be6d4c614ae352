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

    /// Operations are part of the Swift API by their parameters' names: Slice that extends an
    /// Ice interface from ZeroC's own files (`interface R extends ::Ice::LocatorRegistry`, with
    /// `-I/usr/share/ice/slice`) generates code that calls the runtime's protocol by those
    /// names. Each operation Floe's `Slice/Ice` defines reads as in ZeroC's file of that name.
    @Test func operationsReadAsInZeroCsSliceFiles() throws {
        let zeroc = "/usr/share/ice/slice"
        guard FileManager.default.fileExists(atPath: zeroc + "/Ice/Locator.ice") else {
            #expect(
                ProcessInfo.processInfo.environment["CI"] != "true", "\(zeroc) missing: apt-get install zeroc-ice-slice"
            )
            return
        }
        let slice = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Slice")
        var compared = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: slice.appendingPathComponent("Ice").path)
        where file.hasSuffix(".ice") && FileManager.default.fileExists(atPath: zeroc + "/Ice/" + file) {
            let ours = Self.signatures(slice.appendingPathComponent("Ice/" + file).path, includePath: slice.path)
            let theirs = Self.signatures(zeroc + "/Ice/" + file, includePath: zeroc)
            for (operation, signature) in ours {
                #expect(theirs[operation] == signature, "\(file): \(operation)")
                compared += 1
            }
        }
        #expect(compared >= 10)
    }

    /// `::Ice::LocatorRegistry::setAdapterDirectProxy` → `idempotent (string id, ::Ice::Object* proxy)`.
    private static func signatures(_ path: String, includePath: String) -> [String: String] {
        let result = SliceCompiler.compile(path: path, options: PreprocessorOptions(includePaths: [includePath]))
        var found: [String: String] = [:]
        func type(_ ref: TypeRef?) -> String {
            guard let ref else { return "void" }
            switch ref.resolved {
            case .builtin(let builtin)?: return "\(builtin)"
            case .proxy(let name)?: return name + "*"
            case .user(let name, _)?: return name
            case nil: return "?"
            }
        }
        func walk(_ definitions: [Definition]) {
            for definition in definitions where definition.info.includeLevel == 0 && !definition.info.isLocal {
                switch definition {
                case .module(let m): walk(m.contents)
                case .interfaceDef(let i):
                    for op in i.operations {
                        let parameters = op.parameters.map {
                            ($0.isOut ? "out " : "") + type($0.type) + " " + $0.info.name.name
                        }
                        found[i.info.scopedName + "::" + op.info.name.name] =
                            (op.isIdempotent ? "idempotent " : "") + type(op.returnType) + " ("
                            + parameters.joined(separator: ", ") + ")"
                    }
                default: break
                }
            }
        }
        walk(result.unit.definitions)
        return found
    }
}
