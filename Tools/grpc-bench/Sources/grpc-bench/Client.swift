import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix

struct BenchClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client", abstract: "Runs the workloads against a server; one JSON line per workload.")

    @Option(help: "Ice-style proxy of the server (only the endpoint's -h and -p are used).")
    var proxy = "bench:tcp -h 127.0.0.1 -p 10000"
    @Option(help: "Comma-separated workload or group names.") var workloads = "all"
    @Option(help: "Measured runs per workload.") var runs = 3
    @Option(help: "Multiplies every default call count.") var scale = 1.0
    @Option(help: "Outstanding requests in 'pipelined'.") var pipeline = 64
    @Option(help: "Byte-sequence size (throughput workloads).") var bytes = 1_048_576
    // Accepted so every BENCH.md command line works; the structs and classes workloads they
    // size are not run by this peer.
    @Option(help: "Struct count (unused: no structs workloads).") var items = 10_000
    @Option(help: "Node count (unused: no classes workloads).") var nodes = 1000
    @Option(help: "Copied into a 'label' field of every result.") var label: String?
    @Flag(help: "Calls Shutdown on the server at the end.") var shutdown = false
    @Flag(help: "Prints each workload and its call count, then exits.") var list = false

    func validate() throws {
        do {
            _ = try Workload.select(workloads)
            _ = try TCPEndpoint(proxy: proxy)
        } catch {
            throw ValidationError("\(error)")
        }
        guard runs >= 1, pipeline >= 1, scale > 0, scale.isFinite, items >= 0, nodes >= 0 else {
            throw ValidationError("--runs and --pipeline must be at least 1, --scale positive, sizes not negative")
        }
        guard (0...Payload.maxBytes).contains(bytes) else {
            throw ValidationError("--bytes must be in 0...\(Payload.maxBytes) (gRPC message limit)")
        }
    }

    /// `max(1, round(default_calls * --scale))` (BENCH.md §5).
    func calls(_ workload: Workload) -> Int { max(1, Int((Double(workload.defaultCalls) * scale).rounded())) }

    @concurrent func run() async throws {
        let (selected, skipped) = try Workload.select(workloads)
        if !skipped.isEmpty {
            let note = "grpc-bench client: skipping \(skipped.joined(separator: ", ")) (no gRPC counterpart here)\n"
            FileHandle.standardError.write(Data(note.utf8))
        }
        if list {
            for workload in selected { print("\(workload.rawValue) \(calls(workload))") }
            return
        }
        try await withGRPCClient(transport: try makeTransport()) { client in
            let perf = Bench_Perf.Client(wrapping: client)
            // The connection exists before any workload runs (BENCH.md §5.1).
            _ = try await perf.ping(Bench_Empty())
            let runner = try WorkloadRunner(perf: perf, pipeline: pipeline, bytes: bytes)
            for workload in selected {
                let calls = calls(workload)
                _ = try await runner.execute(workload, calls: max(1, calls / 10), checkFully: true)
                var measured: [Measurement] = []
                for _ in 0..<runs {
                    measured.append(try await runner.execute(workload, calls: calls, checkFully: false))
                }
                let report = Report(
                    workload: workload, calls: calls, runs: measured,
                    payloadBytes: runner.payloadBytes(workload),
                    pipeline: workload == .pipelined ? pipeline : nil, label: label)
                FileHandle.standardOutput.write(Data((report.json + "\n").utf8))
            }
            if shutdown { _ = try await perf.shutdown(Bench_Empty()) }
        }
    }

    /// One HTTP/2 connection (the default pick-first policy) with grpc-swift's defaults,
    /// but for the message limits.
    private func makeTransport() throws -> HTTP2ClientTransport.Posix {
        let endpoint = try TCPEndpoint(proxy: proxy)
        // The limits are per method; a config named by an empty service applies to all. The
        // transport checks replies against `maxRequestMessageBytes` too, so both are set.
        let limits = MethodConfig(
            names: [MethodConfig.Name(service: "")],
            maxRequestMessageBytes: Limits.maxMessageBytes,
            maxResponseMessageBytes: Limits.maxMessageBytes)
        let serviceConfig = ServiceConfig(methodConfig: [limits])
        switch endpoint.kind {
        case .ipv4:
            return try HTTP2ClientTransport.Posix(
                target: .ipv4(address: endpoint.host, port: endpoint.port), transportSecurity: .plaintext,
                serviceConfig: serviceConfig)
        case .ipv6:
            return try HTTP2ClientTransport.Posix(
                target: .ipv6(address: endpoint.host, port: endpoint.port), transportSecurity: .plaintext,
                serviceConfig: serviceConfig)
        case .hostName:
            return try HTTP2ClientTransport.Posix(
                target: .dns(host: endpoint.host, port: endpoint.port), transportSecurity: .plaintext,
                serviceConfig: serviceConfig)
        }
    }
}
