import FloeCore
import FloeEncoding
import FloeProtocol
import NIOConcurrencyHelpers

/// The server object of BENCH.md §3. Standard data sets are built once per size and cached,
/// as the C++ peer does; they are still marshaled on every call.
final class PerfServant: Perf {
    private let payloads = SizeCache(DataSets.payload)
    private let itemSets = SizeCache(DataSets.items)
    private let trees = SizeCache { SharedTree(root: DataSets.tree($0)) }

    /// Soak calls (`Tools/soak.sh`) are counted; benchmark pings cost one dictionary lookup.
    let ledger = SoakLedger()

    func ping(current: Current) async throws {
        if let tag = current.ctx["soak"] { ledger.record(tag) }
    }

    func sendBytes(data: ByteSeq, current: Current) async throws -> Int32 { Int32(data.count) }

    func recvBytes(size: Int32, current: Current) async throws -> ByteSeq {
        payloads[try checked(size, bytesEach: 1, current)]
    }

    func sendItems(items: ItemSeq, current: Current) async throws -> Int32 { Int32(items.count) }

    func recvItems(count: Int32, current: Current) async throws -> ItemSeq {
        itemSets[try checked(count, bytesEach: 21, current)]
    }

    func sendGraph(root: sending Node?, current: Current) async throws -> Int32 {
        Int32(try DataSets.countNodes(root, limit: current.adapter.communicator.messageSizeMax))
    }

    func recvGraph(count: Int32, current: Current) async throws -> sending Node? {
        // One graph serves every call (see `SharedTree`), so it is handed over outside region
        // checking: nothing holds on to it or changes it after the reply is encoded.
        // A node takes at least 15 bytes: marker, flags, type id index, id and weight.
        nonisolated(unsafe) let root = trees[try checked(count, bytesEach: 15, current)].root
        return root
    }

    func shutdown(current: Current) async throws {
        // Shutdown does not wait for this dispatch: the caller still gets its reply.
        await current.adapter.communicator.shutdown()
    }
}

/// A size asked for by a client, refused unless its reply fits in a message (sizes come from
/// the network: a bogus one must not make the server build gigabytes).
private func checked(_ size: Int32, bytesEach: Int, _ current: Current) throws -> Int32 {
    let limit = current.adapter.communicator.messageSizeMax
    guard size >= 0, Int(size) * bytesEach <= limit else {
        throw BenchError.usage("a reply of \(size) × \(bytesEach) bytes exceeds Ice.MessageSizeMax (\(limit) bytes)")
    }
    return size
}

/// A cached standard tree. Class instances are not `Sendable`; this one may be shared because
/// it is never changed after it is built, and encoding a reply only reads it.
struct SharedTree: @unchecked Sendable {
    let root: Node?
}

/// A standard data set per size, built on first use. Only the first few sizes asked for are
/// kept, so clients asking for ever new sizes cannot make the server grow without bound.
final class SizeCache<Value: Sendable>: Sendable {
    private static var capacity: Int { 4 }
    private let values = NIOLockedValueBox<[Int32: Value]>([:])
    private let make: @Sendable (Int) -> Value

    init(_ make: @escaping @Sendable (Int) -> Value) { self.make = make }

    subscript(size: Int32) -> Value {
        values.withLockedValue { cache in
            if let cached = cache[size] { return cached }
            let value = make(Int(size))
            if cache.count < Self.capacity { cache[size] = value }
            return value
        }
    }
}
