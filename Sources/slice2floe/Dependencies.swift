import Foundation

/// What `--depend` and `--depend-json` print: for each compiled file, the files it reads.
struct Dependencies {
    private var entries: [(file: String, target: String, reads: [String])] = []

    /// `reads` is every file read, the compiled one first.
    mutating func add(_ file: String, _ reads: [String], target: String) {
        entries.append((file, target, reads))
    }

    /// Make rules: `Out/Hello.swift: Hello.ice Included.ice`, one continued line per file.
    func make() -> String {
        entries.map { entry in
            ([entry.target + ":"] + entry.reads.map(Self.escaped)).joined(separator: " \\\n  ") + "\n"
        }.joined()
    }

    /// `{"Hello.ice": ["Included.ice", …], …}`: each compiled file and the files it includes.
    func json() -> String {
        let object = Dictionary(entries.map { ($0.file, Array($0.reads.dropFirst())) }, uniquingKeysWith: { a, _ in a })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = (try? encoder.encode(object)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Make reads a space as a separator: escape it.
    private static func escaped(_ path: String) -> String { path.replacingOccurrences(of: " ", with: "\\ ") }
}
