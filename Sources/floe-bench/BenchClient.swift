import ArgumentParser
import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import Foundation

struct BenchClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client", abstract: "Runs the workloads against a server; one JSON line per workload.")

    @Option(help: "Stringified proxy of the server object.") var proxy = "bench:tcp -h 127.0.0.1 -p 10000"
    @Option(help: "Comma-separated workload or group names.") var workloads = "all"
    @Option(help: "Measured runs per workload.") var runs = 3
    @Option(help: "Multiplies every default call count.") var scale = 1.0
    @Option(help: "Outstanding requests in 'pipelined'.") var pipeline = 64
    @Option(help: "Byte-sequence size (throughput workloads).") var bytes = 1_048_576
    @Option(help: "Struct count (structs workloads).") var items = 10_000
    @Option(help: "Node count (classes workloads).") var nodes = 1000
    @Option(help: "Copied into a 'label' field of every result.") var label: String?
    @Flag(help: "Calls shutdown() on the server at the end.") var shutdown = false
    @Flag(help: "Prints each workload and its call count, then exits.") var list = false
    @Option(help: "Pass-through client interceptors to install (measures their cost).") var interceptors = 0

    func validate() throws {
        do {
            _ = try Workload.select(workloads)
        } catch {
            throw ValidationError("\(error)")
        }
        guard (0...100).contains(interceptors) else { throw ValidationError("--interceptors must be in 0...100") }
        guard runs >= 1, pipeline >= 1, scale > 0, scale <= 1_000_000 else {
            throw ValidationError("--runs and --pipeline must be at least 1, --scale in (0, 1000000]")
        }
        let sizes = 0...Int(Int32.max)
        guard sizes.contains(bytes), sizes.contains(items), sizes.contains(nodes) else {
            throw ValidationError("--bytes, --items and --nodes must be in 0...\(Int32.max)")
        }
    }

    func calls(_ workload: Workload) -> Int { max(1, Int((Double(workload.defaultCalls) * scale).rounded())) }

    @concurrent func run(properties: Properties) async throws {
        let selected = try Workload.select(workloads)
        if list {
            for workload in selected { print("\(workload.rawValue) \(calls(workload))") }
            return
        }
        let communicator = try FloeBench.communicator(properties, server: false)
        guard let untyped = try communicator.stringToProxy(proxy) else { throw BenchError.usage("null proxy") }
        let perf = uncheckedCast(
            prx: untyped.ice_interceptors(Array(repeating: PassThroughInterceptor(), count: interceptors)),
            type: (any PerfPrx).self)
        try await perf.ice_ping()  // the connection exists before any workload runs
        guard let loop = ConnectionActor(try await perf.ice_getConnection()) else {
            throw BenchError.usage("not a NIO connection")
        }
        let runner = WorkloadRunner(perf: perf, options: self)
        for workload in selected {
            let calls = calls(workload)
            _ = try await runner.execute(workload, calls: max(1, calls / 10), checkFully: true, on: loop)
            var measured: [Measurement] = []
            for _ in 0..<runs {
                measured.append(try await runner.execute(workload, calls: calls, checkFully: false, on: loop))
            }
            let report = Report(
                workload: workload, calls: calls, runs: measured, payloadBytes: runner.payloadBytes(workload),
                pipeline: workload == .pipelined ? pipeline : nil, label: label)
            FileHandle.standardOutput.write(Data((report.json + "\n").utf8))
        }
        if shutdown { try await perf.shutdown() }
        await communicator.destroy()
    }
}
