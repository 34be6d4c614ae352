import Testing

@testable import FloeEncoding

@Suite("Instance id table")
struct InstanceIdTableTests {
    private final class Object {}

    @Test func idsAreFoundAgainAcrossGrowth() {
        let objects = (0..<5_000).map { _ in Object() }
        var table = InstanceIdTable()
        for (k, object) in objects.enumerated() {
            #expect(table.id(of: ObjectIdentifier(object), orAdd: k + 2) == nil, "object \(k) is new")
        }
        var found = 0
        for (k, object) in objects.enumerated().reversed() {
            if table.id(of: ObjectIdentifier(object), orAdd: -1) == k + 2 { found += 1 }
        }
        #expect(found == objects.count)
        let stranger = Object()
        #expect(table.id(of: ObjectIdentifier(stranger), orAdd: 9_999) == nil)
        #expect(table.id(of: ObjectIdentifier(stranger), orAdd: 0) == 9_999)
    }
}
