import SliceAST

/// Every definition of a unit (included files too) by scoped name, and the facts about types
/// that the generated code depends on.
struct TypeIndex {
    var structs: [String: StructDef] = [:]
    var enums: [String: EnumDef] = [:]
    var sequences: [String: SequenceDef] = [:]
    var dictionaries: [String: DictionaryDef] = [:]
    var classes: [String: ClassDef] = [:]
    var interfaces: [String: InterfaceDef] = [:]
    var exceptions: [String: ExceptionDef] = [:]

    /// What the generated code needs to know of each struct, sequence and dictionary, worked
    /// out once per type from its members' facts. Asked afresh each time by recursion, a struct
    /// of two members of the struct before it, twenty deep, took 11 s (2²⁰ visits), and a cutoff
    /// at 32 levels gave deeper types wrong answers.
    private struct Facts {
        var holdsNoClasses = false  // proxies allowed
        var holdsNoClassesOrProxies = false
        var streamCodable = false
        var rawDecodable = false
        var fixedSize: Int?
        var minSize = 1
    }

    private var facts: [String: Facts] = [:]

    /// The largest size recorded. Generated code multiplies a minimum size by a count below 2³¹
    /// (`readCount(minElementSize:)`), which stays within a 64-bit `Int` for sizes up to this.
    static let maxSize = Int(Int32.max)

    init(_ unit: CompilationUnit) {
        add(unit.definitions)
        for name in structs.keys { record(name) }
        for name in sequences.keys { record(name) }
        for name in dictionaries.keys { record(name) }
    }

    private mutating func add(_ definitions: [Definition]) {
        for definition in definitions {
            switch definition {
            case .module(let m): add(m.contents)
            case .structDef(let s): structs[s.info.scopedName] = s
            case .enumDef(let e): enums[e.info.scopedName] = e
            case .sequence(let s): sequences[s.info.scopedName] = s
            case .dictionary(let d): dictionaries[d.info.scopedName] = d
            case .classDef(let c): classes[c.info.scopedName] = c
            case .interfaceDef(let i): interfaces[i.info.scopedName] = i
            case .exception(let e): exceptions[e.info.scopedName] = e
            case .forward, .const: break
            }
        }
    }

    /// Works out the facts of a named type and of the types it is made of, without recursion (a
    /// chain of types may be thousands deep): a type is settled once all its parts are. Slice
    /// makes these types form no cycle (a type must be defined before use; classes, which may
    /// be forward-declared, end a chain); a type met again while pending gets no facts.
    private mutating func record(_ root: String) {
        var pending = [root]
        var visiting: Set<String> = []
        while let name = pending.last {
            if facts[name] != nil {
                pending.removeLast()
                continue
            }
            let parts = namedParts(of: name).filter { facts[$0] == nil }
            if parts.isEmpty || visiting.contains(name) {
                facts[name] = settle(name)
                pending.removeLast()
            } else {
                visiting.insert(name)
                pending += parts.filter { !visiting.contains($0) }
            }
        }
    }

    /// The structs, sequences and dictionaries a named type is made of directly.
    private func namedParts(of name: String) -> [String] {
        let types: [TypeRef] =
            structs[name]?.members.map(\.type) ?? sequences[name].map { [$0.element] }
            ?? dictionaries[name].map { [$0.key, $0.value] } ?? []
        return types.compactMap { type in
            switch type.resolved {
            case .user(let part, .struct)?, .user(let part, .sequence)?, .user(let part, .dictionary)?: part
            default: nil
            }
        }
    }

