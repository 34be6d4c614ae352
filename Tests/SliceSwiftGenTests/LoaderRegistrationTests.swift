import Foundation
import SliceAST
import SliceParser
import SliceSwiftGen
import Testing

/// Which Slice loaders a generated file registers: its own, and those of included files whose
/// classes or exceptions its operations may receive. A file it includes but does not use need
/// not be generated at all (IceStorm.ice includes IceStorm/Metrics.ice and uses none of it).
@Suite("Slice loader registration")
struct LoaderRegistrationTests {
    @Test func onlyIncludedFilesWhoseTypesCanArriveAreRegistered() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("floe-loaders-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = [
            "Shapes.ice": "#pragma once\nmodule S { class Shape { int id; } exception Broken {} }",
            "Circles.ice": "#pragma once\n#include <Shapes.ice>\nmodule S { class Circle extends Shape { double r; } }",
            "Stats.ice": "#pragma once\nmodule S { class Stat { long n; } exception StatError {} }",
            "Main.ice": """
            #include <Circles.ice>
            #include <Stats.ice>
            module S { interface Drawer { Shape get() throws Broken; } }
            """,
        ]
        for (name, text) in files {
            try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let result = SliceCompiler.compile(
            path: folder.appendingPathComponent("Main.ice").path,
            options: PreprocessorOptions(includePaths: [folder.path]))
        #expect(!result.diagnostics.hasErrors, "\(result.diagnostics.map(\.description))")
        let generated = SwiftGenerator(unit: result.unit, options: GeneratorOptions(moduleName: "T"))
            .generate(fileName: "Main.swift", sourcePath: "Main.ice").contents
        let registration = generated.split(separator: "\n").first { $0.contains("GeneratedSliceLoaders.register(") }
        // Shape is returned, Broken thrown, a Circle may arrive as a Shape; nothing of Stats.ice can.
        #expect(
            registration?.hasSuffix("register(Circles_SliceLoader(), Shapes_SliceLoader())") == true,
            "\(registration ?? "none")")
    }
}
