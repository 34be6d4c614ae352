import Foundation
import PackagePlugin

/// Compiles a target's `.ice` files with slice2floe when the target builds, like the
/// swift-protobuf and grpc-swift plugins do for `.proto` files. Each `X.ice` becomes `X.swift`
/// (`X_ice.swift` beside a Swift file of the target named `X.swift`),
/// all in the target's Swift module (several top-level Slice modules need no imports between
/// them).
///
/// Includes are searched in the target's folder, the package's `Slice/` folder, Floe's shipped
/// Slice (`#include <Ice/Identity.ice>` works from any package) and the `search_paths` of an
/// optional `slice-plugin.json` in the target:
///
/// ```json
/// { "sources": ["Slice", "More/Extra.ice"], "search_paths": ["../Shared/Slice"] }
/// ```
///
/// `sources` (files or folders, relative to the target or absolute) replaces the default, every
/// `.ice` file of the target; `search_paths` are relative to the target or absolute too. The files a Slice file includes are inputs of its command, so editing one
/// regenerates what depends on it.
@main
struct Slice2FloeBuildPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let compiler = try context.tool(named: "slice2floe").url
        let output = context.pluginWorkDirectoryURL.appending(path: "Generated")
        let directory = target.directoryURL
        let configurationFile = directory.appending(path: "slice-plugin.json")
        let configuration = try Configuration.load(from: configurationFile)
        let sliceFiles =
            try configuration?.sources.map { sources in
                try sources.flatMap { try Self.sliceFiles(at: Self.existing($0, in: directory, configurationFile)) }
            } ?? target.sourceFiles(withSuffix: "ice").map(\.url)
        var searchPaths = [directory]
        searchPaths += try (configuration?.searchPaths ?? []).map {
            try Self.existing($0, in: directory, configurationFile)
        }
        let packageSlice = context.package.directoryURL.appending(path: "Slice")
        if FileManager.default.fileExists(atPath: packageSlice.path()) { searchPaths.append(packageSlice) }
        if let floe = Self.floeSlice(context.package), floe != packageSlice { searchPaths.append(floe) }
        let includes = searchPaths.flatMap { ["-I", $0.path()] }
        // The target's Slice (its folder, and where slice-plugin.json's sources live) is its
        // module; Slice included from elsewhere keeps its own module.
        let moduleDirectories = Set([directory] + sliceFiles.map { $0.deletingLastPathComponent() })
        let module =
            ["--module-name", target.moduleName]
            + moduleDirectories.sorted { $0.path() < $1.path() }
            .flatMap { ["--module-dir", $0.standardizedFileURL.path()] }
        // Slice files with one name (IceGrid/Session.ice, Glacier2/Session.ice), or names one
        // loader name apart (a-b.ice, a_b.ice: both a_b_SliceLoader), become FOLDER_NAME.swift
        // with FOLDER_NAME_SliceLoader: one Swift module cannot hold two.
        let stems = Dictionary(grouping: sliceFiles.map(\.standardizedFileURL)) {
            Self.identifier($0.deletingPathExtension().lastPathComponent)
        }
        var swiftNames: [URL: String] = [:]
        for (stem, files) in stems where files.count > 1 {
            for (index, file) in files.sorted(by: { $0.path() < $1.path() }).enumerated() {
                let folder = Self.identifier(file.deletingLastPathComponent().lastPathComponent)
                let sameFolder = files.filter { $0.deletingLastPathComponent() == file.deletingLastPathComponent() }
                swiftNames[file] = folder + "_" + stem + (sameFolder.count > 1 ? "_\(index + 1)" : "")
            }
        }
        // A generated file named like one of the target's own Swift files (Greeter.ice next to
        // the Greeter.swift that implements it) becomes Greeter_ice.swift, with
        // Greeter_ice_SliceLoader: SwiftPM names object files by base name, and two Greeter.swift
        // in one target fail the build with "multiple producers".
        let ownNames = Set(target.sourceFiles(withSuffix: "swift").map { Self.baseName($0.url) })
        let generatedNames = Set(
            sliceFiles.map {
                (swiftNames[$0.standardizedFileURL] ?? $0.deletingPathExtension().lastPathComponent).lowercased()
            })
        for file in sliceFiles.map(\.standardizedFileURL) {
            let generated = swiftNames[file] ?? file.deletingPathExtension().lastPathComponent
            guard ownNames.contains(generated.lowercased()) else { continue }
            var name = Self.identifier(generated) + "_ice"
            while ownNames.contains(name.lowercased()) || generatedNames.contains(name.lowercased()) { name += "_ice" }
            swiftNames[file] = name
        }
        let renames = swiftNames.sorted { $0.key.path() < $1.key.path() }
            .flatMap { ["--swift-name", "\($0.key.path())=\($0.value)"] }
        return sliceFiles.map { input in
            let input = input.standardizedFileURL
            let name = swiftNames[input] ?? input.deletingPathExtension().lastPathComponent
            return .buildCommand(
                displayName: "slice2floe \(input.lastPathComponent)",
                executable: compiler,
                arguments: includes + module + renames + ["--output-dir", output.path(), input.path()],
                // (The configuration among the inputs also tells SwiftPM the file is handled.)
                inputFiles: [input] + IncludeScanner(searchPaths: searchPaths).includes(of: input)
                    + (configuration == nil ? [] : [configurationFile]),
                outputFiles: [output.appending(path: name + ".swift")])
        }
    }

    /// A Swift file's name without `.swift`, lowercased: object file names may clash by case on
    /// a file system that ignores it.
    private static func baseName(_ url: URL) -> String {
        url.deletingPathExtension().lastPathComponent.lowercased()
    }

    /// `name` with what a Swift identifier cannot hold made `_` (as slice2floe names loaders).
    private static func identifier(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }

    /// A path of slice-plugin.json: absolute (`/usr/share/ice/slice`, where Debian's ZeroC
    /// packages put Ice's Slice), or relative to the target. One that does not exist is an
    /// error: left out silently, it would surface later as a missing type or include.
    private static func existing(_ path: String, in directory: URL, _ configurationFile: URL) throws -> URL {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appending(path: path)
        guard FileManager.default.fileExists(atPath: url.path()) else {
            throw PluginError(
                "\(configurationFile.path()): error: '\(path)' does not exist (\(url.standardizedFileURL.path()))")
        }
        return url
    }

    /// The `.ice` files at `url`: the file itself, or those in the folder and below.
    private static func sliceFiles(at url: URL) -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path(), isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [url] }
        let files = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)?.allObjects ?? []
        return files.compactMap { $0 as? URL }.filter { $0.pathExtension == "ice" }
            .sorted { $0.path() < $1.path() }
    }

    /// The `Slice/` folder of the package that provides slice2floe (Floe), found among the
    /// package's dependencies.
    private static func floeSlice(_ package: Package) -> URL? {
        var queue = [package]
        var seen = Set<String>()
        while !queue.isEmpty {
            let next = queue.removeFirst()
            guard seen.insert(next.id).inserted else { continue }
            if next.products.contains(where: { $0.name == "slice2floe" }) {
                return next.directoryURL.appending(path: "Slice")
            }
            queue += next.dependencies.map(\.package)
        }
        return nil
    }
}

