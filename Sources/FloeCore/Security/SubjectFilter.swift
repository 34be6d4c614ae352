/// Which certificate subjects a peer may have: IceSSL's `TrustOnly` lists. A list is
/// distinguished names separated by `;`, each a `,`-separated set of `KEY=value` attributes
/// (values may be quoted, and `\,` escapes a comma as in RFC 4514); one prefixed with `!` refuses. A subject matches a name when it has
/// every attribute the name lists. A subject is accepted when it matches no refusing name and,
/// if any accepting name is given, at least one of them.
///
/// ```
/// IceSSL.TrustOnly.Server=O=Example, OU=Billing; !CN=retired-client
/// ```
public struct SubjectFilter: Sendable, Hashable {
    /// A distinguished name as attribute pairs (keys upper-cased).
    typealias Name = Set<Attribute>
    struct Attribute: Hashable, Sendable {
        var key: String
        var value: String
    }

    private var accepting: [Name] = []
    private var refusing: [Name] = []

    /// Accepts everything.
    public init() {}

    /// The lists given, combined (IceSSL's `TrustOnly` with `TrustOnly.Client` or `.Server`).
    public init(_ lists: String...) throws {
        for list in lists {
            for entry in list.split(separator: ";") {
                var text = entry.drop { $0 == " " }
                let refuses = text.first == "!"
                if refuses { text = text.dropFirst() }
                guard let name = Self.parse(String(text)), !name.isEmpty else {
                    throw LocalError(.invalidArgument, "TrustOnly: '\(entry)' is not a distinguished name")
                }
                if refuses { refusing.append(name) } else { accepting.append(name) }
            }
        }
    }

    /// Whether nothing is filtered.
    public var acceptsAll: Bool { accepting.isEmpty && refusing.isEmpty }

    /// Whether a peer whose certificate subject is `subject` (as `TLSPeerInfo.subject`; nil
    /// when it sent no certificate) is accepted.
    public func accepts(_ subject: String?) -> Bool {
        guard !acceptsAll else { return true }
        guard let subject, let name = Self.parse(subject) else { return false }
        if refusing.contains(where: { $0.isSubset(of: name) }) { return false }
        return accepting.isEmpty || accepting.contains { $0.isSubset(of: name) }
    }

    /// `KEY=value, KEY="a, quoted value", …`; nil if malformed.
    static func parse(_ text: String) -> Name? {
        var name = Name()
        var key = ""
        var value = ""
        var inValue = false
        var quoted = false
        var escaped = false
        func finish() -> Bool {
            let k = key.trimmingSpaces.uppercased()
            guard inValue, !k.isEmpty else { return key.trimmingSpaces.isEmpty && !inValue }
            name.insert(Attribute(key: k, value: value.trimmingSpaces))
            (key, value, inValue) = ("", "", false)
            return true
        }
        for character in text {
            if escaped {
                escaped = false
                if inValue { value.append(character) } else { key.append(character) }
                continue
            }
            switch character {
            case "\\": escaped = true
            case "\"" where inValue: quoted.toggle()
            case "=" where !inValue: inValue = true
            case "," where !quoted:
                guard finish() else { return nil }
            default:
                if inValue { value.append(character) } else { key.append(character) }
            }
        }
        guard !quoted, !escaped, finish() else { return nil }
        return name
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
