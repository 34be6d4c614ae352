import ArgumentParser
import CoreMetrics
import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import Foundation

/// The Floe peer of the Ice wire benchmark (`../shared/peers/BENCH.md`):
///
///     floe-bench server [--endpoints STR] [--Ice.Name=value ...]
///     floe-bench client [--proxy STR] [--workloads LIST] ... [--Ice.Name=value ...]
@main
struct FloeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "floe-bench", abstract: "The Floe peer of the Ice wire benchmark (BENCH.md).",
        subcommands: [BenchServer.self, BenchClient.self, CodecBench.self, SoakClient.self, LookupBench.self])

    /// BENCH.md's exit statuses: 0 success, 1 a failed call or verification, 2 a bad command line.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let properties: Properties
        let command: any ParsableCommand
        do {
            // `--Bench.*` configures the server's adapter (e.g. `--Bench.AdapterId`).
            let (parsed, remaining) = try Properties.parse(
                arguments: arguments, prefixes: Properties.reservedPrefixes + ["Bench"])
            properties = parsed
            // `--Floe.EventLoopExecutor=0` keeps Swift's own thread pool, for comparison.
            if properties["Floe.EventLoopExecutor"] != "0" { EventLoopExecutor.install() }
            // `--Floe.Metrics=1` measures metrics with a backend that keeps the values; with
            // `--Floe.Tracing=1` spans go to the default no-op tracer.
            if properties["Floe.Metrics"] == "1" { MetricsSystem.bootstrap(CountingMetrics()) }
            command = try parseAsRoot(remaining)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
        do {
            switch command {
            case let server as BenchServer: try await server.run(properties: properties)
            case let client as BenchClient: try await client.run(properties: properties)
            case let codec as CodecBench: try codec.run()
            case let soak as SoakClient: try await soak.run(properties: properties)
            case let lookups as LookupBench: try await lookups.run(properties: properties)
            default:
                // stdout carries only results (BENCH.md §7).
                FileHandle.standardError.write(Data((helpMessage() + "\n").utf8))
                Foundation.exit(2)
            }
        } catch {
            FileHandle.standardError.write(Data("floe-bench: \(error)\n".utf8))
            Foundation.exit(isCommandLineError(error) ? 2 : 1)
        }
    }

    /// Whether `error` is the command line's fault (BENCH.md §6: exit status 2) rather than a
    /// failed call or verification (1). Proxies and endpoints are parsed once the communicator
    /// exists, so their errors arrive here rather than from argument validation.
    static func isCommandLineError(_ error: any Error) -> Bool {
        if let error = error as? BenchError, case .usage = error { return true }
        if let error = error as? LocalError { return error.code == .proxyParse || error.code == .invalidArgument }
        return false
    }

    /// The benchmark's defaults (BENCH.md §1), under any `--Ice.*` the user gave.
    static func communicator(_ given: Properties, server: Bool) throws -> Communicator {
        var properties = given
        if properties["Ice.MessageSizeMax"] == nil { properties["Ice.MessageSizeMax"] = "8192" }
        // BENCH.md §3: a server dispatches one connection's requests in arrival order.
        if server, properties["Ice.Connection.MaxDispatches"] == nil {
            properties["Ice.Connection.MaxDispatches"] = "1"
        }
        return try Communicator(properties: properties, sliceLoader: Bench_SliceLoader(), transport: NIOTransport())
    }
}

struct BenchServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Serves the object 'bench'; prints 'ready' once it accepts connections.")

    @Option(help: "Endpoints of the object adapter.")
    var endpoints = "tcp -h 127.0.0.1 -p 10000"
    @Option(help: "Writes which soak calls ran (Tools/soak.sh) to this file at shutdown.")
    var soakLedger: String?
    @Option(help: "Pass-through dispatch middleware to install (measures their cost).")
    var middleware = 0

    @concurrent func run(properties: Properties) async throws {
        let communicator = try FloeBench.communicator(properties, server: true)
        let adapter = try await communicator.createObjectAdapterWithEndpoints(name: "Bench", endpoints: endpoints)
        for _ in 0..<middleware { try adapter.use { PassThroughMiddleware(next: $0) } }
        let servant = PerfServant()
        try adapter.add(servant: servant, id: Identity(name: "bench"))
        try await adapter.activate()
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        await communicator.waitForShutdown()
        await communicator.destroy()
        if let soakLedger { try servant.ledger.write(to: soakLedger) }
    }
}
