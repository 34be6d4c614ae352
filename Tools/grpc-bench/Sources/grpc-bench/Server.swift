import ArgumentParser
import Dispatch
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SwiftProtobuf

struct BenchServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Serves bench.Perf over gRPC; prints 'ready' once it accepts connections.")

    @Option(help: "Ice-style endpoint to listen on (only -h and -p are used).")
    var endpoints = "tcp -h 127.0.0.1 -p 10000"

    func validate() throws {
        do {
            _ = try address()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    private func address() throws -> GRPCNIOTransportCore.SocketAddress {
        let endpoint = try TCPEndpoint(endpoint: endpoints)
        switch endpoint.kind {
        case .ipv4: return .ipv4(host: endpoint.host, port: endpoint.port)
        case .ipv6: return .ipv6(host: endpoint.host, port: endpoint.port)
        case .hostName: throw UsageError("'\(endpoints)': the server needs an IP address, got '\(endpoint.host)'")
        }
    }

    /// Serves until the `Shutdown` call, SIGINT or SIGTERM, then stops gracefully: calls in
    /// flight (the `Shutdown` call itself among them) get their replies first.
    @concurrent func run() async throws {
        let transport = HTTP2ServerTransport.Posix(
            address: try address(),
            transportSecurity: .plaintext,
            // Otherwise grpc-swift's defaults (BENCH.md §1: peers keep their runtime's defaults).
            config: .defaults { $0.rpc.maxRequestPayloadSize = Limits.maxMessageBytes }
        )
        let (stopRequests, stop) = AsyncStream.makeStream(of: String.self)
        let server = GRPCServer(
            transport: transport,
            services: [PerfService(payloads: PayloadCache(), stop: { stop.yield("shutdown() called") })]
        )
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { stop.yield("signal \($0)") }
        defer { signals.cancel() }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            group.addTask {
                // Returns once the listener is bound; throws if binding failed.
                _ = try await transport.listeningAddress
                FileHandle.standardOutput.write(Data("ready\n".utf8))
                var requests = stopRequests.makeAsyncIterator()
                guard let reason = await requests.next() else { return }
                FileHandle.standardError.write(Data("grpc-bench server: stopping (\(reason))\n".utf8))
                server.beginGracefulShutdown()
                // A client that keeps its connection open without calls would hold serve()
                // up; past the grace period the server stops anyway.
                try await Task.sleep(for: .seconds(5))
                FileHandle.standardError.write(Data("grpc-bench server: grace period over\n".utf8))
            }
            // The first task to end decides: serve() returning is the clean stop; the grace
            // period running out cancels serve(), which closes the remaining connections.
            // An error of either (the port in use, say) ends the process with status 1.
            try await group.next()
            group.cancelAll()
        }
    }
}

/// bench.Perf: BENCH.md §3's operations for the workloads this peer runs.
struct PerfService: Bench_Perf.SimpleServiceProtocol {
    let payloads: PayloadCache
    /// Asks the server to stop; it does so after this call's reply is sent.
    let stop: @Sendable () -> Void

    func ping(request: Bench_Empty, context: ServerContext) async throws -> Bench_Empty {
        Bench_Empty()
    }

    func sendBytes(request: Bench_Bytes, context: ServerContext) async throws -> Bench_Count {
        Bench_Count.with { $0.count = Int64(request.data.count) }
    }

    func recvBytes(request: Bench_Size, context: ServerContext) async throws -> Bench_Bytes {
        // The size comes from the network: check it before allocating anything.
        guard request.size >= 0, request.size <= Int64(Payload.maxBytes) else {
            throw RPCError(code: .invalidArgument, message: "size \(request.size) is not in 0...\(Payload.maxBytes)")
        }
        let payload = payloads.payload(Int(request.size))
        return Bench_Bytes.with { $0.data = payload }
    }

    func shutdown(request: Bench_Empty, context: ServerContext) async throws -> Bench_Empty {
        stop()
        return Bench_Empty()
    }
}

/// Calls `handler` with the signal number on each of `signals`, instead of their default
/// action, until cancelled. Owned by the task that runs the server.
final class SignalWatcher {
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        sources = signals.map { number in
            // The default action would end the process before the handler runs.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
