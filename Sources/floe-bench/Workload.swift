import Foundation

/// The workloads of BENCH.md §4, in the order they run.
enum Workload: String, CaseIterable {
    case latency, pipelined, oneway
    case throughputSend = "throughput-send", throughputRecv = "throughput-recv"
    case throughputSendZ = "throughput-send-z", throughputRecvZ = "throughput-recv-z"
    case structsSend = "structs-send", structsRecv = "structs-recv"
    case classesSend = "classes-send", classesRecv = "classes-recv"

    var defaultCalls: Int {
        switch self {
        case .latency: 10_000
        case .pipelined, .oneway: 50_000
        case .throughputSend, .throughputRecv: 1_000
        case .throughputSendZ, .throughputRecvZ: 3
        case .structsSend, .structsRecv, .classesSend, .classesRecv: 500
        }
    }

    /// Whether it goes through a compressed proxy (`ice_compress(true)`, BENCH.md §4.4).
    var isCompressed: Bool { self == .throughputSendZ || self == .throughputRecvZ }

    /// Expands a `--workloads` list of names and groups, in table order.
    static func select(_ list: String) throws -> [Workload] {
        var chosen = Set<Workload>()
        for name in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            switch name {
            case "all": chosen.formUnion(allCases)
            case "core":
                chosen.formUnion([
                    .latency, .pipelined, .oneway, .throughputSend, .throughputRecv, .structsSend, .structsRecv,
                ])
            case "throughput": chosen.formUnion([.throughputSend, .throughputRecv])
            case "throughput-z": chosen.formUnion([.throughputSendZ, .throughputRecvZ])
            case "structs": chosen.formUnion([.structsSend, .structsRecv])
            case "classes": chosen.formUnion([.classesSend, .classesRecv])
            default:
                guard let workload = Workload(rawValue: name) else {
                    throw BenchError.usage("unknown workload '\(name)'")
                }
                chosen.insert(workload)
            }
        }
        return allCases.filter(chosen.contains)
    }
}

enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    case verification(String)

    var description: String {
        switch self {
        case .usage(let text): text
        case .verification(let text): "verification failed: \(text)"
        }
    }
}
