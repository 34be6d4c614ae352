import Foundation

/// Where the compiler reads Slice files from: the file system, or memory in tests.
public protocol SourceProvider: Sendable {
    /// The file's text, or nil if there is no readable file at `path`.
    func read(_ path: String) -> String?
}

/// Reads files from disk.
public struct FileSystemSourceProvider: SourceProvider {
    public init() {}

    public func read(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
            let data = FileManager.default.contents(atPath: path)
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Serves files from a dictionary of path → text, for tests and tools.
public struct InMemorySourceProvider: SourceProvider {
    public var files: [String: String]

    public init(_ files: [String: String]) { self.files = files }

    public func read(_ path: String) -> String? { files[normalizePath(path)] }
}

/// Removes `.` components and folds `dir/../`, so the same file is recognised under
/// different spellings (for `#pragma once` and dependency output).
func normalizePath(_ path: String) -> String {
    let absolute = path.hasPrefix("/")
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == "..", let last = parts.last, last != ".." {
            parts.removeLast()
            continue
        }
        parts.append(part)
    }
    let joined = parts.joined(separator: "/")
    return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
}

func directory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
