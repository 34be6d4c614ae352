import SliceAST

extension SemanticAnalyzer {
    /// Resolves a type use; reports unknown names, non-types, exceptions used as types,
    /// proxies to non-interfaces, and (for non-local users) local types.
    mutating func resolveType(
        _ type: inout TypeRef, scope: [String], useScope: String? = nil, user: DefinitionInfo
    ) {
        switch type.syntax {
        case .builtin(let builtin):
            if type.isProxy {
                type.resolved = .proxy("::Ice::Object")
            } else {
                if builtin == .localObject, !user.isLocal {
                    diagnostics.error(
                        "local-type", "non-local '\(user.name.name)' cannot use the local type LocalObject",
                        at: type.location)
                }
                type.resolved = .builtin(builtin)
            }
        case .named(let name):
            guard let symbol = resolve(name, at: type.location, scope: scope, useScope: useScope) else { return }
            let scoped = symbol.scopedName
            let kind: TypeKind
            switch symbol.kind {
            case .classType: kind = .class
            case .interfaceType: kind = .interface
            case .structType: kind = .struct
            case .sequence: kind = .sequence
            case .dictionary: kind = .dictionary
            case .enumType: kind = .enum
            case .exception:
                diagnostics.error(
                    "exception-as-type", "'\(name)' is an exception, which cannot be used as a type", at: type.location)
                return
            case .module, .constant, .enumerator:
                diagnostics.error("not-a-type", "'\(name)' is a \(symbol.kind.noun), not a type", at: type.location)
                return
            }
            if symbol.isLocal, !user.isLocal {
                diagnostics.error(
                    "local-type", "non-local '\(user.name.name)' cannot use local type '\(name)'", at: type.location)
            }
            if type.isProxy {
                switch kind {
                case .interface:
                    if symbol.isLocal {
                        diagnostics.error(
                            "local-proxy", "cannot create a proxy for local interface '\(name)'", at: type.location)
                    }
                case .class:
                    diagnostics.warning("class-proxy", "proxy for a class is deprecated", at: type.location)
                default:
                    diagnostics.error(
                        "not-proxyable", "'\(name)' must be an interface to be used as a proxy", at: type.location)
                    return
                }
                type.resolved = .proxy(scoped)
            } else {
                if kind == .interface, !symbol.isLocal, !user.isLocal {
                    diagnostics.warning(
                        "interface-by-value",
                        "using interface '\(name)' by value is deprecated: use a proxy '\(name)*' or a class",
                        at: type.location)
                }
                type.resolved = .user(scoped, kind)
            }
        }
    }

    /// Whether a type may be a dictionary key: integral types, bool, string, enums, structs of
    /// such types, and (deprecated) sequences of them.
    mutating func isLegalKey(_ type: ResolvedType, deprecatedSequence: inout Bool, depth: Int = 0) -> Bool {
        guard depth < 64 else { return false }
        switch type {
        case .builtin(let b): return [.bool, .byte, .short, .int, .long, .string].contains(b)
        case .proxy: return false
        case .user(let scoped, let kind):
            switch kind {
            case .enum: return true
            case .struct:
                guard let s = structs[scoped.lowercased()] else { return false }
                return s.members.allSatisfy {
                    $0.type.resolved.map { isLegalKey($0, deprecatedSequence: &deprecatedSequence, depth: depth + 1) }
                        ?? false
                }
            case .sequence:
                guard let element = sequences[scoped.lowercased()]?.element.resolved,
                    isLegalKey(element, deprecatedSequence: &deprecatedSequence, depth: depth + 1)
                else { return false }
                deprecatedSequence = true
                return true
            default: return false
            }
        }
    }
}