    /// The facts of a named type whose parts are settled.
    private func settle(_ name: String) -> Facts {
        var result = Facts()
        if let s = structs[name] {
            let members = s.members.map { member in member.type.resolved.map(facts(of:)) ?? Facts() }
            result.holdsNoClasses = members.allSatisfy(\.holdsNoClasses)
            result.holdsNoClassesOrProxies = members.allSatisfy(\.holdsNoClassesOrProxies)
            result.streamCodable = true
            result.rawDecodable = zip(s.members, members).allSatisfy { !$0.isOptional && $1.rawDecodable }
            // Sizes double with each level of a struct of two of the one before: they stop at
            // `maxSize` (no fixed size past it) instead of overflowing.
            let sizes = members.compactMap(\.fixedSize)
            let fixed = sizes.reduce(0) { min($0 + $1, Self.maxSize + 1) }
            result.fixedSize = sizes.count == members.count && fixed <= Self.maxSize ? fixed : nil
            result.minSize = result.fixedSize ?? members.reduce(0) { min($0 + $1.minSize, Self.maxSize) }
        } else if let element = sequences[name]?.element.resolved {
            let e = facts(of: element)
            result.holdsNoClasses = e.holdsNoClasses
            result.holdsNoClassesOrProxies = e.holdsNoClassesOrProxies
            result.streamCodable = e.streamCodable
        } else if let d = dictionaries[name], let key = d.key.resolved, let value = d.value.resolved {
            let (k, v) = (facts(of: key), facts(of: value))
            result.holdsNoClasses = k.holdsNoClasses && v.holdsNoClasses
            result.holdsNoClassesOrProxies = k.holdsNoClassesOrProxies && v.holdsNoClassesOrProxies
            result.streamCodable = k.streamCodable && v.streamCodable
        }
        return result
    }

    /// The facts of any type: those of named structs, sequences and dictionaries as recorded.
    private func facts(of type: ResolvedType) -> Facts {
        var result = Facts()
        switch type {
        case .builtin(let b):
            let notClass = b != .object && b != .value && b != .localObject
            result.holdsNoClasses = notClass
            result.holdsNoClassesOrProxies = notClass
            result.streamCodable = true
            result.rawDecodable = notClass
            switch b {
            case .bool, .byte: result.fixedSize = 1
            case .short: result.fixedSize = 2
            case .int, .float: result.fixedSize = 4
            case .long, .double: result.fixedSize = 8
            default: break
            }
            result.minSize = result.fixedSize ?? 1
        case .proxy:
            result.holdsNoClasses = true
            result.minSize = 2
        case .user(let name, let kind):
            switch kind {
            case .class: result.streamCodable = true
            case .interface, .exception: break
            case .enum:
                result.holdsNoClasses = true
                result.holdsNoClassesOrProxies = true
                result.streamCodable = true
            case .struct, .sequence, .dictionary:
                result = facts[name] ?? Facts()
                if kind == .struct { result.streamCodable = true }  // generated for every struct
            }
        }
        return result
    }

    /// Whether values of the type conform to `StreamCodable` (no proxies anywhere inside, and
    /// not an interface by value): then sequences and dictionaries of it need no helper.
    func isStreamCodable(_ type: ResolvedType) -> Bool { facts(of: type).streamCodable }

    /// Whether the sequence named `name` is a sequence of bytes (mapped to `Data`).
    func isByteSequence(_ name: String) -> Bool { sequences[name]?.element.resolved == .builtin(.byte) }

    /// Whether values of the type can be decoded from a `RawReader` (`RawDecodable`): numbers,
    /// strings, and structs made only of those.
    func isRawDecodable(_ type: ResolvedType) -> Bool {
        if case .user(_, .struct) = type { return facts(of: type).rawDecodable }
        if case .builtin = type { return facts(of: type).rawDecodable }
        return false
    }

    /// Whether the Swift value is `Sendable`: everything but class instances and what holds them.
    func isSendable(_ type: ResolvedType) -> Bool { facts(of: type).holdsNoClasses }

    /// Whether a class has operations (its own, a base class's or an implemented interface's):
    /// then `C*` is a proxy with those operations.
    func classHasOperations(_ name: String, depth: Int = 0) -> Bool {
        // (The parser allows 100 levels of bases: this walks each of them, and no further.)
        guard depth <= 100, let c = classes[name] else { return false }
        if !c.operations.isEmpty || !c.implements.isEmpty { return true }
        guard case .user(let base, .class)? = c.base?.resolved else { return false }
        return classHasOperations(base, depth: depth + 1)
    }

    /// Whether values of the type may hold class instances (and so take part in cycles).
    func mayHoldClasses(_ type: ResolvedType) -> Bool { !facts(of: type).holdsNoClasses }

    /// Whether the Swift value can be `Hashable`: no classes or proxies inside.
    func isHashable(_ type: ResolvedType) -> Bool { facts(of: type).holdsNoClassesOrProxies }

    /// The fixed encoded size of a type, or nil if it varies.
    func fixedSize(_ type: ResolvedType) -> Int? { facts(of: type).fixedSize }

    /// The fewest bytes a value takes on the wire.
    func minSize(_ type: ResolvedType) -> Int { facts(of: type).minSize }
}
