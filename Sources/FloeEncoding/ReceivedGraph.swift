/// The class instances a stream decoded once they may form a cycle, and the means to free
/// them: reference counting alone never frees a cycle, and a peer chooses what it sends.
///
/// A stream starts tracking when it resolves a reference to an instance still being read (the
/// only way a decoded graph gets a cycle), so acyclic data costs nothing. Two kinds of release:
///
/// - `collectUnreachable()`, while the decoding code is the only holder (the end of the
///   outermost encapsulation, a reply's results, a failed decode): instances that nothing
///   outside the graph holds and that are not reachable from one that is are garbage — a
///   skipped optional value, the rest of a failed decode — and their references are broken.
/// - `release()`, once the graph was handed on (after a dispatch): if reference counts show
///   that no one outside the graph holds any of it, every reference among the instances is
///   broken; if anyone does, the graph is theirs and nothing is touched.
///
/// Unchecked `Sendable`: one task at a time uses it — the decoding code, then the dispatch or
/// call that owns the decoded values — and nothing outside Floe's modules sees it.
///
/// "Held from outside" is read from reference counts: an instance's count is what the tracker
/// holds, plus its references from other tracked instances, plus everyone else's.
package final class ReceivedGraph: @unchecked Sendable {
    private var nodes: [Value] = []
    private var indexes: [ObjectIdentifier: Int] = [:]
    /// References into each node from the others, taken when decoding ended.
    private var baseline: [Int]?

    package init() {}

    deinit { release() }

    var isEmpty: Bool { nodes.isEmpty }

    func adopt(_ value: Value) {
        let id = ObjectIdentifier(value)
        guard indexes[id] == nil else { return }
        indexes[id] = nodes.count
        nodes.append(value)
        // Decoding goes on after a collection (more content after an endpoint's
        // encapsulation): the references taken then no longer describe the graph.
        baseline = nil
    }

    /// Refuses a graph in which freeing could recurse along more than `limit` references.
    ///
    /// The heights `InputStream` keeps bound chains while the graph is a tree or a DAG. Once
    /// it tracks (a reference to an instance still being read), such a reference counts as
    /// closing a cycle, which holds only if the instance being read keeps the one referring
    /// to it. A peer can make it drop it (a class optional member nobody knows, an
    /// indirection-table entry no member uses) and chain such references without bound. So a
    /// tracked graph is measured once decoded: the longest path that does not close a cycle
    /// (a depth-first search ignoring references back to an instance on its stack) bounds
    /// what freeing recurses along, since an instance on a cycle is never freed by reference
    /// counting. A refused graph has every reference broken, so dropping it recurses nowhere.
    package func refuseChainsLongerThan(_ limit: Int) throws {
        let longest = longestChain()
        guard longest > limit else { return }
        for node in nodes { breakReferences(of: node) }
        replaceNodes(with: [])
        throw MarshalError(
            .classGraphTooDeep,
            "class graph with a chain of \(longest) instances, beyond \(limit) (10 × Ice.ClassGraphDepthMax)")
    }

    /// The number of instances on the longest path of references that closes no cycle.
    private func longestChain() -> Int {
        let edges = nodes.map { targets(of: $0) }
        // 0: not visited; 1: on the search's stack; 2: done, with `height` set.
        var state = [UInt8](repeating: 0, count: nodes.count)
        var height = [Int](repeating: 0, count: nodes.count)
        var longest = 0
        var stack: [(node: Int, next: Int)] = []
        for root in nodes.indices where state[root] == 0 {
            state[root] = 1
            stack.append((root, 0))
            while let top = stack.last {
                let list = edges[top.node]
                if top.next < list.count {
                    stack[stack.count - 1].next += 1
                    let target = list[top.next]
                    if state[target] == 0 {
                        state[target] = 1
                        stack.append((target, 0))
                    }
                    continue
                }
                // Every target is done or on the stack (a cycle, not followed).
                var tallest = 0
                for target in list where state[target] == 2 { tallest = max(tallest, height[target]) }
                height[top.node] = tallest + 1
                longest = max(longest, tallest + 1)
                state[top.node] = 2
                stack.removeLast()
            }
        }
        return longest
    }

    /// Frees what no holder outside the graph can reach, and remembers the rest's references
    /// for `release()`. Only while no other task can reach the instances.
    package func collectUnreachable() {
        guard !nodes.isEmpty else { return }
        let edges = nodes.map { targets(of: $0) }
        var inDegree = [Int](repeating: 0, count: nodes.count)
        for list in edges { for target in list { inDegree[target] += 1 } }
        var reachable = [Bool](repeating: false, count: nodes.count)
        var work = nodes.indices.filter { count(at: $0) > Self.ownCount + UInt(inDegree[$0]) }
        for root in work { reachable[root] = true }
        while let node = work.popLast() {
            for target in edges[node] where !reachable[target] {
                reachable[target] = true
                work.append(target)
            }
        }
        var kept: [Value] = []
        for (index, node) in nodes.enumerated() {
            if reachable[index] { kept.append(node) } else { breakReferences(of: node) }
        }
        replaceNodes(with: kept)
        baseline = nodes.map { _ in 0 }
        for list in nodes.map({ targets(of: $0) }) { for target in list { baseline?[target] += 1 } }
    }

    /// Breaks the graph's references if no one outside it holds any instance (the counts are
    /// checked against the baseline before any instance is read, so a graph someone kept is
    /// never touched), then forgets it.
    package func release() {
        defer { replaceNodes(with: []) }
        guard !nodes.isEmpty else { return }
        // Decoding never finished: no one else was given the instances.
        if baseline == nil { collectUnreachable() }
        guard let baseline, baseline.count == nodes.count else { return }
        for index in nodes.indices where count(at: index) != Self.ownCount + UInt(baseline[index]) { return }
        // Still alone: the references may have changed since (the servant may rewire what it
        // got), so check against the current ones before breaking anything.
        var inDegree = [Int](repeating: 0, count: nodes.count)
        for node in nodes { for target in targets(of: node) { inDegree[target] += 1 } }
        for index in nodes.indices where count(at: index) != Self.ownCount + UInt(inDegree[index]) { return }
        for node in nodes { breakReferences(of: node) }
    }

    /// Hands the instances to the application without touching them (a reply's results).
    package func forget() { replaceNodes(with: []) }

    private func replaceNodes(with kept: [Value]) {
        nodes = kept
        indexes = [:]
        for (index, node) in nodes.enumerated() { indexes[ObjectIdentifier(node)] = index }
        if kept.isEmpty { baseline = nil }
    }

    /// The tracked instances `node` refers to, by index (repeats included).
    private func targets(of node: Value) -> [Int] {
        var found: [Int] = []
        let indexes = indexes
        var visitor = ReferenceVisitor(breaking: false) { value in
            if let index = indexes[ObjectIdentifier(value)] { found.append(index) }
        }
        node._iceVisitReferences(&visitor)
        return found
    }

    private func breakReferences(of node: Value) {
        var visitor = ReferenceVisitor(breaking: true) { _ in }
        node._iceVisitReferences(&visitor)
    }

    private func count(at index: Int) -> UInt { Self.strongCount(nodes, index) }

    /// The count of an instance the tracker holds and nothing else, as `strongCount` reads it.
    private static let ownCount: UInt = strongCount([Value()], 0)

    @inline(never)
    private static func strongCount(_ nodes: [Value], _ index: Int) -> UInt { _getRetainCount(nodes[index]) }
}

