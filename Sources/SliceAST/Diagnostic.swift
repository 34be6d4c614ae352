/// How serious a diagnostic is.
public enum Severity: String, Hashable, Sendable, Codable {
    case error, warning, note
}

/// A message from the compiler about the input, tied to a place in it.
public struct Diagnostic: Hashable, Sendable, Codable, CustomStringConvertible {
    /// A stable name for the rule that produced it (tests and tools key on it, not on wording).
    public var code: DiagnosticCode
    public var severity: Severity
    public var message: String
    public var location: SourceLocation?
    /// Related places, such as the previous definition of a redefined name.
    public var notes: [Diagnostic]

    public init(
        _ severity: Severity, _ code: DiagnosticCode, _ message: String, at location: SourceLocation?,
        notes: [Diagnostic] = []
    ) {
        self.code = code
        self.severity = severity
        self.message = message
        self.location = location
        self.notes = notes
    }

    /// `file:line:col: error: message`, followed by any notes on their own lines.
    public var description: String {
        var text = location.map { "\($0): " } ?? ""
        text += "\(severity.rawValue): \(message)"
        for note in notes { text += "\n" + note.description }
        return text
    }
}

/// The stable identity of a diagnostic rule.
public struct DiagnosticCode: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
}

/// An ordered collection of diagnostics that knows whether any is an error.
public struct Diagnostics: Sendable, Hashable, Codable, Sequence {
    public private(set) var items: [Diagnostic] = []

    public init() {}

    public var hasErrors: Bool { items.contains { $0.severity == .error } }
    public var count: Int { items.count }

    public mutating func append(_ diagnostic: Diagnostic) { items.append(diagnostic) }

    public mutating func error(
        _ code: DiagnosticCode, _ message: String, at location: SourceLocation?, notes: [Diagnostic] = []
    ) {
        items.append(Diagnostic(.error, code, message, at: location, notes: notes))
    }

    public mutating func warning(_ code: DiagnosticCode, _ message: String, at location: SourceLocation?) {
        items.append(Diagnostic(.warning, code, message, at: location))
    }

    public func makeIterator() -> IndexingIterator<[Diagnostic]> { items.makeIterator() }
}

extension Diagnostics {
    /// The same diagnostics in source order: by file (in `fileOrder`), line and column.
    /// Diagnostics without a location come first; ties keep their original order.
    public func sorted(fileOrder: [String]) -> Diagnostics {
        let rank = Dictionary(fileOrder.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        func key(_ d: Diagnostic) -> (Int, Int, Int) {
            guard let l = d.location else { return (-1, 0, 0) }
            return (rank[l.file] ?? Int.max, l.line, l.column)
        }
        var result = Diagnostics()
        for d in items.enumerated().sorted(by: {
            key($0.element) < key($1.element) || (key($0.element) == key($1.element) && $0.offset < $1.offset)
        }) {
            result.append(d.element)
        }
        return result
    }
}
