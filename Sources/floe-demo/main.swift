import Floe
import FloeEncoding
import FloeProtocol
import FloeRegistry
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

// Floe's end-to-end demo, talking Ice on 127.0.0.1:
//   floe-demo                      a registry, a server and a client in one process (the README's
//                                  first command): mutual TLS with compression between server and
//                                  client, over a throwaway certificate made at start (demo only)
//   floe-demo server [--Greeter.Endpoints=…] [--Ice.*=…]
//                                  a server until SIGTERM or SIGINT, which let running calls finish
//   floe-demo client PROXY [--calls N] [--slow MS]
//                                  N concurrent calls, each answered after MS milliseconds

/// The server side: an actor, so its state needs no locks.
actor GreeterServant: Greeter {
    private var greetings: Greetings = []
    private let verbose: Bool

    init(verbose: Bool) { self.verbose = verbose }

    func greet(name: String, current: Current) async throws -> Greeting {
        guard !name.isEmpty else { throw GreetingError(reason: "there is nobody to greet") }
        let greeting = Greeting(text: "Hello, \(name)!", count: Int32(greetings.count + 1))
        greetings.append(greeting)
        if verbose {
            // The caller's certificate, on the demo's mutual-TLS connection.
            let caller = current.con?.info.tls?.subject.map { " (caller \"\($0)\")" } ?? ""
            print("server: \(current.operation)(\"\(name)\") from request \(current.requestId)\(caller)")
        }
        return greeting
    }

    func slowGreet(name: String, millis: Int32, current: Current) async throws -> Greeting {
        try await Task.sleep(for: .milliseconds(Int(millis)))
        return try await greet(name: name, current: current)
    }

    func history(current: Current) async throws -> Greetings { greetings }

    func shutdown(current: Current) async throws {
        print("server: shutting down")
        // Shutdown does not wait for this dispatch: the caller still gets its reply.
        await current.adapter.communicator.shutdown()
    }
}

/// Ends with status 1: `Tools/test.sh` runs the demo as a test, so a wrong outcome must fail.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("floe-demo: error: \(message)\n".utf8))
    exit(1)
}

let usage = """
    usage: floe-demo [--Ice.X=Y ...]     a registry, a server and a client in one process
           floe-demo server [--Greeter.Endpoints=ENDPOINTS] [--Greeter.AdapterId=ID] [--Demo.Trace=1] [--Ice.X=Y ...]
           floe-demo client PROXY [--calls N] [--slow MS] [--Ice.X=Y ...]
    Properties are --Prefix.Name=Value (Ice, IceSSL, Floe, ZeroC's other namespaces, Greeter,
    Demo), or --Ice.Config=FILE.

    """

/// A command line it cannot follow: the reason and the usage, status 2 (as floe-registry).
func usageError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("floe-demo: error: \(message)\n\(usage)".utf8))
    exit(2)
}

/// Ice-style configuration: `--Ice.Config=file`, `--Greeter.Endpoints=...`, `--Ice.Default.InvocationTimeout=...`;
/// returns the other arguments too.
func configuration(_ arguments: [String]) throws -> (Properties, [String]) {
    var (properties, rest) = try Properties.parse(
        arguments: arguments, prefixes: Properties.reservedPrefixes + ["Greeter", "Demo"])
    if properties["Greeter.Endpoints"] == nil { properties["Greeter.Endpoints"] = "tcp -h 127.0.0.1 -p 0" }
    return (properties, rest)
}

/// `floe-demo server`: serves until SIGTERM/SIGINT, through swift-service-lifecycle.
func runServer(_ arguments: [String]) async throws {
    let (properties, rest) = try configuration(arguments)
    if let unexpected = rest.first { usageError("unexpected argument '\(unexpected)'") }
    let server = try Communicator(properties: properties)
    let adapter = try await server.createObjectAdapter(name: "Greeter")
    // `--Demo.Trace=1` prints a line per call (the application's own prefix: Ice reports
    // unknown properties under an adapter's name, `Greeter.*`).
    let served = try adapter.add(
        servant: GreeterServant(verbose: properties["Demo.Trace"] == "1"), id: Identity(name: "greeter"))
    try await adapter.activate()
    // (Written straight to the descriptor: the script that starts the server waits for it.)
    FileHandle.standardOutput.write(Data("server: ready, greeter is \"\(served)\"\n".utf8))
    // The communicator's end ends the group: on a signal, and when something shuts it down (the
    // `shutdown` operation, or an IceGrid node through the Process admin facet).
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: [.init(service: server, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "floe-demo")))
    try await group.run()
    print("server: stopped")
}

/// `floe-demo client PROXY [--calls N] [--slow MS]`: N concurrent calls, all of which must succeed.
func runClient(_ arguments: [String]) async throws {
    let (properties, rest) = try configuration(arguments)
    guard let proxyString = rest.first, !proxyString.hasPrefix("-") else { usageError("the client needs a PROXY") }
    var calls = 1
    var millis: Int32 = 0
    var options = rest.dropFirst()
    while let name = options.popFirst() {
        guard name == "--calls" || name == "--slow" else { usageError("unexpected argument '\(name)'") }
        guard let value = options.popFirst(), let number = Int32(value), number >= 0 else {
            usageError("\(name) takes a number of \(name == "--calls" ? "calls" : "milliseconds")")
        }
        if name == "--calls" { calls = Int(number) } else { millis = number }
    }
    let client = try Communicator(properties: properties)
    let greeter = try makeProxy(communicator: client, proxyString: proxyString, type: (any GreeterPrx).self)
    let delay = millis
    let failures = await withTaskGroup(of: (any Error)?.self) { group in
        for index in 0..<calls {
            group.addTask {
                do {
                    _ = try await greeter.slowGreet(name: "caller \(index)", millis: delay)
                    return nil
                } catch {
                    return error
                }
            }
        }
        return await group.compactMap { $0 }.reduce(into: [any Error]()) { $0.append($1) }
    }
    await client.destroy()
    print("client: \(calls - failures.count) of \(calls) calls succeeded")
    if let first = failures.first { fail("\(failures.count) of \(calls) calls failed; the first: \(first)") }
}

