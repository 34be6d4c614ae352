import ArgumentParser
import FloeCore
import FloeEncoding
import FloeProtocol
import Foundation
import NIOConcurrencyHelpers

/// One client of `Tools/soak.sh`: twoway and oneway pings, each named in its context so the
/// server's ledger can tell which ran and how often. Prints one JSON line: calls made,
/// succeeded, failed (with their indexes) and oneways sent.
struct SoakClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak-client", abstract: "Sends named pings for Tools/soak.sh; prints a JSON report.")

    @Option(help: "Stringified proxy of the server object.") var proxy = "bench:tcp -h 127.0.0.1 -p 10000"
    @Option(help: "Name of this client in the server's ledger.") var name: String
    @Option(help: "Twoway pings.") var twoway = 50_000
    @Option(help: "Oneway pings.") var oneway = 5_000
    @Option(help: "Calls outstanding at once.") var concurrency = 8
    @Flag(help: "Calls shutdown() on the server and exits.") var shutdown = false

    func validate() throws {
        guard twoway >= 0, oneway >= 0, concurrency >= 1, concurrency <= 1000, !name.contains(":") else {
            throw ValidationError("counts must be positive, --concurrency in 1...1000, --name without ':'")
        }
    }

    @concurrent func run(properties: Properties) async throws {
        let communicator = try FloeBench.communicator(properties, server: false)
        guard let untyped = try communicator.stringToProxy(proxy) else { throw BenchError.usage("null proxy") }
        let perf = uncheckedCast(prx: untyped, type: (any PerfPrx).self)
        if shutdown {
            try await perf.shutdown()
            await communicator.destroy()
            return
        }
        let failed = NIOLockedValueBox<[Int]>([])
        let next = NIOLockedValueBox(0)
        let twoway = twoway
        let name = name
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while true {
                        let index = next.withLockedValue { n in
                            defer { n += 1 }
                            return n
                        }
                        guard index < twoway else { return }
                        do {
                            try await perf.ping(context: ["soak": "\(name):\(index)"])
                        } catch {
                            failed.withLockedValue { $0.append(index) }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let oneways = perf.ice_oneway()
        var onewayFailures = 0
        for index in 0..<oneway {
            do {
                try await oneways.ping(context: ["soak": "\(name)o:\(index)"])
            } catch {
                onewayFailures += 1
            }
        }
        // A twoway call after the oneways: they were all written before it on this connection.
        try? await perf.ice_ping()
        await communicator.destroy()
        let failures = failed.withLockedValue { $0 }.sorted()
        print(
            "{\"client\":\"\(name)\",\"twoway\":\(twoway),\"failed\":\(failures),\"oneway\":\(oneway),\"oneway_failed\":\(onewayFailures)}"
        )
    }
}
