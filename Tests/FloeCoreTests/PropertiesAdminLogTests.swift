import Foundation
import Testing

@testable import FloeCore

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
