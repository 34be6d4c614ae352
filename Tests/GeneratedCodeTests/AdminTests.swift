import FloeCore
import FloeEncoding
import FloeIce
import FloeNIO
import Foundation
import NIOConcurrencyHelpers
import TestSupport
import Testing

/// Ice's admin object (issue 18): the Process and Properties facets on `Ice.Admin.Endpoints`,
/// driven by ZeroC's own admin client and by Floe's.
@Suite("Admin facets", .serialized, .timeLimit(.minutes(2)))
struct AdminTests {
    private static func server(_ more: [String: String] = [:]) async throws -> Communicator {
        var properties = Properties()
        let settings = [
            "Ice.Admin.Endpoints": "tcp -h 127.0.0.1 -p 0", "Ice.Admin.InstanceName": "Billing",
            "Demo.Greeting": "hello", "Demo.Extra": "x", "Other.Name": "y",
        ]
        for (key, value) in settings.merging(more, uniquingKeysWith: { $1 }) { properties[key] = value }
        let communicator = try Communicator(
            properties: properties, sliceLoader: Vectors_SliceLoader(), transport: NIOTransport())
        let adapter = try await communicator.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()  // creates the admin object too
        return communicator
    }

    @Test func aZeroCAdminClientReadsAndChangesPropertiesAndShutsTheServerDown() async throws {
        let server = try await Self.server()
        let updates = NIOLockedValueBox<[[String: String]]>([])
        server.onPropertiesUpdate { changed in updates.withLockedValue { $0.append(changed) } }
        let admin = try #require(try await server.getAdmin())
        #expect(admin.ice_getIdentity() == Identity(name: "admin", category: "Billing"))
        let (peer, output) = try launchPeer("admin_client.py", [server.proxyToString(admin)])
        let transcript = try await offPool { String(decoding: try output.readToEnd() ?? Data(), as: UTF8.self) }
        await offPool { peer.waitUntilExit() }
        #expect(peer.terminationStatus == 0, "\(transcript)")
        #expect(
            transcript.split(separator: "\n") == [
                "greeting=hello", "missing=", "prefix Demo.Extra=x", "prefix Demo.Greeting=hello", "after=changed,",
                "done",
            ])
        #expect(updates.withLockedValue { $0 } == [["Demo.Greeting": "changed", "Demo.Extra": ""]])
        #expect(server.properties["Demo.Greeting"] == "changed" && server.properties["Demo.Extra"] == nil)
        // The Process facet's shutdown ends the server's wait.
        await server.waitForShutdown()
        await server.destroy()
    }

    @Test func aFloeAdminClientUsesTheGeneratedProxies() async throws {
        // (A facet Floe lacks, common in ZeroC configurations, adds nothing, as in Ice. Names
        // are separated by commas or any white space, a tab here, as in Ice.)
        let server = try await Self.server(["Ice.Admin.Facets": "Metrics\tProperties"])
        let client = Communicator(sliceLoader: FloeIce_SliceLoader(), transport: NIOTransport())
        let admin = try #require(try await server.getAdmin())
        let reached = client.makeProxy(admin.ice_getIdentity()).ice_endpoints(admin.ice_getEndpoints())
        let properties = try #require(
            try await checkedCast(prx: reached, type: (any PropertiesAdminPrx).self, facet: "Properties"))
        #expect(try await properties.getPropertiesForPrefix("Other.") == ["Other.Name": "y"])
        try await properties.setProperties(["Other.Name": "z"])
        #expect(try await properties.getProperty("Other.Name") == "z")
        // Ice.Admin.Facets left Process out.
        await #expect(throws: DispatchError.self) {
            try await uncheckedCast(prx: reached, type: (any ProcessPrx).self, facet: "Process").shutdown()
        }
        await client.destroy()
        await server.destroy()
    }

    /// `Process.writeMessage` reads its two parameters and nothing more: a call with a
    /// stray byte after them is refused, and neither call stops the server.
    @Test func theProcessFacetWritesMessages() async throws {
        let server = try await Self.server()
        let client = Communicator(sliceLoader: FloeIce_SliceLoader(), transport: NIOTransport())
        let admin = try #require(try await server.getAdmin())
        let reached = client.makeProxy(admin.ice_getIdentity()).ice_endpoints(admin.ice_getEndpoints())
        let process = uncheckedCast(prx: reached, type: (any ProcessPrx).self, facet: "Process")
        try await process.writeMessage(message: "admin-tests: a message for standard error", fd: 2)
        var parameters = OutputStream(encoding: .v1_0)
        parameters.startEncapsulation(encoding: .v1_1)
        parameters.write("stray")
        parameters.write(Int32(1))
        parameters.write(UInt8(7))
        parameters.endEncapsulation()
        await #expect(throws: DispatchError.self) {
            _ = try await reached.ice_facet("Process").ice_invoke(
                operation: "writeMessage", mode: .normal, inEncaps: parameters.finished())
        }
        try await process.ice_ping()
        await client.destroy()
        await server.destroy()
    }

    @Test func noAdminWithoutEndpointsOrWhenDisabled() async throws {
        let plain = Communicator(transport: NIOTransport())
        #expect(try await plain.getAdmin() == nil)
        let disabled = try await Self.server(["Ice.Admin.Enabled": "0"])
        #expect(try await disabled.getAdmin() == nil)
        for communicator in [plain, disabled] { await communicator.destroy() }
    }

    /// An admin object that could not be created (its port taken) is tried again at the next
    /// activation, which then succeeds once the port is free. (The failure was kept, and every
    /// later activation failed with it.)
    @Test func anAdminObjectThatFailedIsCreatedAgain() async throws {
        let blocker = Communicator(transport: NIOTransport())
        let taken = try await blocker.createObjectAdapterWithEndpoints(
            name: "Taken", endpoints: "tcp -h 127.0.0.1 -p 0")
        let port = try #require(taken.endpoints.first?.port)
        var properties = Properties()
        properties["Ice.Admin.Endpoints"] = "tcp -h 127.0.0.1 -p \(port)"
        let server = try Communicator(properties: properties, transport: NIOTransport())
        let adapter = try await server.createObjectAdapterWithEndpoints(
            name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
        await #expect(throws: LocalError.self) { try await adapter.activate() }
        await blocker.destroy()
        // Once free, the port may be taken again, as a client connection's ephemeral port, by
        // another test of the run (it happened once in CI): each failed activation leaves the
        // next one free to try, which is what this checks.
        var attempts = 0
        while true {
            do {
                try await adapter.activate()
                break
            } catch let error as LocalError where error.code == .socket && attempts < 50 {
                attempts += 1
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let admin = try #require(try await server.getAdmin())
        try await admin.ice_facet("Properties").ice_ping()
        await server.destroy()
    }
}

extension AdminTests {
    /// IceSSL is configured once, from the properties a communicator was created with, as Ice
    /// reads IceSSL's at start-up: a remote admin's `setProperties` cannot weaken TLS that is
    /// built later (at the first ssl connection). It could: `IceSSL.VerifyPeer=0` and another
    /// CA, set before the first connection, let an intruder's server be trusted.
    @Test func theAdminFacetCannotWeakenTLSBuiltLater() async throws {
        let certs = try await testCertificates()
        // An ssl server presenting a certificate from a CA the victim does not trust.
        var intruderProperties = Properties()
        for (key, value) in tlsProperties(certs, "intruder", ["IceSSL.CAs": "other-ca.pem", "IceSSL.VerifyPeer": "0"]) {
            intruderProperties[key] = value
        }
        let intruder = try Communicator(properties: intruderProperties, transport: NIOTransport())
        let adapter = try await intruder.createObjectAdapterWithEndpoints(
            name: "Intruder", endpoints: "ssl -h 127.0.0.1 -p 0")
        try adapter.add(servant: TesterServant(), id: Identity(name: "tester"))
        try await adapter.activate()
        let port = adapter.endpoints.first?.port ?? 0

        // The victim trusts ca.pem only, and has not made any ssl connection yet.
        let victim = try await Self.server(tlsProperties(certs, nil))
        let client = Communicator(sliceLoader: FloeIce_SliceLoader(), transport: NIOTransport())
        let admin = try #require(try await victim.getAdmin())
        let reached = client.makeProxy(admin.ice_getIdentity()).ice_endpoints(admin.ice_getEndpoints())
        let properties = uncheckedCast(prx: reached, type: (any PropertiesAdminPrx).self, facet: "Properties")
        try await properties.setProperties(["IceSSL.VerifyPeer": "0", "IceSSL.CAs": "other-ca.pem"])
        #expect(victim.properties["IceSSL.VerifyPeer"] == "0", "the premise: the live properties changed")

        let intruded = try #require(try victim.stringToProxy("tester:ssl -h 127.0.0.1 -p \(port)"))
        do {
            try await intruded.ice_ping()
            Issue.record("the victim trusted the intruder's certificate")
        } catch let error as LocalError {
            #expect(error.code == .security, "\(error)")
        }
        await client.destroy()
        await victim.destroy()
        await intruder.destroy()
    }
}
