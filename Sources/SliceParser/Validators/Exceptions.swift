import SliceAST

extension SemanticAnalyzer {
    mutating func analyzeException(_ definition: ExceptionDef, scope: [String]) -> ExceptionDef {
        var e = definition
        let defined = define(e.info, as: .exception, scope: scope)
        var inherited: [String: String] = [:]
        if var base = e.base {
            if let baseName = resolveBase(&base, expecting: .exception, of: e.info, scope: scope),
                checkDerivationDepth(e.info, bases: [baseName], noun: "exception")
            {
                var next = exceptions[baseName.lowercased()]
                var generations = 0  // (the depth check bounds it already; this whatever the tables hold)
                while let current = next, generations < Self.maxDerivationDepth {
                    generations += 1
                    for member in current.members {
                        inherited[member.info.name.name.lowercased()] = current.info.name.name
                    }
                    next = current.base?.resolved.flatMap { r in
                        if case .user(let s, _) = r { exceptions[s.lowercased()] } else { nil }
                    }
                }
            }
            e.base = base
        }
        e.members = analyzeMembers(
            e.members, container: e.info, containerKind: "exception", scope: scope, inherited: inherited)
        if defined { exceptions[e.info.scopedName.lowercased()] = e }
        return e
    }
}
