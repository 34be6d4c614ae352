import Floe
import Foundation

import func Clashing.exerciseClashingNames  // (all of it would make `Current` ambiguous here)
import func Clashing.exerciseCollidingMemberNames
import func Clashing.exerciseMoreNames
import func StdNames.exerciseStandardNames

/// Greets through a collocated call (the generated proxy encodes, the generated dispatch
/// decodes, as over a connection), then over TCP on 127.0.0.1: with `import Floe`,
/// `Communicator()` has the NIO transport.
struct GreeterServant: Greeter {
    func greet(who: Identity, words: StringSeq, current: Current) async throws -> Greeting {
        Greeting(text: "hello \(who.name): " + words.joined(separator: " "), count: Int32(words.count))
    }
}

/// Its dispatch reaches the operations of Ice::Process, whose code is in Floe's module.
actor WorkerServant: Worker {
    var messages: [String] = []
    func work(units: Int32, current: Current) async throws -> Int32 { units * 2 }
    func shutdown(current: Current) async throws {}
    func writeMessage(message: String, fd: Int32, current: Current) async throws { messages.append(message) }
}

/// Two levels above it, Ice::Process's operations are dispatched by code in Floe's module.
actor ForemanServant: Foreman {
    var log: [String] = []
    func assign(task: String, current: Current) async throws { log.append("assign \(task)") }
    func work(units: Int32, current: Current) async throws -> Int32 { units }
    func shutdown(current: Current) async throws {}
    func writeMessage(message: String, fd: Int32, current: Current) async throws { log.append(message) }
}

let expected = Greeting(text: "hello floe: from a user package", count: 4)
let words = ["from", "a", "user", "package"]

// No Slice loader to pass: generated code registers its classes and exceptions.
let communicator = Communicator()
let adapter = try await communicator.createObjectAdapter(name: "Consumer")
let proxy = try adapter.add(servant: GreeterServant(), id: Identity(name: "greeter"))
try await adapter.activate()
let greeter = uncheckedCast(prx: proxy, type: (any GreeterPrx).self)
let collocated = try await greeter.greet(who: Identity(name: "floe"), words: words)
let workerServant = WorkerServant()
let worker = uncheckedCast(
    prx: try adapter.add(servant: workerServant, id: Identity(name: "worker")), type: (any WorkerPrx).self)
try await worker.writeMessage(message: "inherited", fd: 1)
guard try await worker.work(21) == 42, await workerServant.messages == ["inherited"] else {
    print("Worker (extends Ice::Process): unexpected results")
    exit(1)
}
let foremanServant = ForemanServant()
let foreman = uncheckedCast(
    prx: try adapter.add(servant: foremanServant, id: Identity(name: "foreman")), type: (any ForemanPrx).self)
try await foreman.assign("dig")
try await foreman.writeMessage(message: "through two bases", fd: 2)
guard await foremanServant.log == ["assign dig", "through two bases"] else {
    print("Foreman (extends Worker, which extends Ice::Process): unexpected log")
    exit(1)
}

let server = Communicator()
let listening = try await server.createObjectAdapterWithEndpoints(name: "Server", endpoints: "tcp -h 127.0.0.1 -p 0")
try listening.add(servant: GreeterServant(), id: Identity(name: "greeter"))
try await listening.activate()
let port = listening.publishedEndpoints.first?.port ?? 0
let remote = try makeProxy(
    communicator: communicator, proxyString: "greeter:tcp -h 127.0.0.1 -p \(port)", type: (any GreeterPrx).self)
let overTCP = try await remote.greet(who: Identity(name: "floe"), words: words)

await communicator.destroy()
await server.destroy()
guard collocated == expected, overTCP == expected else {
    print("unexpected greetings: \(collocated), \(overTCP)")
    exit(1)
}
// Configured from the command line, as `Ice.initialize(args)`.
let configured = try Communicator(args: ["consumer", "--Ice.Default.InvocationTimeout=5000", "positional"])
guard configured.defaultInvocationTimeout == 5000 else {
    print("Communicator(args:) ignored --Ice.Default.InvocationTimeout")
    exit(1)
}
await configured.destroy()

// Mutual TLS with compression, configured as an Ice user's command line would (the IceSSL
// plugin line included), over a self-signed certificate made with openssl.
let certificates = FileManager.default.temporaryDirectory.appendingPathComponent("consumer-tls-\(UUID())")
try FileManager.default.createDirectory(at: certificates, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: certificates) }
let openssl = Foundation.Process()  // (FloeIce has a `Process` too: Ice's admin facet)
openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
openssl.arguments = [
    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", certificates.appendingPathComponent("key.pem").path,
    "-out", certificates.appendingPathComponent("cert.pem").path, "-days", "1", "-subj", "/CN=consumer",
    "-addext", "subjectAltName=IP:127.0.0.1",
]
openssl.standardError = FileHandle.nullDevice
try openssl.run()
openssl.waitUntilExit()
let tlsArguments = [
    "consumer", "--Ice.Plugin.IceSSL=IceSSL:createIceSSL", "--IceSSL.DefaultDir=\(certificates.path)",
    "--IceSSL.CertFile=cert.pem", "--IceSSL.KeyFile=key.pem", "--IceSSL.CAs=cert.pem", "--IceSSL.CheckCertName=1",
]
let tlsServer = try Communicator(args: tlsArguments)
let secureAdapter = try await tlsServer.createObjectAdapterWithEndpoints(
    name: "Secure", endpoints: "ssl -h 127.0.0.1 -p 0 -z")
try secureAdapter.add(servant: GreeterServant(), id: Identity(name: "greeter"))
try await secureAdapter.activate()
let tlsClient = try Communicator(args: tlsArguments)
let secure = try makeProxy(
    communicator: tlsClient,
    proxyString: "greeter -s:ssl -h 127.0.0.1 -p \(secureAdapter.publishedEndpoints.first?.port ?? 0) -z",
    type: (any GreeterPrx).self)
let overTLS = try await secure.greet(who: Identity(name: "floe"), words: words)
let tlsInfo = try await secure.ice_getConnection().info
await tlsClient.destroy()
await tlsServer.destroy()
guard overTLS == expected, tlsInfo.type == "ssl", tlsInfo.tls?.subject == "CN=consumer", tlsInfo.tls?.verified == true
else {
    print("over TLS: unexpected \(overTLS), \(tlsInfo)")
    exit(1)
}

let clash = try await exerciseClashingNames()
guard clash == (111, true) else {
    print("Slice types named like runtime types: unexpected \(clash)")
    exit(1)
}
// Slice members and operations named like the generated code's own locals and Swift's protocol
// members: built at all, and each value back as sent.
let names = try await exerciseCollidingMemberNames()
guard names == "5,6 ab 15 kept>first rawValue 3,-3 1,2" else {
    print("Slice names like the generated code's locals: unexpected \(names)")
    exit(1)
}
let more = try await exerciseMoreNames()
guard more == "square 3 4 negative reader -1" else {
    print("Slice names like Swift's own members: unexpected \(more)")
    exit(1)
}
let standard = try await exerciseStandardNames()
guard standard == "3 asked to fail first,second,new6" else {
    print("Slice types named like Swift's standard types: unexpected \(standard)")
    exit(1)
}
print(
    "PluginConsumer: \(overTCP.text) (collocated, over TCP, and over mutual TLS with compression, configured with IceSSL arguments); interfaces extending Ice::Process, directly and through another (built with MemberImportVisibility); Slice types named like the runtime's and Swift's standard types, and members named like generated code's locals, work"
)
