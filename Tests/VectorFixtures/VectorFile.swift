import Foundation

/// One captured scenario from `Vectors/NAME.txt` (format: ../shared/vectors/README.md), the
/// ZeroC Ice 3.7.8 captures this repository tests against.
public struct VectorFile: Sendable {
    public struct Message: Sendable {
        public var connection: Int
        /// `c2s` or `s2c`.
        public var direction: String
        public var kind: String
        public var annotations: String
        public var bytes: [UInt8]
        public var inflatedBody: [UInt8]?
    }

    public var name: String
    public var summary: String
    public var messages: [Message] = []

    public init(named name: String) throws {
        guard let url = Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Vectors") else {
            throw VectorFileError("no vector file \(name).txt")
        }
        self.name = name
        self.summary = ""
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            guard !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            let value = line[line.index(colon, offsetBy: 2)...]
            switch key {
            case "summary": summary = String(value)
            case "message":
                let fields = value.split(separator: " ", maxSplits: 3)
                guard fields.count >= 3, let connection = Int(fields[0]) else {
                    throw VectorFileError("bad message line: \(line)")
                }
                messages.append(
                    Message(
                        connection: connection, direction: String(fields[1]), kind: String(fields[2]),
                        annotations: fields.count > 3 ? String(fields[3]) : "", bytes: []))
            case "hex": messages[messages.count - 1].bytes = try hexBytes(value)
            case "inflated-body": messages[messages.count - 1].inflatedBody = try hexBytes(value)
            default: continue
            }
        }
    }

    /// All vector case names, from the files in the bundle.
    public static var allNames: [String] {
        guard let folder = Bundle.module.resourceURL?.appendingPathComponent("Vectors"),
            let files = try? FileManager.default.contentsOfDirectory(atPath: folder.path)
        else { return [] }
        return files.filter { $0.hasSuffix(".txt") }.map { String($0.dropLast(4)) }.sorted()
    }
}

public struct VectorFileError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public func hexBytes(_ hex: some StringProtocol) throws -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(hex.utf8.count / 2)
    var iterator = hex.utf8.makeIterator()
    while let high = iterator.next() {
        guard let low = iterator.next(), let h = hexDigit(high), let l = hexDigit(low) else {
            throw VectorFileError("odd or invalid hex")
        }
        bytes.append(h << 4 | l)
    }
    return bytes
}

private func hexDigit(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    default: nil
    }
}

public func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
