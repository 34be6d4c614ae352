import Floe
import Foundation

/// Greets through a collocated call: the generated proxy encodes, the generated servant
/// dispatch decodes, as over a connection.
struct GreeterServant: Greeter {
    func greet(who: Identity, words: StringSeq, current: Current) async throws -> Greeting {
        Greeting(text: "hello \(who.name): " + words.joined(separator: " "), count: Int32(words.count))
    }
}

let communicator = Communicator(sliceLoader: Greeter_SliceLoader())
let adapter = try communicator.createObjectAdapter(name: "Consumer")
let proxy = try adapter.add(servant: GreeterServant(), id: Identity(name: "greeter"))
adapter.activate()
let greeter = uncheckedCast(prx: proxy, type: (any GreeterPrx).self)
let greeting = try await greeter.greet(who: Identity(name: "floe"), words: ["from", "a", "user", "package"])
await communicator.destroy()
guard greeting == Greeting(text: "hello floe: from a user package", count: 4) else {
    print("unexpected greeting: \(greeting)")
    exit(1)
}
print("PluginConsumer: \(greeting.text)")
