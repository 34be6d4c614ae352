import SliceAST

extension SemanticAnalyzer {
    static func typeName(_ type: ResolvedType) -> String {
        switch type {
        case .builtin(let b): b.rawValue
        case .proxy(let s): s + "*"
        case .user(let s, _): s
        }
    }

    /// Checks a constant initializer or default value against its type and folds it.
    /// `what` names the thing being initialized, e.g. "constant 'Max'".
    mutating func checkValue(
        _ syntax: ValueSyntax, type: ResolvedType, what: String, scope: [String]
    ) -> ConstantValue? {
        if case .user(let enumName, .enum) = type {
            return checkEnumeratorValue(syntax, enumName: enumName, what: what, scope: scope)
        }
        guard case .builtin(let builtin) = type, ![.object, .value, .localObject].contains(builtin) else { return nil }
        var value: ConstantValue
        var sourceType: String
        switch syntax.kind {
        case .bool(let b): (value, sourceType) = (.bool(b), "bool")
        case .integer(_, let v):
            guard let v else { return nil }  // out of range: already reported by the scanner
            (value, sourceType) = (.integer(v), "long")
        case .float(_, let v):
            guard let v else { return nil }
            (value, sourceType) = (.float(v), "double")
        case .string(let s): (value, sourceType) = (.string(s), "string")
        case .name(let name):
            guard let symbol = resolve(name, at: syntax.location, scope: scope) else { return nil }
            switch symbol.kind {
            case .constant:
                guard let constant = constants[symbol.scopedName.lowercased()], let folded = constant.value,
                    let constantType = constant.type.resolved
                else { return nil }
                (value, sourceType) = (folded, Self.typeName(constantType))
            case .enumerator:
                let enumName = parentScope(of: symbol.scopedName)
                sourceType = enumName
                value = .string("")
                diagnostics.error(
                    "incompatible-initializer",
                    "initializer of type '\(sourceType)' is incompatible with the type '\(builtin.rawValue)' of \(what)",
                    at: syntax.location)
                return nil
            default:
                diagnostics.error("not-a-constant", "'\(name)' is not a constant or an enumerator", at: syntax.location)
                return nil
            }
        }
        let compatible: Bool
        switch (builtin, value) {
        case (.bool, .bool), (.string, .string): compatible = true
        case (.byte, .integer), (.short, .integer), (.int, .integer), (.long, .integer): compatible = true
        case (.float, .integer(let i)), (.double, .integer(let i)):
            value = .float(Double(i))
            compatible = true
        case (.float, .float), (.double, .float): compatible = true
        default: compatible = false
        }
        guard compatible else {
            diagnostics.error(
                "incompatible-initializer",
                "initializer of type '\(sourceType)' is incompatible with the type '\(builtin.rawValue)' of \(what)",
                at: syntax.location)
            return nil
        }
        if case .integer(let i) = value {
            let range: ClosedRange<Int64>? =
                switch builtin {
                case .byte: 0...255
                case .short: Int64(Int16.min)...Int64(Int16.max)
                case .int: Int64(Int32.min)...Int64(Int32.max)
                default: nil
                }
            if let range, !range.contains(i) {
                diagnostics.error(
                    "initializer-range", "initializer \(i) for \(what) is out of range for type '\(builtin.rawValue)'",
                    at: syntax.location)
                return nil
            }
        }
        return value
    }

