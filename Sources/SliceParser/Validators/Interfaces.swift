import SliceAST

extension SemanticAnalyzer {
    mutating func analyzeInterface(_ definition: InterfaceDef, scope: [String]) -> InterfaceDef {
        var i = definition
        let defined = defineType(i.info, kind: .interfaceType(defined: true), scope: scope)
        var baseNames: [String] = []
        var listed: Set<String> = []  // lower-cased
        for index in i.bases.indices {
            var type = i.bases[index]
            if let base = resolveBase(&type, expecting: .interfaceType(defined: true), of: i.info, scope: scope) {
                if !listed.insert(base.lowercased()).inserted {
                    // ZeroC accepts this; it is almost certainly a slip.
                    diagnostics.warning(
                        "duplicate-base", "interface '\(type.spelling)' is listed more than once", at: type.location)
                } else {
                    baseNames.append(base)
                }
            }
            i.bases[index] = type
        }
        let withinDepth = checkDerivationDepth(i.info, bases: baseNames, noun: "interface")
        if !withinDepth { baseNames = [] }
        // Operations of all bases, for the redefinition rule.
        var inherited: [String: String] = [:]
        for base in allBases(of: baseNames) {
            for op in interfaces[base.lowercased()]?.operations ?? [] {
                inherited[op.info.name.name.lowercased()] = op.info.name.name
            }
        }
        var names: [String: String] = [:]
        i.operations = i.operations.map { operation in
            let name = operation.info.name.name
            if name.lowercased() == i.info.name.name.lowercased() {
                diagnostics.error(
                    "operation-interface-name",
                    "operation '\(name)' must differ from the name of its enclosing interface '\(i.info.name.name)'",
                    at: operation.info.name.location)
            }
            if inherited[name.lowercased()] != nil {
                diagnostics.error(
                    "operation-redefinition",
                    "operation '\(name)' is already defined as an operation in a base interface",
                    at: operation.info.name.location)
            }
            return analyzeOperation(operation, in: i.info, scope: scope, names: &names)
        }
        checkMultipleInheritance(i, bases: baseNames)
        if defined { interfaces[i.info.scopedName.lowercased()] = i }
        return i
    }

    /// The transitive bases of these interfaces, each once.
    func allBases(of roots: [String]) -> [String] {
        var seen: Set<String> = []
        var order: [String] = []
        var pending = roots
        while let next = pending.popLast() {
            guard seen.insert(next.lowercased()).inserted else { continue }
            order.append(next)
            for base in interfaces[next.lowercased()]?.bases ?? [] {
                if case .user(let s, _)? = base.resolved { pending.append(s) }
            }
        }
        return order
    }

    /// Two unrelated base interfaces may not both provide an operation of the same name.
    /// As ZeroC does, the inheritance graph is split into paths: the first base continues a
    /// path, each other base starts a new one, and an interface already placed is skipped.
    private mutating func checkMultipleInheritance(_ i: InterfaceDef, bases: [String]) {
        guard bases.count > 1 else { return }
        var placed: Set<String> = []
        var paths: [[String]] = []
        func walk(_ name: String, path: Int, analyzer: SemanticAnalyzer) {
            guard placed.insert(name.lowercased()).inserted else { return }
            paths[path].append(name)
            let next = (analyzer.interfaces[name.lowercased()]?.bases ?? []).compactMap { base -> String? in
                if case .user(let s, _)? = base.resolved { s } else { nil }
            }
            for (index, base) in next.enumerated() {
                if index == 0 {
                    walk(base, path: path, analyzer: analyzer)
                } else {
                    paths.append([])
                    walk(base, path: paths.count - 1, analyzer: analyzer)
                }
            }
        }
        for base in bases {
            paths.append([])
            walk(base, path: paths.count - 1, analyzer: self)
        }
        var owner: [String: Int] = [:]
        var reported: Set<String> = []
        for (index, path) in paths.enumerated() {
            for name in path {
                for op in interfaces[name.lowercased()]?.operations ?? [] {
                    let key = op.info.name.name.lowercased()
                    if let other = owner[key], other != index {
                        if reported.insert(key).inserted {
                            diagnostics.error(
                                "ambiguous-inheritance",
                                "ambiguous multiple inheritance: '\(i.info.name.name)' inherits operation '\(op.info.name.name)' from two or more unrelated base interfaces",
                                at: i.info.name.location)
                        }
                    } else {
                        owner[key] = index
                    }
                }
            }
        }
    }

