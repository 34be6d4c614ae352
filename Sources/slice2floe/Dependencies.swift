import Foundation

/// What `--depend`, `--depend-json` and `--depend-xml` print: for each compiled file, the files it reads.
struct Dependencies {
    private var entries: [(file: String, target: String, reads: [String])] = []

    /// `reads` is every file read, the compiled one first.
    mutating func add(_ file: String, _ reads: [String], target: String) {
        entries.append((file, target, reads))
    }

    /// Make rules as ZeroC's compilers print them: `Hello.swift: \`, then one read file a line.
    /// The target has no `--output-dir`: Makefiles written for slice2cpp put theirs in front
    /// (`sed 's,^,$(@D)/,'`), and would double ours.
    func make() -> String {
        entries.map { entry in
            ([entry.target + ":"] + entry.reads.map(Self.escaped)).joined(separator: " \\\n ") + "\n"
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

    /// ZeroC's `--depend-xml`, which its SwiftPM plugin reads: each compiled file as given, and the
    /// files it includes with absolute paths.
    func xml() -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<dependencies>\n"
        for entry in entries {
            out += "  <source name=\"\(Self.xmlEscaped(entry.file))\">\n"
            for read in entry.reads.dropFirst() {
                out += "    <dependsOn name=\"\(Self.xmlEscaped(Slice2Floe.absolute(read)))\"/>\n"
            }
            out += "  </source>\n"
        }
        return out + "</dependencies>\n"
    }

    private static func xmlEscaped(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Make reads a space as a separator: escape it.
    private static func escaped(_ path: String) -> String { path.replacingOccurrences(of: " ", with: "\\ ") }
}