/// A self-signed certificate and key for 127.0.0.1 in a new temporary directory, made with the
/// `openssl` command: DEMO ONLY — a real deployment's certificates come from its own CA. Nil
/// (and the demo runs over tcp) when openssl is missing.
func demoCertificate() -> URL? {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("floe-demo-tls-\(UUID())")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", folder.appendingPathComponent("demo.key").path, "-out",
        folder.appendingPathComponent("demo.pem").path,
        "-days", "1", "-subj", "/O=Floe demo/CN=floe-demo (demo only)",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try process.run()
        process.waitUntilExit()
    } catch {
        return nil
    }
    return process.terminationStatus == 0 ? folder : nil
}

/// `floe-demo`: a registry, a server and a client in one process. The server registers its
/// adapter as `GreeterAdapter`; the client knows only the locator and `greeter@GreeterAdapter`.
/// Unless the command line sets `Greeter.Endpoints`, server and client talk mutual TLS, with
/// compression (`-z`): both present the demo certificate and trust only it.
func runBoth() async throws {
    let arguments = Array(CommandLine.arguments.dropFirst())
    var (properties, rest) = try configuration(arguments)
    if let unexpected = rest.first { usageError("unexpected argument '\(unexpected)'") }
    var tlsFolder: URL?
    if !arguments.contains(where: { $0.hasPrefix("--Greeter.Endpoints") }) {
        if let folder = demoCertificate() {
            tlsFolder = folder
            properties["Greeter.Endpoints"] = "ssl -h 127.0.0.1 -p 0 -z"
            properties["IceSSL.DefaultDir"] = folder.path
            properties["IceSSL.CertFile"] = "demo.pem"
            properties["IceSSL.KeyFile"] = "demo.key"
            properties["IceSSL.CAs"] = "demo.pem"
            properties["IceSSL.CheckCertName"] = "1"
            print("tls: a throwaway self-signed certificate in \(folder.path) (demo only)")
        } else {
            properties["Greeter.Endpoints"] = "tcp -h 127.0.0.1 -p 0 -z"
            print("tls: no openssl command to make a demo certificate; running over tcp")
        }
    }
    // The registry, unless the command line names one (`--Ice.Default.Locator=...`).
    // Its data goes to a temporary directory, removed at the end: demo only.
    var registry: (communicator: Communicator, service: RegistryService, data: URL)?
    if properties["Ice.Default.Locator"] == nil {
        let communicator = Communicator()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("floe-demo-registry-\(UUID())")
        let service = try await RegistryService(
            communicator: communicator, endpoints: "tcp -h 127.0.0.1 -p 0", dataDirectory: data.path)
        properties["Ice.Default.Locator"] = service.locator.description
        print("registry: locator is \"\(service.locator)\"")
        registry = (communicator, service, data)
    }
    if properties["Greeter.AdapterId"] == nil { properties["Greeter.AdapterId"] = "GreeterAdapter" }

    // Server: an adapter on the configured endpoints (an ephemeral port by default), registered
    // with the locator on activation.
    let server = try Communicator(properties: properties)
    let adapter = try await server.createObjectAdapter(name: "Greeter")
    let served = try adapter.add(servant: GreeterServant(verbose: true), id: Identity(name: "greeter"))
    try await adapter.activate()
    print("server: listening on \(adapter.endpoints.map { "\($0.host):\($0.port)" }), greeter is \"\(served)\"")

    // Client: a separate communicator that knows only the locator and the indirect proxy.
    let client = try Communicator(properties: properties)
    guard let untyped = try client.stringToProxy(served.description),
        let greeter = try await checkedCast(prx: untyped, type: (any GreeterPrx).self)
    else {
        fail("the greeter does not implement ::Demo::Greeter")
    }
    for name in ["Alice", "Bob"] {
        let greeting = try await greeter.greet(name)
        print("client: got \"\(greeting.text)\" (#\(greeting.count))")
    }
    let info = try await greeter.ice_getConnection().info
    if let tls = info.tls {
        guard tls.verified else { fail("the server's certificate was not verified") }
        print("client: \(info.type) connection, \(tls.protocolVersion), server is \"\(tls.subject ?? "?")\"")
    } else {
        print("client: \(info.type) connection")
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
    if let registry {
        await registry.service.close()
        await registry.communicator.destroy()
        try? FileManager.default.removeItem(at: registry.data)
    }
    if let tlsFolder { try? FileManager.default.removeItem(at: tlsFolder) }
    print("done")
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "server": try await runServer(Array(arguments.dropFirst()))
    case "client": try await runClient(Array(arguments.dropFirst()))
    case "-h", "--help", "help": print(usage, terminator: "")
    default: try await runBoth()
    }
} catch {
    // A wrong property or an unreachable peer: one line and status 1, not a crash report.
    fail("\(error)")
}
