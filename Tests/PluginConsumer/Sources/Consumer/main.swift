import Floe
import Foundation

import func Clashing.exerciseClashingNames  // (all of it would make `Current` ambiguous here)

/// Greets through a collocated call (the generated proxy encodes, the generated dispatch
/// decodes, as over a connection), then over TCP on 127.0.0.1: with `import Floe`,
/// `Communicator()` has the NIO transport.
struct GreeterServant: Greeter {
    func greet(who: Identity, words: StringSeq, current: Current) async throws -> Greeting {
        Greeting(text: "hello \(who.name): " + words.joined(separator: " "), count: Int32(words.count))
    }
}

let expected = Greeting(text: "hello floe: from a user package", count: 4)
let words = ["from", "a", "user", "package"]

// No Slice loader to pass: generated code registers its classes and exceptions.
let communicator = Communicator()
let adapter = try communicator.createObjectAdapter(name: "Consumer")
let proxy = try adapter.add(servant: GreeterServant(), id: Identity(name: "greeter"))
try await adapter.activate()
let greeter = uncheckedCast(prx: proxy, type: (any GreeterPrx).self)
let collocated = try await greeter.greet(who: Identity(name: "floe"), words: words)

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

let clash = try await exerciseClashingNames()
guard clash == (111, true) else {
    print("Slice types named like runtime types: unexpected \(clash)")
    exit(1)
}
print("PluginConsumer: \(overTCP.text) (collocated and over TCP); Slice types named like the runtime's work")
