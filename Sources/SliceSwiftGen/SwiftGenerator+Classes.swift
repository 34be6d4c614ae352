import SliceAST

extension SwiftGenerator {
    /// Members in wire order: required ones as declared, then optional ones by tag.
    func wireOrder(_ members: [DataMember]) -> [DataMember] {
        members.filter { !$0.isOptional } + members.filter(\.isOptional).sorted { ($0.tag ?? 0) < ($1.tag ?? 0) }
    }

    /// Stored properties for data members, with their Slice defaults.
    private func properties(_ members: [DataMember]) -> [SwiftDecl] {
        members.compactMap { member in
            guard let type = member.type.resolved else { return nil }
            let nullable = member.isOptional && !isNullable(type)
            // An optional member keeps its Slice default (`optional(1) Kind kind = HOME`), as
            // ZeroC's mappings do: a default-constructed instance sends it.
            let value =
                member.defaultValue.map { literal($0, type: type) }
                ?? (member.isOptional ? "nil" : zeroValue(type))
            return .property(
                doc: docLines(member.info.doc), modifiers: access, name: swiftName(member.info.name.name),
                type: swiftType(type) + (nullable ? "?" : ""), value: value, body: nil)
        }
    }

    /// The statements that write one slice's members (required, then optional by tag).
    private func writeMembers(_ members: [DataMember]) -> [String] {
        memberRuns(wireOrder(members)).flatMap { run -> [String] in
            if run.count > 1 { return rawWriteStatements(run) }
            guard let m = run.first, let type = m.type.resolved else { return [] }
            let value = "self." + swiftName(m.info.name.name)
            if m.isOptional, let tag = m.tag { return [writeTaggedStatement(type, value, tag: tag)] }
            return [writeStatement(type, value)]
        }
    }

    private func readMembers(_ members: [DataMember]) -> [String] {
        memberRuns(wireOrder(members)).flatMap { run -> [String] in
            if run.count > 1 {
                let reads = run.compactMap { m in
                    m.type.resolved.map {
                        "    self.\(swiftName(m.info.name.name)) = \(readExpression($0, stream: "reader"))"
                    }
                }
                return ["try istr.withRawReader { reader in"] + reads + ["}"]
            }
            guard let m = run.first, let type = m.type.resolved else { return [] }
            let target = "self." + swiftName(m.info.name.name)
            if m.isOptional, let tag = m.tag { return ["\(target) = \(readTaggedExpression(type, tag: tag))"] }
            return ["\(target) = \(readExpression(type))"]
        }
    }

    /// The statements passing each member that may hold class instances to a
    /// `ReferenceVisitor` (the runtime frees received cycles through them).
    func visitStatements(_ members: [DataMember]) -> [String] {
        members.compactMap { m in
            guard let type = m.type.resolved, index.mayHoldClasses(type) else { return nil }
            let nullable = m.isOptional && !isNullable(type)
            return "self.\(swiftName(m.info.name.name))\(nullable ? "?" : "")._iceVisitReferences(&visitor)"
        }
    }

    /// Members split into runs: consecutive required members of raw-codable types (numbers,
    /// strings, structs of those) form one run, to be coded through one `RawWriter`/`RawReader`
    /// (one buffer access per run instead of one per member); every other member is a run of one.
    private func memberRuns(_ members: [DataMember]) -> [[DataMember]] {
        var runs: [[DataMember]] = []
        var open = false
        for m in members {
            let raw = !m.isOptional && (m.type.resolved.map { index.isRawDecodable($0) } ?? false)
            if raw && open {
                runs[runs.count - 1].append(m)
            } else {
                runs.append([m])
            }
            open = raw
        }
        return runs
    }

    /// One `withRawWriter` block writing a run of raw-codable members.
    private func rawWriteStatements(_ run: [DataMember]) -> [String] {
        let members = memberValues(run)
        return ["ostr.withRawWriter(size: \(rawSizeExpression(members))) { writer in"]
            + members.map { "    " + rawWriteStatement($0.type, $0.value) } + ["}"]
    }

    /// The data members of every base, outermost base first.
    func inheritedMembers(base: TypeRef?, classes: Bool) -> [DataMember] {
        var chain: [[DataMember]] = []
        var next = base?.resolved
        var guardCount = 0
        while case .user(let name, _)? = next, guardCount < 100 {
            guardCount += 1
            if classes, let c = index.classes[name] {
                chain.insert(c.members, at: 0)
                next = c.base?.resolved
            } else if !classes, let e = index.exceptions[name] {
                chain.insert(e.members, at: 0)
                next = e.base?.resolved
            } else {
                break
            }
        }
        return chain.flatMap { $0 }
    }

