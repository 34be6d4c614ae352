import FloeCore
import NIOConcurrencyHelpers

/// The server object of BENCH.md §3. Standard data sets are built once per size and cached
/// (they are still marshaled on every call); trees are built per call, because a class graph
/// handed to the runtime must not be shared with later calls.
final class PerfServant: Perf {
    private let payloads = SizeCache(DataSets.payload)
    private let itemSets = SizeCache(DataSets.items)

    func ping(current: Current) async throws {}

    func sendBytes(data: ByteSeq, current: Current) async throws -> Int32 { Int32(data.count) }

    func recvBytes(size: Int32, current: Current) async throws -> ByteSeq { payloads[size] }

    func sendItems(items: ItemSeq, current: Current) async throws -> Int32 { Int32(items.count) }

    func recvItems(count: Int32, current: Current) async throws -> ItemSeq { itemSets[count] }

    func sendGraph(root: sending Node?, current: Current) async throws -> Int32 {
        Int32(DataSets.countNodes(root))
    }

    func recvGraph(count: Int32, current: Current) async throws -> sending Node? { DataSets.tree(Int(count)) }

    func shutdown(current: Current) async throws {
        // Reply first, then stop serving.
        let communicator = current.adapter.communicator
        Task { await communicator.shutdown() }
    }
}

/// A standard data set per size, built on first use.
final class SizeCache<Value: Sendable>: Sendable {
    private let values = NIOLockedValueBox<[Int32: Value]>([:])
    private let make: @Sendable (Int) -> Value

    init(_ make: @escaping @Sendable (Int) -> Value) { self.make = make }

    subscript(size: Int32) -> Value {
        values.withLockedValue { cache in
            if let cached = cache[size] { return cached }
            let value = make(Int(size))
            cache[size] = value
            return value
        }
    }
}
