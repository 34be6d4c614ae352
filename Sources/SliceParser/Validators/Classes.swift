import SliceAST

extension SemanticAnalyzer {
    mutating func analyzeClass(_ definition: ClassDef, scope: [String]) -> ClassDef {
        var c = definition
        let defined = defineType(c.info, kind: .classType(defined: true), scope: scope)
        if let syntax = c.compactIdSyntax,
            let id = checkIndex(syntax, what: "compact id for class '\(c.info.name.name)'", scope: scope)
        {
            if let other = compactIds[Int(id)], other.lowercased() != c.info.scopedName.lowercased() {
                diagnostics.error(
                    "compact-id-in-use", "invalid compact id for class: already assigned to class '\(other)'",
                    at: syntax.location)
            } else {
                compactIds[Int(id)] = c.info.scopedName
                c.compactId = Int(id)
            }
        }
        var inherited: [String: String] = [:]
        // Operations of base classes and of the interfaces they and this class implement.
        var inheritedOperations: Set<String> = []
        var interfacesImplemented: [String] = []
        if var base = c.base {
            if let baseClass = resolveBase(&base, expecting: .classType(defined: true), of: c.info, scope: scope),
                checkDerivationDepth(c.info, bases: [baseClass], noun: "class")
            {
                var next: ClassDef? = classes[baseClass.lowercased()]
                var generations = 0  // (the depth check bounds it already; this whatever the tables hold)
                while let current = next, generations < Self.maxDerivationDepth {
                    generations += 1
                    for member in current.members {
                        inherited[member.info.name.name.lowercased()] = current.info.name.name
                    }
                    inheritedOperations.formUnion(current.operations.map { $0.info.name.name.lowercased() })
                    interfacesImplemented += current.implements.compactMap(\.resolved?.scopedName)
                    next = current.base?.resolved.flatMap { r in
                        if case .user(let s, _) = r { classes[s.lowercased()] } else { nil }
                    }
                }
            }
            c.base = base
        }
        for index in c.implements.indices {
            var type = c.implements[index]
            if let name = resolveBase(&type, expecting: .interfaceType(defined: true), of: c.info, scope: scope) {
                interfacesImplemented.append(name)
            }
            c.implements[index] = type
        }
        for name in allBases(of: interfacesImplemented) {
            inheritedOperations.formUnion(
                interfaces[name.lowercased()]?.operations.map { $0.info.name.name.lowercased() } ?? [])
        }
        if !c.implements.isEmpty, !c.info.isLocal {
            diagnostics.warning(
                "class-implements", "classes implementing interfaces are deprecated", at: c.info.name.location)
        }
        c.members = analyzeMembers(
            c.members, container: c.info, containerKind: "class", scope: scope, inherited: inherited)
        if !c.operations.isEmpty, !c.info.isLocal {
            diagnostics.warning("class-operations", "classes with operations are deprecated", at: c.info.name.location)
        }
        var operationNames: [String: String] = [:]
        for member in c.members { operationNames[member.info.name.name.lowercased()] = member.info.name.name }
        c.operations = c.operations.map { operation in
            if inheritedOperations.contains(operation.info.name.name.lowercased()) {
                diagnostics.error(
                    "operation-redefinition",
                    "operation '\(operation.info.name.name)' is already defined as an operation in a base interface or class",
                    at: operation.info.name.location)
            }
            return analyzeOperation(operation, in: c.info, scope: scope, names: &operationNames)
        }
        if defined { classes[c.info.scopedName.lowercased()] = c }
        return c
    }

    /// Resolves a base in `extends`/`implements` and checks that it is a defined type of the
    /// expected kind. Returns its scoped name.
    mutating func resolveBase(
        _ type: inout TypeRef, expecting kind: SymbolKind, of user: DefinitionInfo, scope: [String],
        inThrowsClause throwsClause: Bool = false
    ) -> String? {
        let noun = kind.noun
        if case .builtin(let b) = type.syntax {
            diagnostics.error("illegal-inheritance", "illegal inheritance from type \(b.rawValue)", at: type.location)
            return nil
        }
        guard case .named(let name) = type.syntax, !type.isProxy else {
            diagnostics.error(
                DiagnosticCode(rawValue: "not-\(noun)"),
                "'\(type.spelling)' is not \(noun == "interface" ? "an" : "a") \(noun)", at: type.location)
            return nil
        }
        guard let symbol = resolve(name, at: type.location, scope: scope) else { return nil }
        let resolvedKind: TypeKind
        switch (kind, symbol.kind) {
        case (.classType, .classType(let defined)), (.interfaceType, .interfaceType(let defined)):
            guard defined else {
                diagnostics.error(
                    "declared-not-defined", "'\(name)' has been declared but not defined", at: type.location)
                return nil
            }
            resolvedKind = symbol.kind.noun == "class" ? .class : .interface
        case (.exception, .exception):
            resolvedKind = .exception
        default:
            diagnostics.error(
                DiagnosticCode(rawValue: "not-\(noun)"),
                "'\(name)' is not \(noun == "interface" || noun == "exception" ? "an" : "a") \(noun)",
                at: type.location)
            return nil
        }
        // A local operation may throw non-local exceptions; otherwise local and non-local never mix.
        if symbol.isLocal && !user.isLocal {
            diagnostics.error(
                "local-type",
                throwsClause
                    ? "non-local operation '\(user.name.name)' cannot throw local exception '\(name)'"
                    : "non-local '\(user.name.name)' cannot extend local '\(name)'",
                at: type.location)
        } else if user.isLocal && !symbol.isLocal && !throwsClause {
            diagnostics.error(
                "local-type", "local '\(user.name.name)' cannot extend non-local '\(name)'", at: type.location)
        }
        type.resolved = .user(symbol.scopedName, resolvedKind)
        return symbol.scopedName
    }
}