    func classDecls(_ c: ClassDef) -> [SwiftDecl] {
        let name = localName(c.info)
        var baseName = "\(rt("Value"))"
        if case .user(let base, _)? = c.base?.resolved { baseName = typeName(base) }
        let inherited = inheritedMembers(base: c.base, classes: true)
        var members = properties(c.members)
        members.append(.blank)
        members.append(.function(doc: [], signature: "\(access) required init()", body: ["super.init()"]))
        if !(c.members.isEmpty && inherited.isEmpty) {
            members.append(memberwiseInit(c.members, superMembers: inherited, isClass: true))
        }
        members.append(.blank)
        members.append(
            .function(
                doc: [], signature: "override open class func ice_staticId() -> \(std("String"))",
                body: [swiftStringLiteral(c.info.scopedName)]))
        let compact = c.compactId.map { ", compactId: \($0)" } ?? ""
        members.append(
            .function(
                doc: [], signature: "override open func _iceWriteImpl(to ostr: inout \(rt("OutputStream")))",
                body: [
                    "ostr.startSlice(typeId: \(swiftStringLiteral(c.info.scopedName))\(compact), last: \(c.base == nil))"
                ]
                    + writeMembers(c.members) + ["ostr.endSlice()"]
                    + (c.base == nil ? [] : ["super._iceWriteImpl(to: &ostr)"])))
        members.append(
            .function(
                doc: [], signature: "override open func _iceReadImpl(from istr: inout \(rt("InputStream"))) throws",
                body: ["try istr.startSlice()"] + readMembers(c.members) + ["try istr.endSlice()"]
                    + (c.base == nil ? [] : ["try super._iceReadImpl(from: &istr)"])))
        let visits = visitStatements(c.members)
        if !visits.isEmpty {
            members.append(
                .function(
                    doc: [],
                    signature: "override open func _iceVisitReferences(_ visitor: inout \(rt("ReferenceVisitor")))",
                    body: visits + ["super._iceVisitReferences(&visitor)"]))
        }
        var decls: [SwiftDecl] = [
            .nominal(
                SwiftNominal(
                    doc: docLines(c.info.doc), modifiers: "open", kind: .class, name: name, inherits: [baseName],
                    members: members))
        ]
        if let asInterface = operationsInterface(of: c) {
            // A class with operations (deprecated) gets what an interface gets: `CPrx` for `C*`,
            // and a servant protocol named `COperations` (the class's own name is taken), as in
            // ZeroC's 3.7 Swift mapping, so servers written against such Slice can be ported.
            decls += [.blank] + interfaceDecls(asInterface)
        }
        return decls
    }

    /// The interface a class with operations stands for: its own operations, based on its base
    /// class (when that has operations) and the interfaces it implements. Nil without operations.
    func operationsInterface(of c: ClassDef) -> InterfaceDef? {
        guard index.classHasOperations(c.info.scopedName) else { return nil }
        var bases = c.implements
        if let base = c.base, case .user(let name, .class)? = base.resolved, index.classHasOperations(name) {
            bases.insert(base, at: 0)
        }
        return InterfaceDef(info: c.info, bases: bases, operations: c.operations)
    }

    func exceptionDecls(_ e: ExceptionDef) -> [SwiftDecl] {
        let name = localName(e.info)
        let isRoot = e.base == nil
        var inherits = ["\(rt("UserException"))", "@unchecked \(std("Sendable"))"]
        if case .user(let base, _)? = e.base?.resolved { inherits = [typeName(base), "@unchecked \(std("Sendable"))"] }
        let inherited = inheritedMembers(base: e.base, classes: false)
        let override = isRoot ? "" : "override "
        var members = properties(e.members)
        members.append(.blank)
        members.append(
            .function(doc: [], signature: "\(access) required init()", body: isRoot ? [] : ["super.init()"]))
        if !(e.members.isEmpty && inherited.isEmpty) {
            members.append(memberwiseInit(e.members, superMembers: inherited, isClass: !isRoot))
        }
        members.append(.blank)
        members.append(
            .function(
                doc: [], signature: "\(override)open class func ice_staticId() -> \(std("String"))",
                body: [swiftStringLiteral(e.info.scopedName)]))
        if isRoot {
            members.append(
                .function(
                    doc: [], signature: "open func ice_id() -> \(std("String"))",
                    body: ["Swift.type(of: self).ice_staticId()"]))
        }
        members.append(
            .function(
                doc: [], signature: "\(override)open func _iceWriteImpl(to ostr: inout \(rt("OutputStream")))",
                body: ["ostr.startSlice(typeId: \(swiftStringLiteral(e.info.scopedName)), last: \(isRoot))"]
                    + writeMembers(e.members) + ["ostr.endSlice()"] + (isRoot ? [] : ["super._iceWriteImpl(to: &ostr)"])
            ))
        members.append(
            .function(
                doc: [], signature: "\(override)open func _iceReadImpl(from istr: inout \(rt("InputStream"))) throws",
                body: ["try istr.startSlice()"] + readMembers(e.members) + ["try istr.endSlice()"]
                    + (isRoot ? [] : ["try super._iceReadImpl(from: &istr)"])))
        return [
            .nominal(
                SwiftNominal(
                    doc: docLines(e.info.doc), modifiers: "open", kind: .class, name: name, inherits: inherits,
                    members: members))
        ]
    }
}
