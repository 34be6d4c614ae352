import FloeCore
import FloeEncoding
import FloeNIO
import FloeProtocol
import Foundation

/// One timed run: its duration and, for `latency`, each call's time in seconds.
struct Measurement {
    var seconds: Double
    var callSeconds: [Double] = []
}

/// Runs workloads against the server (BENCH.md §4–5). The data sets are built before any
/// timed region.
struct WorkloadRunner: Sendable {
    let perf: any PerfPrx
    let options: BenchClient
    let payload: ByteSeq
    let items: ItemSeq
    let tree: SharedTree

    init(perf: any PerfPrx, options: BenchClient) {
        self.perf = perf
        self.options = options
        payload = DataSets.payload(options.bytes)
        items = DataSets.items(options.items)
        tree = SharedTree(root: DataSets.tree(options.nodes))
    }

    func payloadBytes(_ workload: Workload) -> Int {
        switch workload {
        case .throughputSend, .throughputRecv, .throughputSendZ, .throughputRecvZ:
            RawWriter.sizeOfSize(options.bytes) + options.bytes
        case .structsSend, .structsRecv: RawWriter.sizeOfSize(options.items) + 21 * options.items
        default: 0
        }
    }

    /// Runs `calls` calls; `checkFully` compares received data with the standard sets (warm-up),
    /// otherwise only lengths and counts are checked.
    ///
    /// Runs isolated to the connection's event loop (`ConnectionActor`), as a latency-minded
    /// Floe application would: calls then involve no thread or executor switch.
    func execute(
        _ workload: Workload, calls: Int, checkFully: Bool, on loop: isolated ConnectionActor
    ) async throws -> Measurement {
        let clock = ContinuousClock()
        let start = clock.now
        var callSeconds: [Double] = []
        switch workload {
        case .latency:
            callSeconds.reserveCapacity(calls)
            for _ in 0..<calls {
                let begin = clock.now
                try await perf.ping()
                callSeconds.append((clock.now - begin).seconds)
            }
        case .pipelined:
            try await pipelined(calls: calls, on: loop)
        case .oneway:
            let oneway = perf.ice_oneway()
            for _ in 0..<calls { try await oneway.ping() }
            try await perf.ping()
        case .throughputSend, .throughputSendZ:
            // (Floe shares one connection between compressed and uncompressed proxies.)
            let perf = workload.isCompressed ? perf.ice_compress(true) : perf
            for _ in 0..<calls { try expect(try await perf.sendBytes(payload), Int32(payload.count), "sendBytes") }
        case .throughputRecv, .throughputRecvZ:
            let perf = workload.isCompressed ? perf.ice_compress(true) : perf
            for _ in 0..<calls {
                let received = try await perf.recvBytes(Int32(options.bytes))
                try expect(received.count, options.bytes, "recvBytes length")
                if checkFully { try expect(received == payload, true, "recvBytes content") }
            }
        case .structsSend:
            for _ in 0..<calls { try expect(try await perf.sendItems(items), Int32(items.count), "sendItems") }
        case .structsRecv:
            for _ in 0..<calls {
                let received = try await perf.recvItems(Int32(options.items))
                try expect(received.count, options.items, "recvItems count")
                if checkFully { try expect(received == items, true, "recvItems content") }
            }
        case .classesSend:
            // One tree serves every call, as in the C++ peer. A sent class graph is `sending`;
            // sharing this one is safe because encoding only reads it and nothing changes it.
            nonisolated(unsafe) let tree = self.tree.root
            for _ in 0..<calls {
                try expect(try await perf.sendGraph(tree), Int32(options.nodes), "sendGraph")
            }
        case .classesRecv:
            for _ in 0..<calls {
                let root = try await perf.recvGraph(Int32(options.nodes))
                if checkFully {
                    try expect(DataSets.isStandardTree(root, count: options.nodes), true, "recvGraph tree")
                } else {
                    try expect(root?.id, options.nodes > 0 ? 0 : nil, "recvGraph root")
                }
            }
        }
        return Measurement(seconds: (clock.now - start).seconds, callSeconds: callSeconds)
    }

    /// K requests outstanding on the one connection until `calls` were issued.
    private func pipelined(calls: Int, on loop: isolated ConnectionActor) async throws {
        let perf = perf
        let workers = min(options.pipeline, calls)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                let share = calls / workers + (worker < calls % workers ? 1 : 0)
                group.addTask { try await Self.ping(perf, times: share, on: loop) }
            }
            try await group.waitForAll()
        }
    }

    /// One pipelined caller: hops to the connection's loop once, then calls without switching.
    private static func ping(_ perf: any PerfPrx, times: Int, on loop: isolated ConnectionActor) async throws {
        for _ in 0..<times { try await perf.ping() }
    }

    private func expect<T: Equatable>(_ actual: T, _ expected: T, _ what: String) throws {
        guard actual == expected else { throw BenchError.verification("\(what): got \(actual), expected \(expected)") }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