    /// Checks one operation: its name among `names`, parameters (order, names, types, tags),
    /// return type and throws clause.
    mutating func analyzeOperation(
        _ operation: SliceAST.Operation, in container: DefinitionInfo, scope: [String], names: inout [String: String]
    ) -> SliceAST.Operation {
        var op = operation
        let name = op.info.name.name
        checkMetadata(op.info)
        for parameter in op.parameters { checkMetadata(parameter.info) }
        op.info.scopedName = container.scopedName + "::" + name
        op.info.isLocal = container.isLocal
        if let previous = names[name.lowercased()] {
            diagnostics.error(
                "operation-redefinition",
                previous == name
                    ? "redefinition of operation '\(name)'"
                    : "operation '\(name)' differs only in capitalization from '\(previous)'",
                at: op.info.name.location)
        }
        names[name.lowercased()] = name
        let useScope = op.info.scopedName
        var tags: [Int: String] = [:]
        func claim(_ syntax: ValueSyntax?, for what: String, analyzer: inout SemanticAnalyzer) -> Int? {
            guard let syntax, let tag = analyzer.checkIndex(syntax, what: "tag for optional \(what)", scope: scope)
            else {
                return nil
            }
            if tags[Int(tag)] != nil {
                analyzer.diagnostics.error(
                    "tag-in-use", "tag for optional \(what) is already in use", at: syntax.location)
                return nil
            }
            tags[Int(tag)] = what
            return Int(tag)
        }
        if var returnType = op.returnType {
            // The return type is seen from the interface, before the operation's name exists
            // there: `S1 S1();` makes `S1` change meaning in the interface, as ZeroC reports.
            resolveType(&returnType, scope: scope, useScope: container.scopedName, user: op.info)
            op.returnType = returnType
            op.returnTag = claim(op.returnTagSyntax, for: "return value", analyzer: &self)
        }
        if let meaning = symbols.conflictingUse(
            ofNewName: name, scopedName: op.info.scopedName, in: container.scopedName)
        {
            diagnostics.error(
                "changed-meaning", "'\(name)' has changed meaning: it was used to mean '\(meaning)'",
                at: op.info.name.location)
        }
        var parameterNames: [String: String] = [:]
        var sawOut = false
        for index in op.parameters.indices {
            var parameter = op.parameters[index]
            parameter.info.isLocal = container.isLocal
            let pname = parameter.info.name.name
            if parameter.isOut {
                sawOut = true
            } else if sawOut {
                diagnostics.error(
                    "in-after-out", "'\(pname)': in parameters cannot follow out parameters",
                    at: parameter.info.name.location)
            }
            if let previous = parameterNames[pname.lowercased()] {
                diagnostics.error(
                    "parameter-redefinition",
                    previous == pname
                        ? "redefinition of parameter '\(pname)'"
                        : "parameter '\(pname)' differs only in capitalization from parameter '\(previous)'",
                    at: parameter.info.name.location)
            }
            parameterNames[pname.lowercased()] = pname
            resolveType(&parameter.type, scope: scope, useScope: useScope, user: op.info)
            parameter.tag = claim(parameter.tagSyntax, for: "parameter '\(pname)'", analyzer: &self)
            op.parameters[index] = parameter
        }
        var thrown: Set<String> = []  // lower-cased
        for index in op.throwsClause.indices {
            var type = op.throwsClause[index]
            if let exception = resolveBase(
                &type, expecting: .exception, of: op.info, scope: scope, inThrowsClause: true)
            {
                if !thrown.insert(exception.lowercased()).inserted {
                    diagnostics.error(
                        "duplicate-exception",
                        "operation '\(name)' has a throws clause with a duplicate exception: '\(type.spelling)'",
                        at: type.location)
                }
            }
            op.throwsClause[index] = type
        }
        return op
    }
}
