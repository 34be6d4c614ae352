import SliceAST
import SliceParser
var failed = false
for path in CommandLine.arguments.dropFirst() where !path.hasPrefix("-") {
    let result = SliceCompiler.compile(path: path, options: PreprocessorOptions(includePaths: ["/usr/share/ice/slice"]))
    for d in result.diagnostics { print(d) }
    if result.diagnostics.hasErrors { failed = true }
}
print(failed ? "FAILED" : "ok")
