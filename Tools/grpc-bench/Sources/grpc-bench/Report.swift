import Foundation

/// One workload's JSON line (BENCH.md §7), field for field as the Floe peer writes it.
struct Report {
    /// The client peer, for the `impl` field: this runtime and its version.
    static let impl = "swift/grpc-swift-2.4.3"

    let workload: Workload
    let calls: Int
    let runs: [Measurement]
    let payloadBytes: Int
    let pipeline: Int?
    let label: String?

    /// The median run by duration: element (R - 1) / 2 of the ascending order, the faster of
    /// the two middle runs for even R.
    var median: Measurement { runs.sorted { $0.seconds < $1.seconds }[(runs.count - 1) / 2] }

    var json: String {
        let seconds = median.seconds
        var fields: [(String, String)] = [
            ("workload", quoted(workload.rawValue)),
            ("calls", "\(calls)"),
            ("seconds", number(seconds, 6)),
            ("per_call_us", number(seconds / Double(calls) * 1e6, 3)),
            ("calls_per_s", number(Double(calls) / seconds, 1)),
            ("mb_per_s", payloadBytes == 0 ? "null" : number(Double(payloadBytes * calls) / seconds / 1e6, 3)),
            ("payload_bytes", "\(payloadBytes)"),
            ("runs", "\(runs.count)"),
            ("run_seconds", "[" + runs.map { number($0.seconds, 6) }.joined(separator: ",") + "]"),
        ]
        if let pipeline { fields.append(("pipeline", "\(pipeline)")) }
        if workload == .latency {
            // Percentiles of the individual call times of all measured runs together.
            let times = runs.flatMap(\.callSeconds).sorted()
            fields.append(("p50_us", number(Self.percentile(times, 0.50) * 1e6, 3)))
            fields.append(("p99_us", number(Self.percentile(times, 0.99) * 1e6, 3)))
        }
        fields.append(("impl", quoted(Self.impl)))
        if let label { fields.append(("label", quoted(label))) }
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// Nearest-rank percentile of sorted values: the smallest value with at least p of all
    /// values at or below it.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    private func number(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }

    /// A JSON string literal; `label` comes from the command line and may hold anything.
    private func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case let c where c.value < 0x20: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