/// `slice-plugin.json`.
struct Configuration: Decodable {
    var sources: [String]?
    var searchPaths: [String]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case sources
        case searchPaths = "search_paths"
    }

    /// Any key, to find the ones this file does not know.
    private struct AnyKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        // A misspelt key ("source", "searchPaths") would otherwise be ignored without a word,
        // and the build fail later on a missing type.
        let known = CodingKeys.allCases.map(\.rawValue)
        if let unknown = try decoder.container(keyedBy: AnyKey.self).allKeys.first(where: {
            !known.contains($0.stringValue)
        }) {
            throw PluginError("unknown key '\(unknown.stringValue)' (it takes \(known.joined(separator: " and ")))")
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sources = try container.decodeIfPresent([String].self, forKey: .sources)
        searchPaths = try container.decodeIfPresent([String].self, forKey: .searchPaths)
    }

    static func load(from url: URL) throws -> Configuration? {
        guard let data = FileManager.default.contents(atPath: url.path()) else { return nil }
        do {
            return try JSONDecoder().decode(Configuration.self, from: data)
        } catch {
            throw PluginError("\(url.path()): error: \(error)")
        }
    }
}

struct PluginError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The files a Slice file includes, directly or not, found as the compiler finds them. It reads
/// `#include` lines without evaluating `#if`, so it may list a file the compiler skips: a
/// spurious rebuild, never a missed one.
struct IncludeScanner {
    let searchPaths: [URL]

    func includes(of file: URL) -> [URL] {
        var found: [URL] = []
        var seen: Set<String> = [file.standardizedFileURL.path()]
        var queue = [file]
        while !queue.isEmpty, found.count < 1000 {
            let current = queue.removeFirst()
            guard let text = try? String(contentsOf: current, encoding: .utf8) else { continue }
            for name in Self.includedNames(in: text) {
                let candidates = [current.deletingLastPathComponent()] + searchPaths
                guard
                    let url = candidates.map({ $0.appending(path: name).standardizedFileURL }).first(where: {
                        FileManager.default.fileExists(atPath: $0.path())
                    }), seen.insert(url.path()).inserted
                else { continue }
                found.append(url)
                queue.append(url)
            }
        }
        return found
    }

    /// The names in `#include "name"` and `#include <name>` lines.
    static func includedNames(in text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            var rest = line.drop(while: { $0 == " " || $0 == "\t" })
            guard rest.first == "#" else { return nil }
            rest = rest.dropFirst().drop(while: { $0 == " " || $0 == "\t" })
            guard rest.hasPrefix("include") else { return nil }
            rest = rest.dropFirst("include".count).drop(while: { $0 == " " || $0 == "\t" })
            guard let open = rest.first, open == "\"" || open == "<" else { return nil }
            let close: Character = open == "<" ? ">" : "\""
            let name = rest.dropFirst().prefix(while: { $0 != close })
            return name.isEmpty ? nil : String(name)
        }
    }
}
