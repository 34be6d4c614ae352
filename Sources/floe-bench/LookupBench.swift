import ArgumentParser
import FloeCore
import FloeIce
import Foundation

/// `floe-bench lookups`: how many `findAdapterById` calls a locator answers per second from
/// several concurrent clients (each its own communicator and connection), as a locator cache
/// that is off would make them. Prints one JSON line. Tools/bench-registry.sh runs it against
/// floe-registry and IceGrid's registry in turn.
struct LookupBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookups", abstract: "Measures a locator's findAdapterById rate; prints a JSON line.")

    @Option(help: "The locator's proxy.") var locator: String
    @Option(help: "The adapter id to look up (registered).") var adapter: String
    @Option(help: "Concurrent clients.") var clients = 8
    @Option(help: "Lookups per client.") var calls = 5_000
    @Option(help: "Copied into the JSON line.") var label = ""

    func validate() throws {
        guard (1...256).contains(clients), (1...10_000_000).contains(calls) else {
            throw ValidationError("--clients in 1...256, --calls in 1...10000000")
        }
    }

    @concurrent func run(properties: Properties) async throws {
        var proxies: [(Communicator, any LocatorPrx)] = []
        for _ in 0..<clients {
            let communicator = try FloeBench.communicator(properties, server: false)
            guard let untyped = try communicator.stringToProxy(locator) else { throw BenchError.usage("null proxy") }
            let proxy = uncheckedCast(prx: untyped, type: (any LocatorPrx).self)
            guard try await proxy.findAdapterById(adapter) != nil else {
                throw BenchError.usage("adapter '\(adapter)' is not active at the locator")
            }
            proxies.append((communicator, proxy))
        }
        let calls = calls
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (_, proxy) in proxies {
                group.addTask { for _ in 0..<calls { _ = try await proxy.findAdapterById(adapter) } }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let total = clients * calls
        let line: [String: Any] = [
            "workload": "lookups", "label": label, "clients": clients, "lookups": total,
            "lookups_per_s": Double(total) / seconds,
        ]
        let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        for (communicator, _) in proxies { await communicator.destroy() }
    }
}