    /// An initializer of enum type: an enumerator of that enum (found inside it first) or a
    /// constant of that enum type.
    private mutating func checkEnumeratorValue(
        _ syntax: ValueSyntax, enumName: String, what: String, scope: [String]
    ) -> ConstantValue? {
        guard case .name(let name) = syntax.kind else {
            diagnostics.error(
                "incompatible-initializer",
                "initializer of type '\(Self.literalType(syntax))' is incompatible with the type '\(enumName)' of \(what)",
                at: syntax.location)
            return nil
        }
        guard let enumDef = enums[enumName.lowercased()] else { return nil }
        func enumerator(_ n: String) -> Enumerator? {
            enumDef.enumerators.first { $0.info.name.name.lowercased() == n.lowercased() }
        }
        if !name.contains("::"), let e = enumerator(name) {
            return .enumerator(enumType: enumDef.info.scopedName, name: e.info.name.name, value: e.value)
        }
        if let symbol = symbols.lookup(name, from: scope) {
            guard let found = resolve(name, at: syntax.location, scope: scope) else { return nil }
            switch found.kind {
            case .enumerator where symbol.scopedName.lowercased().hasPrefix(enumName.lowercased() + "::"):
                let last = String(found.scopedName.split(separator: ":").last ?? "")
                guard let e = enumerator(last) else { return nil }
                return .enumerator(enumType: enumDef.info.scopedName, name: e.info.name.name, value: e.value)
            case .constant:
                if let constant = constants[found.scopedName.lowercased()],
                    constant.type.resolved == .user(enumDef.info.scopedName, .enum)
                {
                    return constant.value
                }
            default: break
            }
            diagnostics.error(
                "incompatible-initializer", "'\(name)' is not an enumerator of '\(enumName)' for \(what)",
                at: syntax.location)
            return nil
        }
        // `M::Apple`: the enumerator through the enum's enclosing scope, accepted with a warning.
        let parts = name.split(separator: ":", omittingEmptySubsequences: true)
        if parts.count > 1, let e = enumerator(String(parts[parts.count - 1])) {
            diagnostics.warning(
                "enumerator-scope",
                "referencing enumerator '\(e.info.name.name)' in its enumeration's enclosing scope is deprecated",
                at: syntax.location)
            return .enumerator(enumType: enumDef.info.scopedName, name: e.info.name.name, value: e.value)
        }
        diagnostics.error("undefined", "'\(name)' is not defined", at: syntax.location)
        return nil
    }

    static func literalType(_ syntax: ValueSyntax) -> String {
        switch syntax.kind {
        case .bool: "bool"
        case .integer: "long"
        case .float: "double"
        case .string: "string"
        case .name(let n): n
        }
    }

    /// A tag, compact id or enumerator value: an integer literal, an integral constant or an
    /// enumerator, in 0...Int32.max.
    mutating func checkIndex(_ syntax: ValueSyntax, what: String, scope: [String]) -> Int64? {
        var value: Int64?
        switch syntax.kind {
        case .integer(_, let v): value = v
        case .name(let name):
            if symbols.lookup(name, from: scope) == nil, !name.contains("::") {
                return enumeratorInEnclosingScopes(name, at: syntax.location, what: what, scope: scope)
            }
            guard let symbol = resolve(name, at: syntax.location, scope: scope) else { return nil }
            switch symbol.kind {
            case .constant:
                if case .integer(let v)? = constants[symbol.scopedName.lowercased()]?.value { value = v }
            case .enumerator:
                let enumName = parentScope(of: symbol.scopedName)
                let last = lastComponent(of: symbol.scopedName)
                value = enums[enumName.lowercased()]?.enumerators.first { $0.info.name.name == last }?.value
            default: break
            }
            if value == nil {
                diagnostics.error("not-integral", "\(what) must be an integer constant", at: syntax.location)
                return nil
            }
        default:
            diagnostics.error("not-integral", "\(what) must be an integer", at: syntax.location)
            return nil
        }
        guard let value, value >= 0, value <= Int64(Int32.max) else {
            if value != nil { diagnostics.error("index-range", "\(what) is out of range", at: syntax.location) }
            return nil
        }
        return value
    }
}

extension SemanticAnalyzer {
    /// A bare enumerator name in a tag or compact id, found by searching the enums of the
    /// enclosing scopes (deprecated in Ice 3.7, still accepted).
    mutating func enumeratorInEnclosingScopes(
        _ name: String, at location: SourceLocation, what: String, scope: [String]
    ) -> Int64? {
        var matches: [(String, Int64)] = []
        for depth in stride(from: scope.count, through: 0, by: -1) {
            let prefix = "::" + scope.prefix(depth).joined(separator: "::")
            for e in enums.values where parentScope(of: e.info.scopedName).lowercased() == prefix.lowercased() {
                if let found = e.enumerators.first(where: { $0.info.name.name == name }) {
                    matches.append((found.info.scopedName, found.value))
                }
            }
            if !matches.isEmpty { break }
        }
        guard let match = matches.first else {
            diagnostics.error("undefined", "'\(name)' is not defined", at: location)
            return nil
        }
        guard matches.count == 1 else {
            diagnostics.error(
                "ambiguous-enumerator", "'\(name)' is ambiguous: it names more than one enumerator", at: location)
            return nil
        }
        diagnostics.warning(
            "enumerator-scope", "referencing enumerator '\(match.0)' without its enumeration's scope is deprecated",
            at: location)
        guard match.1 >= 0, match.1 <= Int64(Int32.max) else {
            diagnostics.error("index-range", "\(what) is out of range", at: location)
            return nil
        }
        return match.1
    }
}
