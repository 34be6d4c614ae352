import Foundation
import Testing

@testable import FloeCore

#if canImport(Glibc)
    import Glibc
#endif

/// What the Properties admin facet logs of a `setProperties` call is bounded: the caller chose
/// how many names and how long (every name was logged, whole).
@Suite("Properties admin log line")
struct PropertiesAdminLogTests {
    @Test func theLoggedNamesAreBounded() {
        var changes: [String: String] = [:]
        for index in 0..<1_000 { changes[String(format: "Name.%04d", index)] = "v" }
        changes[String(repeating: "x", count: 10_000)] = "v"
        let line = PropertiesFacet.named(changes)
        #expect(line.hasPrefix("Name.0000, Name.0001"))
        #expect(line.hasSuffix("and 981 more"))
        #expect(line.count < 20 * 102 + 40, "\(line.count) characters")
        #expect(PropertiesFacet.named(["A.B": "1", "C.D": ""]) == "A.B, C.D")
    }
}

/// `Process.writeMessage` writes the whole message, a NUL in it included (it was cut at the
/// first NUL, through `strlen`).
@Suite("Process facet messages")
struct ProcessMessageTests {
    @Test func aMessageIsWrittenWhole() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let message = Array("a\u{0}b\n".utf8)
        ProcessFacet.writeAll(message, to: ends[1])
        close(ends[1])
        var read = [UInt8](repeating: 0, count: 16)
        let count = read.withUnsafeMutableBytes { Glibc.read(ends[0], $0.baseAddress, $0.count) }
        #expect(Array(read.prefix(max(0, count))) == message)
    }
}
