import Foundation
import PackagePlugin

/// Compiles a target's `.ice` files with slice2floe when the target builds, like the
/// swift-protobuf and grpc-swift plugins do for `.proto` files. Each `X.ice` becomes `X.swift`.
/// Includes are searched in the target's folder and in the package's `Slice/` folder.
@main
struct Slice2FloeBuildPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let compiler = try context.tool(named: "slice2floe").url
        let output = context.pluginWorkDirectoryURL.appending(path: "Generated")
        let sliceFiles = target.sourceFiles(withSuffix: "ice").map(\.url)
        var includes = ["-I", target.directoryURL.path()]
        let shipped = context.package.directoryURL.appending(path: "Slice")
        if FileManager.default.fileExists(atPath: shipped.path()) { includes += ["-I", shipped.path()] }
        return sliceFiles.map { input in
            let name = input.deletingPathExtension().lastPathComponent
            return .buildCommand(
                displayName: "slice2floe \(input.lastPathComponent)",
                executable: compiler,
                arguments: includes + ["--output-dir", output.path(), input.path()],
                inputFiles: [input],
                outputFiles: [output.appending(path: name + ".swift")])
        }
    }
}
