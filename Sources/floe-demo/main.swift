import FloeCore
import FloeNIO
import Foundation

// Floe's end-to-end demo: a server and a client in one process, talking Ice over TCP on
// 127.0.0.1. (The registry, TLS and compression join the demo as they land.)

/// The server side: an actor, so its state needs no locks.
actor GreeterServant: Greeter {
    private var greetings: Greetings = []

    func greet(name: String, current: Current) async throws -> Greeting {
        guard !name.isEmpty else { throw GreetingError(reason: "there is nobody to greet") }
        let greeting = Greeting(text: "Hello, \(name)!", count: Int32(greetings.count + 1))
        greetings.append(greeting)
        print("server: \(current.operation)(\"\(name)\") from request \(current.requestId)")
        return greeting
    }

    func history(current: Current) async throws -> Greetings { greetings }

    func shutdown(current: Current) async throws {
        print("server: shutting down")
        // Reply first, then stop serving.
        let communicator = current.adapter.communicator
        Task { await communicator.shutdown() }
    }
}

// Ice-style configuration: `--Ice.Config=file`, `--Greeter.Endpoints=...`, `--Ice.Default.InvocationTimeout=...`.
var (properties, _) = try Properties.parse(
    arguments: Array(CommandLine.arguments.dropFirst()), prefixes: ["Ice", "Floe", "Greeter"])
if properties["Greeter.Endpoints"] == nil { properties["Greeter.Endpoints"] = "tcp -h 127.0.0.1 -p 0" }

// Server: an adapter on the configured endpoints (an ephemeral port by default).
let server = try Communicator(properties: properties, sliceLoader: Greeter_SliceLoader(), transport: NIOTransport())
let adapter = try await server.createConfiguredObjectAdapter(name: "Greeter")
let served = try adapter.add(servant: GreeterServant(), id: Identity(name: "greeter"))
print("server: listening, greeter is \"\(served)\"")

// Client: a separate communicator that knows only the proxy string.
let client = try Communicator(properties: properties, sliceLoader: Greeter_SliceLoader(), transport: NIOTransport())
let untyped = try client.stringToProxy(served.description)
/// Ends the demo with status 1: `Tools/test.sh` runs it as a test, so a wrong outcome must fail.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("floe-demo: error: \(message)\n".utf8))
    exit(1)
}
guard let untyped, let greeter = try await checkedCast(prx: untyped, type: (any GreeterPrx).self) else {
    fail("the greeter does not implement ::Demo::Greeter")
}
for name in ["Alice", "Bob"] {
    let greeting = try await greeter.greet(name)
    print("client: got \"\(greeting.text)\" (#\(greeting.count))")
}
do {
    _ = try await greeter.greet("")
    fail("greet(\"\") returned a greeting instead of throwing GreetingError")
} catch let error as GreetingError {
    print("client: caught GreetingError: \(error.reason)")
} catch {
    fail("greet(\"\") threw \(error) instead of GreetingError")
}
let history = try await greeter.history()
guard history.map(\.text) == ["Hello, Alice!", "Hello, Bob!"] else { fail("unexpected history \(history)") }
print("client: history has \(history.count) greetings")
try await greeter.shutdown()

await server.waitForShutdown()
await client.destroy()
await server.destroy()
print("done")
