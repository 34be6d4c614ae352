import Foundation

/// The standard data sets of BENCH.md §2, identical in every peer so receivers can check them.
enum DataSets {
    /// N bytes of xorshift32 (13, 17, 5) output from seed 2463534242: byte k is
    /// 'a' + (low 4 bits of the k-th output).
    static func payload(_ size: Int) -> ByteSeq {
        var x: UInt32 = 2_463_534_242
        return Data(
            (0..<max(size, 0)).map { _ in
                x ^= x << 13
                x ^= x >> 17
                x ^= x << 5
                return UInt8(ascii: "a") + UInt8(x & 0x0F)
            })
    }

    /// Item k: s = k as 8 zero-padded digits (mod 10^8), d = k * 0.5, i = k.
    static func items(_ count: Int) -> ItemSeq {
        (0..<max(count, 0)).map { k in
            Item(s: String(format: "%08d", k % 100_000_000), d: Double(k) * 0.5, i: Int32(k))
        }
    }

    /// The tree of `count` nodes in heap order: node k has id k, weight k * 0.25, children
    /// 2k+1 and 2k+2 when below `count`. Returns node 0.
    static func tree(_ count: Int) -> Node? {
        guard count > 0 else { return nil }
        let nodes = (0..<count).map { Node(id: Int32($0), weight: Double($0) * 0.25, left: nil, right: nil) }
        for k in 0..<count {
            if 2 * k + 1 < count { nodes[k].left = nodes[2 * k + 1] }
            if 2 * k + 2 < count { nodes[k].right = nodes[2 * k + 2] }
        }
        return nodes[0]
    }

    /// The nodes reachable from `root`, counted without recursion (the data set is a tree).
    /// The graph comes from the network and may have cycles or shared nodes, which a tree walk
    /// would follow forever or exponentially often; a walk longer than `limit` steps fails
    /// instead. (Each node took at least one byte of its message, so a walk longer than the
    /// message size limit is revisiting nodes.)
    static func countNodes(_ root: Node?, limit: Int) throws -> Int {
        // Reachable nodes, each counted once: a received graph may share nodes or have cycles
        // (`root.left = root`), which a plain walk would follow forever or count many times.
        var seen = Set<ObjectIdentifier>()
        var stack = root.map { [$0] } ?? []
        while let node = stack.popLast() {
            guard seen.insert(ObjectIdentifier(node)).inserted else { continue }
            guard seen.count <= limit else {
                throw BenchError.usage("the graph has more than \(limit) nodes")
            }
            if let left = node.left { stack.append(left) }
            if let right = node.right { stack.append(right) }
        }
        return seen.count
    }

    /// Whether `root` is exactly the standard tree of `count` nodes.
    static func isStandardTree(_ root: Node?, count: Int) -> Bool {
        var stack: [(Node?, Int)] = [(root, 0)]
        var seen = 0
        while let (node, k) = stack.popLast() {
            guard k < count else {
                if node != nil { return false }
                continue
            }
            guard let node, node.id == Int32(k), node.weight == Double(k) * 0.25 else { return false }
            seen += 1
            stack.append((node.left, 2 * k + 1))
            stack.append((node.right, 2 * k + 2))
        }
        return seen == count
    }
}
