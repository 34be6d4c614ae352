import ArgumentParser
import FloeEncoding
import Foundation
import NIOCore

/// `floe-bench codec`: encodes and decodes the structs and classes data sets in memory, with no
/// network, and prints the fastest of many rounds per operation. The networked workloads on
/// these VMs vary by 10–30% from run to run, far more than a change to the encoder moves them;
/// this isolates the encoding hot paths so such a change can be measured (not part of BENCH.md).
struct CodecBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Times encoding and decoding of the structs and classes data sets in memory (no network).")

    @Option(help: "Struct count.") var items = 10_000
    @Option(help: "Node count.") var nodes = 1_000
    @Option(help: "Timed rounds per operation; the fastest is reported.") var rounds = 200

    func validate() throws {
        guard (1...10_000_000).contains(items), (1...1_000_000).contains(nodes), (1...100_000).contains(rounds) else {
            throw ValidationError("--items, --nodes and --rounds must be positive and moderate")
        }
    }

    func run() throws {
        let itemSeq = DataSets.items(items)
        let tree = DataSets.tree(nodes)
        let encodedItems = encode { itemSeq.encode(to: &$0) }
        let encodedTree = encode { $0.write(tree as Value?) }

        report("structs-encode", count: items, bytes: encodedItems.readableBytes) {
            _ = encode { itemSeq.encode(to: &$0) }
        }
        try report("structs-decode", count: items, bytes: encodedItems.readableBytes) {
            var stream = Self.input(encodedItems)
            let decoded = try ItemSeq(from: &stream)
            guard decoded.count == items else { throw BenchError.verification("decoded \(decoded.count) items") }
        }
        report("classes-encode", count: nodes, bytes: encodedTree.readableBytes) {
            _ = encode { $0.write(tree as Value?) }
        }
        try report("classes-decode", count: nodes, bytes: encodedTree.readableBytes) {
            var stream = Self.input(encodedTree)
            let root = try stream.read(Node.self)
            try stream.endEncapsulation()
            guard root?.id == 0 else { throw BenchError.verification("decoded no tree") }
        }
    }

    /// An encapsulation holding what `body` writes, as a request's parameters are sent.
    private func encode(_ body: (inout FloeEncoding.OutputStream) -> Void) -> ByteBuffer {
        var stream = FloeEncoding.OutputStream()
        stream.startEncapsulation()
        body(&stream)
        stream.endEncapsulation()
        return stream.finished()
    }

    private static func input(_ bytes: ByteBuffer) -> FloeEncoding.InputStream {
        var stream = InputStream(buffer: bytes, sliceLoader: Bench_SliceLoader())
        // The encapsulation header was written by `encode`; it is valid.
        _ = try? stream.startEncapsulation()
        return stream
    }

    /// Runs `body` `rounds` times and prints the fastest round as a JSON line.
    private func report(_ name: String, count: Int, bytes: Int, _ body: () throws -> Void) rethrows {
        let clock = ContinuousClock()
        var fastest = Duration.seconds(1_000)
        for _ in 0..<rounds { fastest = min(fastest, try clock.measure(body)) }
        let seconds = Double(fastest.components.seconds) + Double(fastest.components.attoseconds) * 1e-18
        let perElement = String(format: "%.2f", seconds * 1e9 / Double(count))
        let rate = String(format: "%.1f", Double(bytes) / seconds / 1e6)
        print(
            #"{"codec":"\#(name)","count":\#(count),"bytes":\#(bytes),"ns_per_element":\#(perElement),"mb_per_s":\#(rate)}"#
        )
    }
}
