/// The open encapsulations of a stream, innermost last. The outermost one is stored inline:
/// almost every stream has exactly one open at a time (a request's parameters, a reply's
/// results), and an array would allocate for it on every message.
struct EncapsulationStack<Element> {
    private var outermost: Element?
    private var nested: [Element] = []

    var isEmpty: Bool { outermost == nil }

    mutating func push(_ element: Element) {
        if outermost == nil {
            outermost = element
        } else {
            nested.append(element)
        }
    }

    mutating func pop() -> Element? {
        if !nested.isEmpty { return nested.removeLast() }
        defer { outermost = nil }
        return outermost
    }
}
