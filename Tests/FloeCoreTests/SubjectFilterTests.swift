import FloeCore
import Testing

/// IceSSL's TrustOnly lists: attribute subsets, any order, refusals first.
@Suite("Subject filters")
struct SubjectFilterTests {
    let client = "C=US, O=Floe Tests, CN=client"

    @Test func emptyListsAcceptEveryone() throws {
        #expect(try SubjectFilter("").accepts(client))
        #expect(SubjectFilter().accepts(nil))
    }

    @Test func aNameMatchesSubjectsHavingAllItsAttributes() throws {
        #expect(try SubjectFilter("CN=client").accepts(client))
        #expect(try SubjectFilter("cn=client, o=Floe Tests").accepts(client))  // keys in any case
        #expect(try SubjectFilter("O=\"Floe Tests\"").accepts(client))
        #expect(try !SubjectFilter("CN=client, O=Other").accepts(client))
        #expect(try !SubjectFilter("CN=client").accepts(nil))  // no certificate: not listed
    }

    @Test func refusalsWinAndListsCombine() throws {
        #expect(try !SubjectFilter("O=Floe Tests; !CN=client").accepts(client))
        #expect(try !SubjectFilter("!CN=client").accepts(client))
        #expect(try SubjectFilter("!CN=intruder").accepts(client))
        #expect(try SubjectFilter("CN=server", "CN=client").accepts(client))  // TrustOnly + TrustOnly.Server
    }

    /// X509 prints a comma inside a value escaped (RFC 4514); lists may write it either way.
    @Test func escapedAndQuotedCommasStayInTheirValue() throws {
        let subject = "C=US, O=Floe\\, Inc., CN=client"
        #expect(try SubjectFilter("O=Floe\\, Inc.").accepts(subject))
        #expect(try SubjectFilter("O=\"Floe, Inc.\"").accepts(subject))
        #expect(try !SubjectFilter("O=Floe").accepts(subject))
    }

    @Test func malformedListsAreRefused() {
        #expect(throws: LocalError.self) { try SubjectFilter("CN") }
        #expect(throws: LocalError.self) { try SubjectFilter("CN=\"open") }
        #expect(throws: LocalError.self) { try SubjectFilter("CN=trailing\\") }
    }
}
