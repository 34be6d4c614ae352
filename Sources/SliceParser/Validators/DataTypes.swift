import SliceAST

extension SemanticAnalyzer {
    mutating func analyzeStruct(_ definition: StructDef, scope: [String]) -> StructDef {
        var s = definition
        let defined = define(s.info, as: .structType, scope: scope)
        if s.members.isEmpty {
            diagnostics.error(
                "empty-struct", "struct '\(s.info.name.name)' must have at least one member", at: s.info.name.location)
        }
        s.members = analyzeMembers(s.members, container: s.info, containerKind: "struct", scope: scope)
        for member in s.members where member.type.resolved == .user(s.info.scopedName, .struct) {
            diagnostics.error(
                "struct-contains-itself", "struct '\(s.info.name.name)' cannot contain itself", at: member.type.location
            )
        }
        if defined { structs[s.info.scopedName.lowercased()] = s }
        return s
    }

    mutating func analyzeSequence(_ definition: SequenceDef, scope: [String]) -> SequenceDef {
        var s = definition
        resolveType(&s.element, scope: scope, user: s.info)
        if define(s.info, as: .sequence, scope: scope) { sequences[s.info.scopedName.lowercased()] = s }
        return s
    }

    mutating func analyzeDictionary(_ definition: DictionaryDef, scope: [String]) -> DictionaryDef {
        var d = definition
        resolveType(&d.key, scope: scope, user: d.info)
        resolveType(&d.value, scope: scope, user: d.info)
        if let key = d.key.resolved {
            var deprecatedSequence = false
            if !isLegalKey(key, deprecatedSequence: &deprecatedSequence) {
                diagnostics.error(
                    "dictionary-key", "dictionary '\(d.info.name.name)' uses an illegal key type", at: d.key.location)
            } else if deprecatedSequence {
                diagnostics.warning(
                    "sequence-key", "use of sequences in dictionary keys has been deprecated", at: d.key.location)
            }
        }
        if define(d.info, as: .dictionary, scope: scope) { dictionaries[d.info.scopedName.lowercased()] = d }
        return d
    }

    mutating func analyzeEnum(_ definition: EnumDef, scope: [String]) -> EnumDef {
        var e = definition
        let defined = define(e.info, as: .enumType, scope: scope)
        var next: Int64 = 0
        var seen: [Int64: String] = [:]
        let enumScope = scope + [e.info.name.name]
        let key = e.info.scopedName.lowercased()
        // Later enumerators may refer to the ones checked so far, and only to those (`A = B, B`
        // is an error): the table holds the enum with those, appended in place (storing a copy
        // of the whole enum per enumerator made 50,000 enumerators take minutes).
        if defined {
            var checked = e
            checked.enumerators = []
            enums[key] = checked
        }
        for index in e.enumerators.indices {
            var enumerator = e.enumerators[index]
            let name = enumerator.info.name.name
            if let syntax = enumerator.valueSyntax {
                let what = "enumerator '\(name)'"
                if case .integer(_, let v?) = syntax.kind, v < 0 || v > Int64(Int32.max) {
                    diagnostics.error(
                        "enumerator-range", "value for enumerator '\(name)' is out of range", at: syntax.location)
                } else if let v = checkIndex(syntax, what: "value for \(what)", scope: scope) {
                    next = v
                }
            }
            enumerator.value = next
            if let other = seen[next] {
                diagnostics.error(
                    "enumerator-duplicate-value",
                    "enumerator '\(name)' has the same value \(next) as enumerator '\(other)'",
                    at: enumerator.info.name.location)
            } else {
                seen[next] = name
            }
            if next == Int64(Int32.max) && index < e.enumerators.count - 1
                && e.enumerators[index + 1].valueSyntax == nil
            {
                diagnostics.error(
                    "enumerator-range",
                    "value for enumerator '\(e.enumerators[index + 1].info.name.name)' is out of range",
                    at: e.enumerators[index + 1].info.name.location)
            }
            next += 1
            define(enumerator.info, as: .enumerator, scope: enumScope)
            e.enumerators[index] = enumerator
            if defined { enums[key]?.enumerators.append(enumerator) }
        }
        if defined { enums[key] = e }
        return e
    }

    mutating func analyzeConst(_ definition: ConstDef, scope: [String]) -> ConstDef {
        var c = definition
        resolveType(&c.type, scope: scope, user: c.info)
        if let type = c.type.resolved {
            let allowed: Bool
            switch type {
            case .builtin(let b): allowed = ![.object, .value, .localObject].contains(b)
            case .user(_, .enum): allowed = true
            default: allowed = false
            }
            if allowed {
                c.value = checkValue(c.valueSyntax, type: type, what: "constant '\(c.info.name.name)'", scope: scope)
            } else {
                diagnostics.error(
                    "constant-type", "constant '\(c.info.name.name)' has illegal type", at: c.type.location)
            }
        }
        if define(c.info, as: .constant, scope: scope) { constants[c.info.scopedName.lowercased()] = c }
        return c
    }

    /// Resolves and checks the data members of a struct, class or exception: types, unique
    /// names, defaults and tags.
    mutating func analyzeMembers(
        _ members: [DataMember], container: DefinitionInfo, containerKind: String, scope: [String],
        inherited: [String: String] = [:]
    ) -> [DataMember] {
        var result: [DataMember] = []
        var names: [String: String] = [:]
        var tags: [Int: String] = [:]
        for var member in members {
            let name = member.info.name.name
            checkMetadata(member.info)
            resolveType(&member.type, scope: scope, useScope: container.scopedName, user: container)
            if let previous = names[name.lowercased()] {
                diagnostics.error(
                    "member-redefinition",
                    previous == name
                        ? "redefinition of data member '\(name)'"
                        : "data member '\(name)' differs only in capitalization from data member '\(previous)'",
                    at: member.info.name.location)
            } else if let base = inherited[name.lowercased()] {
                diagnostics.error(
                    "member-redefinition",
                    "data member '\(name)' is already defined in base \(containerKind) '\(base)'",
                    at: member.info.name.location)
            }
            names[name.lowercased()] = name
            if let syntax = member.defaultSyntax, let type = member.type.resolved {
                if Self.isConstantType(type) {
                    member.defaultValue = checkValue(syntax, type: type, what: "data member '\(name)'", scope: scope)
                } else {
                    diagnostics.error(
                        "default-value", "default value not allowed for data member '\(name)'", at: syntax.location)
                }
            }
            if let syntax = member.tagSyntax,
                let tag = checkIndex(syntax, what: "tag for optional data member '\(name)'", scope: scope)
            {
                if let other = tags[Int(tag)] {
                    diagnostics.error(
                        "tag-in-use", "tag for optional data member '\(name)' is already in use by '\(other)'",
                        at: syntax.location)
                } else {
                    tags[Int(tag)] = name
                    member.tag = Int(tag)
                }
            }
            result.append(member)
        }
        return result
    }

    static func isConstantType(_ type: ResolvedType) -> Bool {
        switch type {
        case .builtin(let b): ![.object, .value, .localObject].contains(b)
        case .user(_, .enum): true
        default: false
        }
    }
}
