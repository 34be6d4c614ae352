import ArgumentParser
import Foundation
import SliceAST
import SliceParser
import SliceSwiftGen

@main
struct Slice2Floe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slice2floe",
        abstract: "Compiles Slice definitions for Floe.",
        discussion: """
            Diagnostics are printed as file:line:column: error: message. The exit status is 1 when \
            any file has an error.
            """,
        version: "slice2floe 0.1.0 (Slice, Ice 3.7 dialect)"
    )

    @Option(name: .customShort("I"), help: ArgumentHelp("Add DIR to the include search path.", valueName: "DIR"))
    var includePaths: [String] = []

    @Option(name: .customShort("D"), help: ArgumentHelp("Define a preprocessor macro.", valueName: "NAME[=VALUE]"))
    var defines: [String] = []

    @Option(name: .customShort("U"), help: ArgumentHelp("Remove a preprocessor macro.", valueName: "NAME"))
    var undefines: [String] = []

    @Flag(name: .customShort("E"), help: "Print the preprocessed input and stop.")
    var preprocessOnly = false

    @Flag(name: .customLong("validate"), help: "Check the input only; write nothing.")
    var validateOnly = false

    @Flag(help: "Print make-style dependencies of each file and stop.")
    var depend = false

    @Option(help: ArgumentHelp("Where generated files go.", valueName: "DIR"))
    var outputDir: String = "."

    @Option(
        help: ArgumentHelp(
            "The Swift module for Slice module Ice (default: the runtime); for compiling ZeroC's own Ice files.",
            valueName: "NAME", visibility: .hidden))
    var iceModule: String?

    @Argument(help: "The Slice files to compile.")
    var files: [String] = []

    func run() throws {
        guard !files.isEmpty else { throw ValidationError("no input file") }
        let options = PreprocessorOptions(
            includePaths: includePaths,
            defines: defines.map { definition in
                guard let equals = definition.firstIndex(of: "=") else { return (definition, "1") }
                return (String(definition[..<equals]), String(definition[definition.index(after: equals)...]))
            },
            undefines: undefines)
        var failed = false
        for file in files {
            if preprocessOnly {
                let (source, diagnostics) = Preprocessor.run(
                    path: file, options: options, provider: FileSystemSourceProvider())
                report(diagnostics)
                failed = failed || diagnostics.hasErrors
                if !diagnostics.hasErrors { print(source.render(), terminator: "") }
                continue
            }
            let result = SliceCompiler.compile(path: file, options: options)
            report(result.diagnostics)
            failed = failed || result.diagnostics.hasErrors
            if !validateOnly, !depend, !result.diagnostics.hasErrors {
                try writeSwift(for: file, result: result)
            }
            if depend, !result.diagnostics.hasErrors {
                let base = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                let target = (outputDir as NSString).appendingPathComponent(base + ".swift")
                print(([target + ":"] + result.dependencies).joined(separator: " \\\n  "))
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// Writes `<output-dir>/<Base>.swift`, unless it already holds exactly that text (so build
    /// systems do not rebuild for nothing).
    private func writeSwift(for file: String, result: CompilationResult) throws {
        let base = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let generated = SwiftGenerator(unit: result.unit, options: GeneratorOptions(iceModule: iceModule))
            .generate(fileName: base + ".swift", sourcePath: file)
        try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
        let path = (outputDir as NSString).appendingPathComponent(generated.name)
        if let existing = try? String(contentsOfFile: path, encoding: .utf8), existing == generated.contents { return }
        try generated.contents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    private func report(_ diagnostics: Diagnostics) {
        guard diagnostics.count > 0 else { return }
        let text = diagnostics.map(\.description).joined(separator: "\n") + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
