import SliceAST

/// What a name in the symbol table denotes.
enum SymbolKind: Equatable {
    case module
    case classType(defined: Bool)
    case interfaceType(defined: Bool)
    case exception, structType, sequence, dictionary, enumType, enumerator, constant

    /// How ZeroC names the kind in diagnostics.
    var noun: String {
        switch self {
        case .module: "module"
        case .classType: "class"
        case .interfaceType: "interface"
        case .exception: "exception"
        case .structType: "structure"
        case .sequence: "sequence"
        case .dictionary: "dictionary"
        case .enumType: "enumeration"
        case .enumerator: "enumerator"
        case .constant: "constant"
        }
    }
}

struct Symbol {
    var kind: SymbolKind
    /// `::M::Name` as spelled at its definition.
    var scopedName: String
    var location: SourceLocation
    var isLocal: Bool
}

/// The case-insensitive symbol table of one compilation unit (keys are lower-cased scoped
/// names), with name lookup and the "changed meaning" bookkeeping.
struct SymbolTable {
    private(set) var symbols: [String: Symbol] = [:]
    /// Per scope: what each unqualified first name component used there resolved to.
    private var introduced: [String: [String: (binding: String, location: SourceLocation)]] = [:]

    subscript(scopedName: String) -> Symbol? {
        get { symbols[scopedName.lowercased()] }
        set { symbols[scopedName.lowercased()] = newValue }
    }

    /// Finds `name` as seen from `scope` (`["M", "N"]`): the first enclosing scope, innermost
    /// first, in which the whole name exists. Returns the symbol and the scoped name that matched.
    func lookup(_ name: String, from scope: [String]) -> Symbol? {
        if name.hasPrefix("::") { return self[name] }
        for depth in stride(from: scope.count, through: 0, by: -1) {
            let candidate = "::" + (scope.prefix(depth) + [name]).joined(separator: "::")
            if let symbol = self[candidate] { return symbol }
        }
        return nil
    }

    /// Records that `name` (as written) resolved to `symbol` in `scopeKey`; returns the
    /// conflicting earlier binding, if the first component now means something else.
    mutating func recordUse(_ name: String, resolvedTo symbol: Symbol, in scopeKey: String, at location: SourceLocation)
        -> String?
    {
        guard !name.hasPrefix("::") else { return nil }
        let components = name.split(separator: ":", omittingEmptySubsequences: true)
        guard let first = components.first else { return nil }
        let resolvedParts = symbol.scopedName.split(separator: ":", omittingEmptySubsequences: true)
        let bindingParts = resolvedParts.dropLast(components.count - 1)
        let binding = "::" + bindingParts.joined(separator: "::")
        let key = first.lowercased()
        if let previous = introduced[scopeKey]?[key], previous.binding.lowercased() != binding.lowercased() {
            return previous.binding
        }
        introduced[scopeKey, default: [:]][key] = (binding, location)
        return nil
    }

    /// When `name` is defined in `scopeKey`, what an earlier use there made it mean instead.
    func conflictingUse(ofNewName name: String, scopedName: String, in scopeKey: String) -> String? {
        guard let previous = introduced[scopeKey]?[name.lowercased()] else { return nil }
        return previous.binding.lowercased() == scopedName.lowercased() ? nil : previous.binding
    }
}

/// `::A::B::C` → `::A::B`.
func parentScope(of scopedName: String) -> String {
    let parts = scopedName.split(separator: ":", omittingEmptySubsequences: true)
    return "::" + parts.dropLast().joined(separator: "::")
}

/// `::A::B::C` → `C`.
func lastComponent(of scopedName: String) -> String {
    String(scopedName.split(separator: ":", omittingEmptySubsequences: true).last ?? "")
}
