import FloeCore
import NIOConcurrencyHelpers

/// The server object of BENCH.md §3. Standard data sets are built once per size and cached
/// (they are still marshaled on every call); trees are built per call, because a class graph
/// handed to the runtime must not be shared with later calls.
final class PerfServant: Perf {
    private let payloads = NIOLockedValueBox<[Int32: ByteSeq]>([:])
    private let itemSets = NIOLockedValueBox<[Int32: ItemSeq]>([:])

    func ping(current: Current) async throws {}

    func sendBytes(data: ByteSeq, current: Current) async throws -> Int32 { Int32(data.count) }

    func recvBytes(size: Int32, current: Current) async throws -> ByteSeq {
        payloads.withLockedValue { cache in
            if let cached = cache[size] { return cached }
            let payload = DataSets.payload(Int(size))
            cache[size] = payload
            return payload
        }
    }

    func sendItems(items: ItemSeq, current: Current) async throws -> Int32 { Int32(items.count) }

    func recvItems(count: Int32, current: Current) async throws -> ItemSeq {
        itemSets.withLockedValue { cache in
            if let cached = cache[count] { return cached }
            let items = DataSets.items(Int(count))
            cache[count] = items
            return items
        }
    }

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
