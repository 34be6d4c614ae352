import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SwiftProtobuf

/// The workloads of BENCH.md §4 that have a gRPC counterpart, in the table's order. gRPC has
/// no oneway calls, and this peer has no compression, structs or classes.
enum Workload: String, CaseIterable {
    case latency, pipelined
    case throughputSend = "throughput-send", throughputRecv = "throughput-recv"

    var defaultCalls: Int {
        switch self {
        case .latency: 10_000
        case .pipelined: 50_000
        case .throughputSend, .throughputRecv: 1_000
        }
    }

    /// BENCH.md's workload names this peer skips when they are asked for by name.
    static let unsupported: Set<String> = [
        "oneway", "throughput-send-z", "throughput-recv-z", "structs-send", "structs-recv", "classes-send",
        "classes-recv",
    ]

    /// Expands a `--workloads` list of names and groups into the workloads to run, in table
    /// order, and the BENCH.md workloads it asked for that this peer skips. Groups mean their
    /// supported members, so `all` and `core` run the four workloads above and
    /// `--workloads core,classes` (Tools/bench.sh's default) works. A name BENCH.md does not
    /// define is a usage error.
    static func select(_ list: String) throws -> (run: [Workload], skipped: [String]) {
        var chosen = Set<Workload>()
        var skipped: [String] = []
        for name in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            switch name {
            case "all", "core": chosen.formUnion(allCases)
            case "throughput": chosen.formUnion([.throughputSend, .throughputRecv])
            case "throughput-z": skipped += ["throughput-send-z", "throughput-recv-z"]
            case "structs": skipped += ["structs-send", "structs-recv"]
            case "classes": skipped += ["classes-send", "classes-recv"]
            default:
                if let workload = Workload(rawValue: name) {
                    chosen.insert(workload)
                } else if unsupported.contains(name) {
                    skipped.append(name)
                } else {
                    throw UsageError("unknown workload '\(name)'")
                }
            }
        }
        var seen = Set<String>()
        return (allCases.filter(chosen.contains), skipped.filter { seen.insert($0).inserted })
    }
}

/// A failed check of a reply: exit status 1 (BENCH.md §6).
struct VerificationError: Error, CustomStringConvertible {
    let description: String
}

/// One timed run: its duration and, for `latency`, each call's time in seconds.
struct Measurement {
    var seconds: Double
    var callSeconds: [Double] = []
}

/// Runs workloads against the server (BENCH.md §4–5). Data sets and request messages are
/// built before any timed region.
struct WorkloadRunner: Sendable {
    let perf: Bench_Perf.Client<HTTP2ClientTransport.Posix>
    let pipeline: Int
    let bytes: Int
    /// The standard payload: what `recvBytes` must return, and `sendBytes`' argument.
    let payload: Data
    let sendRequest: Bench_Bytes
    let recvRequest: Bench_Size
    /// The protobuf encoding of the `Bytes` message (field tag, length, data): the counterpart
    /// of BENCH.md's "encoded size of the sequence, size prefix included". It is N + 4 for
    /// N = 1 MiB where Ice's is N + 5; the difference is far below the run-to-run noise.
    let payloadEncodedSize: Int

    init(perf: Bench_Perf.Client<HTTP2ClientTransport.Posix>, pipeline: Int, bytes: Int) throws {
        self.perf = perf
        self.pipeline = pipeline
        self.bytes = bytes
        let payload = Payload.make(bytes)
        let sendRequest = Bench_Bytes.with { $0.data = payload }
        let encoded: [UInt8] = try sendRequest.serializedBytes()
        self.payload = payload
        self.sendRequest = sendRequest
        self.recvRequest = Bench_Size.with { $0.size = Int64(bytes) }
        self.payloadEncodedSize = encoded.count
    }

    func payloadBytes(_ workload: Workload) -> Int {
        switch workload {
        case .latency, .pipelined: 0
        case .throughputSend, .throughputRecv: payloadEncodedSize
        }
    }

    /// Runs `calls` calls; `checkFully` compares received data with the standard payload
    /// (warm-up), otherwise only lengths and counts are checked.
    func execute(_ workload: Workload, calls: Int, checkFully: Bool) async throws -> Measurement {
        let clock = ContinuousClock()
        var callSeconds: [Double] = []
        let start = clock.now
        switch workload {
        case .latency:
            callSeconds.reserveCapacity(calls)
            for _ in 0..<calls {
                let begin = clock.now
                _ = try await perf.ping(Bench_Empty())
                callSeconds.append((clock.now - begin).seconds)
            }
        case .pipelined:
            try await pipelined(calls: calls)
        case .throughputSend:
            for _ in 0..<calls {
                let count = try await perf.sendBytes(sendRequest).count
                try expect(count, Int64(payload.count), "sendBytes count")
            }
        case .throughputRecv:
            for _ in 0..<calls {
                let received = try await perf.recvBytes(recvRequest).data
                try expect(received.count, bytes, "recvBytes length")
                if checkFully { try expect(received == payload, true, "recvBytes content") }
            }
        }
        return Measurement(seconds: (clock.now - start).seconds, callSeconds: callSeconds)
    }

    /// K calls outstanding on the one connection until `calls` were issued (BENCH.md §4.2):
    /// K callers, each making its share of sequential calls, keep K in flight without a task
    /// per call, the same shape as the Floe peer's `pipelined`. Every unary call is an HTTP/2
    /// stream of its own on the client's one connection.
    private func pipelined(calls: Int) async throws {
        let perf = perf
        let callers = min(pipeline, calls)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<callers {
                let share = calls / callers + (caller < calls % callers ? 1 : 0)
                group.addTask {
                    for _ in 0..<share { _ = try await perf.ping(Bench_Empty()) }
                }
            }
            try await group.waitForAll()
        }
    }

    private func expect<T: Equatable>(_ actual: T, _ expected: T, _ what: String) throws {
        guard actual == expected else {
            throw VerificationError(description: "verification failed: \(what): got \(actual), expected \(expected)")
        }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
