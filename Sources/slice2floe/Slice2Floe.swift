import ArgumentParser
import Foundation
import SliceAST
import SliceParser
import SliceSwiftGen

@main
struct Slice2Floe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slice2floe",
        abstract: "Compiles Slice definitions to Swift for Floe.",
        discussion: """
            Takes the options of ZeroC's slice2swift: -IDIR, -DNAME[=DEF] and -UNAME may be glued or \
            separated. Diagnostics are printed on standard error as file:line:column: error: message \
            (or as JSON lines). The exit status is 1 when any file has an error or the command line \
            is wrong.
            """,
        version: "slice2floe 0.1.0 (Slice, Ice 3.7 dialect)"
    )

    @Option(name: .customShort("I"), help: ArgumentHelp("Add DIR to the include search path.", valueName: "DIR"))
    var includePaths: [String] = []

    @Option(name: .customShort("D"), help: ArgumentHelp("Define a preprocessor macro.", valueName: "NAME[=DEF]"))
    var defines: [String] = []

    @Option(name: .customShort("U"), help: ArgumentHelp("Remove a preprocessor macro.", valueName: "NAME"))
    var undefines: [String] = []

    @Flag(name: .customShort("E"), help: "Print the preprocessed input on standard output and stop.")
    var preprocessOnly = false

    @Option(help: ArgumentHelp("Create files in DIR.", valueName: "DIR"))
    var outputDir: String = "."

    @Flag(help: "Print make-style dependencies (to standard output or --depend-file); generate nothing.")
    var depend = false

    @Flag(help: "Print dependencies as JSON (to standard output or --depend-file); generate nothing.")
    var dependJson = false

    @Flag(help: "Print dependencies as ZeroC's XML (to standard output or --depend-file); generate nothing.")
    var dependXml = false

    @Option(
        help: ArgumentHelp(
            "Write dependencies to FILE instead of standard output (ignored without --depend*, as in ZeroC's compilers).",
            valueName: "FILE"))
    var dependFile: String?

    @Flag(name: .customLong("validate"), help: "Check the command line and stop.")
    var validateOnly = false

    @Flag(help: "Generate Swift for included files too (ZeroC's own Ice files excepted).")
    var all = false

    @Flag(name: [.customShort("d"), .long], help: "Print what the compiler does, and how long it takes.")
    var debug = false

    @Option(help: ArgumentHelp("How to print diagnostics: text or json.", valueName: "FORMAT"))
    var diagnosticsFormat: String = "text"

    @Option(
        help: ArgumentHelp(
            "Generate for Swift module NAME: top-level Slice modules without swift:module metadata all map to it.",
            valueName: "NAME"))
    var moduleName: String?

    @Option(
        help: ArgumentHelp(
            "With --module-name: only Slice files under DIR belong to that module (repeatable; default: all).",
            valueName: "DIR"))
    var moduleDir: [String] = []

    @Option(
        help: ArgumentHelp(
            "Name the Swift file and loader of SLICE NAME.swift and NAME_SliceLoader, for two Slice files of one Swift module with the same name (repeatable).",
            valueName: "SLICE=NAME"))
    var swiftName: [String] = []

    @Option(
        help: ArgumentHelp(
            "The Swift module for Slice module Ice (default: the runtime); for compiling ZeroC's own Ice files.",
            valueName: "NAME", visibility: .hidden))
    var iceModule: String?

    @Argument(help: "The Slice files to compile.")
    var files: [String] = []

    /// ZeroC's command line first (see `ZeroCArguments`), and every usage error in one line.
    static func main() {
        do {
            var command = try parseAsRoot(ZeroCArguments.normalize(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let error as ZeroCArguments.Refusal {
            fail(error.description)
        } catch {
            // ZeroC's compilers print their version on stderr, where build scripts (CMake's
            // FindIce) read it; help and a clean exit status go through as they are.
            if !(error is ExitCode), exitCode(for: error) == .success, fullMessage(for: error) == configuration.version
            {
                FileHandle.standardError.write(Data((configuration.version + "\n").utf8))
                Foundation.exit(0)
            }
            if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
            fail(message(for: error))
        }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("slice2floe: error: \(message)\n".utf8))
        Foundation.exit(1)
    }

    mutating func validate() throws {
        guard DiagnosticFormat(rawValue: diagnosticsFormat) != nil else {
            throw ValidationError("--diagnostics-format must be text or json, not '\(diagnosticsFormat)'")
        }
        guard [depend, dependJson, dependXml].filter({ $0 }).count <= 1 else {
            throw ValidationError("--depend, --depend-json and --depend-xml exclude each other")
        }
        guard !files.isEmpty else { throw ValidationError("no input file") }
        for pair in swiftName {
            let name = pair.split(separator: "=").last.map(String.init) ?? ""
            guard pair.contains("="), !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ValidationError("--swift-name takes SLICE=NAME, NAME letters, digits and _, not '\(pair)'")
            }
        }
    }

    private var printsDependencies: Bool { depend || dependJson || dependXml }

    func run() throws {
        if validateOnly { return }
        let format = DiagnosticFormat(rawValue: diagnosticsFormat) ?? .text
        let options = PreprocessorOptions(
            includePaths: includePaths,
            defines: defines.map { definition in
                guard let equals = definition.firstIndex(of: "=") else { return (definition, "1") }
                return (String(definition[..<equals]), String(definition[definition.index(after: equals)...]))
            },
            undefines: undefines)
        var failed = false
        var dependencies = Dependencies()
        /// Each Swift file written, and the Slice file it came from.
        var generated: [String: String] = [:]
        for file in files {
            if preprocessOnly {
                let (source, diagnostics) = Preprocessor.run(
                    path: file, options: options, provider: FileSystemSourceProvider())
                report(diagnostics, format)
                failed = failed || diagnostics.hasErrors
                if !diagnostics.hasErrors { print(source.render(), terminator: "") }
                continue
            }
            let start = ContinuousClock.now
            let result = SliceCompiler.compile(path: file, options: options)
            trace("compiled \(file) (\(result.dependencies.count) files read) in \(ContinuousClock.now - start)")
            report(result.diagnostics, format)
            failed = failed || result.diagnostics.hasErrors
            guard !result.diagnostics.hasErrors else { continue }
            if printsDependencies {
                dependencies.add(file, result.dependencies, target: swiftBase(for: file) + ".swift")
                continue
            }
            let problems = SwiftGenerator(unit: result.unit, options: generatorOptions).check()
            report(problems, format)
            guard !problems.hasErrors else {
                failed = true
                continue
            }
            failed = !writeSwift(for: file, result: result, done: &generated) || failed
            if all {
                for included in result.dependencies.dropFirst() where !isZeroCIceFile(included) {
                    // Compiled on its own, an included file may fail where it compiled inside the
                    // first (a macro it relies on): say so, and write nothing for it.
                    let included = SliceCompiler.compile(path: included, options: options)
                    report(included.diagnostics, format)
                    guard !included.diagnostics.hasErrors else {
                        failed = true
                        continue
                    }
                    failed = !writeSwift(for: included.dependencies[0], result: included, done: &generated) || failed
                }
            }
        }
        if printsDependencies {
            let text = dependJson ? dependencies.json() : dependXml ? dependencies.xml() : dependencies.make()
            if let dependFile {
                do {
                    try text.write(toFile: dependFile, atomically: true, encoding: .utf8)
                } catch {
                    reportFailure("cannot write '\(dependFile)': \(Self.reason(error))")
                    failed = true
                }
            } else {
                print(text, terminator: "")
            }
        }
        if failed { throw ExitCode(1) }
    }

    private var generatorOptions: GeneratorOptions {
        var options = GeneratorOptions(iceModule: iceModule, moduleName: moduleName)
        let names = swiftNames
        if !names.isEmpty { options.swiftFileName = { names[Self.absolute($0)] } }
        if !moduleDir.isEmpty {
            let directories = moduleDir.map { Self.absolute($0) + "/" }
            options.isInModule = { file in
                let path = Self.absolute(file)
                return directories.contains { path.hasPrefix($0) }
            }
        }
        return options
    }

    /// `path` made absolute against the current directory, without `.` and `..` components.
    static func absolute(_ path: String) -> String {
        let url = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return url.standardizedFileURL.path
    }

    /// `--swift-name` by absolute Slice path.
    private var swiftNames: [String: String] {
        var names: [String: String] = [:]
        for pair in swiftName {
            guard let equals = pair.lastIndex(of: "=") else { continue }
            names[Self.absolute(String(pair[..<equals]))] = String(pair[pair.index(after: equals)...])
        }
        return names
    }

    /// The base name of the Swift file generated from `file`: its own, or `--swift-name`'s.
    private func swiftBase(for file: String) -> String {
        swiftNames[Self.absolute(file)] ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension
    }

    private func outputPath(for file: String) -> String {
        (outputDir as NSString).appendingPathComponent(swiftBase(for: file) + ".swift")
    }

    /// ZeroC's (or Floe's) own `Ice/*.ice`: their types are the runtime's, never generated again.
    private func isZeroCIceFile(_ path: String) -> Bool {
        iceModule == nil && (path as NSString).deletingLastPathComponent.hasSuffix("/Ice")
    }

    /// Writes `<output-dir>/<Base>.swift`, unless it already holds exactly that text (so build
    /// systems do not rebuild for nothing). False, with the reason printed, when it cannot: the
    /// directory cannot be made or written, or another Slice file of this run has the same base
    /// name (ZeroC's compilers overwrite the first file's output without a word).
    private func writeSwift(for file: String, result: CompilationResult, done: inout [String: String]) -> Bool {
        let path = outputPath(for: file)
        if let first = done[path] {
            guard Self.absolute(first) != Self.absolute(file) else { return true }
            reportFailure(
                "\(file) and \(first) would both generate \(path): name one with --swift-name \(file)=NAME")
            return false
        }
        done[path] = file
        let base = swiftBase(for: file)
        // `a-b.ice` and `a_b.ice` write two files but would both define `a_b_SliceLoader`.
        let loader = SwiftGenerator.loaderName(base)
        if let first = done[loader], Self.absolute(first) != Self.absolute(file) {
            reportFailure("\(file) and \(first) would both define \(loader): name one with --swift-name \(file)=NAME")
            return false
        }
        done[loader] = file
        let start = ContinuousClock.now
        let generated = SwiftGenerator(
            unit: result.unit, options: generatorOptions
        )
        .generate(fileName: base + ".swift", sourcePath: file)
        trace("generated \(path) in \(ContinuousClock.now - start)")
        do {
            try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
        } catch {
            reportFailure(
                "cannot create the output directory '\(outputDir)': \(Self.fileInTheWay(of: outputDir) ?? Self.reason(error))"
            )
            return false
        }
        if let existing = try? String(contentsOfFile: path, encoding: .utf8), existing == generated.contents {
            return true
        }
        do {
            try generated.contents.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            reportFailure("cannot write '\(path)': \(Self.reason(error))")
            return false
        }
        return true
    }

    /// An error of the run rather than of a Slice file (a file that cannot be written), printed
    /// as diagnostics are, in `--diagnostics-format`.
    private func reportFailure(_ message: String) {
        var diagnostics = Diagnostics()
        diagnostics.error("file-system", message, at: nil)
        report(diagnostics, DiagnosticFormat(rawValue: diagnosticsFormat) ?? .text)
    }

    /// "'x' is a file" when an existing file stands where `directory` or one of its parents should
    /// be (Foundation reports that only as "error 512").
    private static func fileInTheWay(of directory: String) -> String? {
        var prefix = directory.hasPrefix("/") ? "/" : ""
        for component in directory.split(separator: "/") {
            prefix = (prefix as NSString).appendingPathComponent(String(component))
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: prefix, isDirectory: &isDirectory) else { return nil }
            if !isDirectory.boolValue { return "'\(prefix)' is a file" }
        }
        return nil
    }

    /// A file-system failure in the system's words ("Not a directory"), not Foundation's dump.
    private static func reason(_ error: any Error) -> String {
        let error = error as NSError
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if error.domain == NSCocoaErrorDomain, error.code == CocoaError.fileWriteFileExists.rawValue {
            return "a file of that name is in the way"
        }
        return error.localizedDescription
    }

    private func report(_ diagnostics: Diagnostics, _ format: DiagnosticFormat) {
        guard diagnostics.count > 0 else { return }
        FileHandle.standardError.write(Data(format.render(diagnostics).utf8))
    }

    private func trace(_ message: @autoclosure () -> String) {
        guard debug else { return }
        FileHandle.standardError.write(Data("slice2floe: \(message())\n".utf8))
    }
}
