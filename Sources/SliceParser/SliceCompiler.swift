import Foundation
public import SliceAST

/// What compiling one Slice file produces: the checked syntax tree and every diagnostic.
public struct CompilationResult: Sendable {
    public var unit: CompilationUnit
    public var diagnostics: Diagnostics
    /// Every file read, the compiled file first.
    public var dependencies: [String]
}

/// The front end's entry point:
///
/// ```
/// .ice ──preprocess──> lines ──scan──> tokens ──parse──> syntax tree ──analyze──> checked tree + diagnostics
/// ```
public enum SliceCompiler {
    /// Preprocesses, parses and checks the file at `path` (and the files it includes).
    public static func compile(
        path: String, options: PreprocessorOptions = PreprocessorOptions(),
        provider: any SourceProvider = FileSystemSourceProvider()
    ) -> CompilationResult {
        let (source, preprocessorDiagnostics) = Preprocessor.run(path: path, options: options, provider: provider)
        var diagnostics = preprocessorDiagnostics
        // As ZeroC's compilers do: what follows a preprocessor error (a missing include above
        // all) would only report its consequences, such as every type the include defines.
        guard !preprocessorDiagnostics.hasErrors else {
            return CompilationResult(
                unit: CompilationUnit(files: source.files),
                diagnostics: diagnostics.sorted(fileOrder: source.dependencies),
                dependencies: source.dependencies)
        }
        var lexer = Lexer(source: source)
        let tokens = lexer.tokenize()
        for d in lexer.diagnostics { diagnostics.append(d) }
        var parser = Parser(tokens: tokens, files: source.files)
        var unit = parser.parseUnit()
        for d in parser.diagnostics { diagnostics.append(d) }
        var analyzer = SemanticAnalyzer(unit: unit)
        unit = analyzer.run()
        for d in analyzer.diagnostics { diagnostics.append(d) }
        diagnostics = Self.applyingSuppressions(diagnostics, files: unit.files)
        return CompilationResult(
            unit: unit, diagnostics: diagnostics.sorted(fileOrder: source.dependencies),
            dependencies: source.dependencies)
    }

    /// Compiles Slice text held in memory, as if it were the file `path`; handy in tests.
    public static func compile(
        source: String, path: String = "input.ice", includes: [String: String] = [:],
        options: PreprocessorOptions = PreprocessorOptions()
    ) -> CompilationResult {
        var files = includes
        files[path] = source
        return compile(path: path, options: options, provider: InMemorySourceProvider(files))
    }

    /// Drops the warnings a file's `[["suppress-warning"]]` or `[["suppress-warning:CATEGORY,…"]]`
    /// metadata silences, as ZeroC's compilers do (categories: all, deprecated, invalid-metadata).
    static func applyingSuppressions(_ diagnostics: Diagnostics, files: [SourceFile]) -> Diagnostics {
        var suppressed: [String: Set<String>] = [:]
        for file in files {
            for metadata in file.metadata where metadata.value.hasPrefix("suppress-warning") {
                let rest = metadata.value.dropFirst("suppress-warning".count)
                let categories =
                    rest.isEmpty
                    ? ["all"] : rest.dropFirst().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                suppressed[file.path, default: []].formUnion(categories)
            }
        }
        guard !suppressed.isEmpty else { return diagnostics }
        var kept = Diagnostics()
        for diagnostic in diagnostics {
            if diagnostic.severity == .warning, let file = diagnostic.location?.file,
                let categories = suppressed[file],
                categories.contains("all") || categories.contains(category(of: diagnostic.code))
            {
                continue
            }
            kept.append(diagnostic)
        }
        return kept
    }

    /// Every warning about a construct Ice 3.7 deprecates: `suppress-warning:deprecated`
    /// silences them all, as in ZeroC's compilers.
    static let deprecationCodes: Set<String> = [
        "class-operations", "class-proxy", "class-implements", "interface-by-value", "enumerator-scope", "sequence-key",
    ]

    private static func category(of code: DiagnosticCode) -> String {
        deprecationCodes.contains(code.rawValue) ? "deprecated" : code.rawValue
    }
}