/// Walks the class references an instance holds: counting them, or breaking them (setting
/// them to nil). Generated classes pass each member that may hold instances to it.
public struct ReferenceVisitor {
    let breaking: Bool
    let found: (Value) -> Void

    init(breaking: Bool, found: @escaping (Value) -> Void) {
        self.breaking = breaking
        self.found = found
    }

    public mutating func visit<T: Value>(_ reference: inout T?) {
        guard let value = reference else { return }
        if breaking { reference = nil } else { found(value) }
    }
}

/// Values that may hold class instances: generated classes' members of class type, structs
/// with such members, and optionals, arrays and dictionaries of them.
public protocol ValueReferences {
    mutating func _iceVisitReferences(_ visitor: inout ReferenceVisitor)
}

extension Optional: ValueReferences where Wrapped: Value {
    public mutating func _iceVisitReferences(_ visitor: inout ReferenceVisitor) { visitor.visit(&self) }
}

extension Array: ValueReferences where Element: ValueReferences {
    public mutating func _iceVisitReferences(_ visitor: inout ReferenceVisitor) {
        for index in indices { self[index]._iceVisitReferences(&visitor) }
    }
}

extension Dictionary: ValueReferences where Value: ValueReferences {
    public mutating func _iceVisitReferences(_ visitor: inout ReferenceVisitor) {
        for index in values.indices { values[index]._iceVisitReferences(&visitor) }
    }
}
