/// What a client is told of an unexpected server error (one that is neither a Slice exception
/// nor one of Floe's): its type, and for an enum its case, never its payload or properties.
/// `String(describing:)` of an error can hold anything (paths, queries, keys, a whole
/// request), so it stays in the server's log (`Ice.Warn.Dispatch`) unless
/// `Floe.Dispatch.ErrorDetails=1` says the client may see it.
enum ErrorSummary {
    static func of(_ error: any Error) -> String {
        let type = typeName(of: error)
        let mirror = Mirror(reflecting: error)
        guard mirror.displayStyle == .enum else { return type }
        // A case with a payload has one child named after the case; one without has none and
        // describes itself by its name.
        if let label = mirror.children.first?.label { return "\(type).\(label)" }
        let name = String(describing: error)
        return name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } ? "\(type).\(name)" : type
    }

    /// The error's type, module-qualified (`Billing.StoreError`); the "(unknown context at $…)"
    /// part of a private type's name is dropped.
    static func typeName(of error: any Error) -> String {
        String(reflecting: Swift.type(of: error)).split(separator: ".")
            .filter { !$0.hasPrefix("(unknown context at") }.joined(separator: ".")
    }
}
