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

    init(_ unit: CompilationUnit) {
        add(unit.definitions)
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

    /// Whether values of the type conform to `StreamCodable` (no proxies anywhere inside, and
    /// not an interface by value): then sequences and dictionaries of it need no helper.
    func isStreamCodable(_ type: ResolvedType, depth: Int = 0) -> Bool {
        guard depth < 32 else { return false }
        switch type {
        case .builtin: return true
        case .proxy: return false
        case .user(let name, let kind):
            switch kind {
            case .struct, .enum, .class: return true
            case .interface, .exception: return false
            case .sequence:
                return sequences[name].flatMap(\.element.resolved).map { isStreamCodable($0, depth: depth + 1) }
                    ?? false
            case .dictionary:
                guard let d = dictionaries[name], let k = d.key.resolved, let v = d.value.resolved else { return false }
                return isStreamCodable(k, depth: depth + 1) && isStreamCodable(v, depth: depth + 1)
            }
        }
    }

    /// Whether the sequence named `name` is a sequence of bytes (mapped to `Data`).
    func isByteSequence(_ name: String) -> Bool { sequences[name]?.element.resolved == .builtin(.byte) }

    /// Whether values of the type can be decoded from a `RawReader` (`RawDecodable`): numbers,
    /// strings, and structs made only of those.
    func isRawDecodable(_ type: ResolvedType, depth: Int = 0) -> Bool {
        guard depth < 32 else { return false }
        switch type {
        case .builtin(let b): return b != .object && b != .value && b != .localObject
        case .user(let name, .struct):
            guard let s = structs[name] else { return false }
            return s.members.allSatisfy { m in
                !m.isOptional && (m.type.resolved.map { isRawDecodable($0, depth: depth + 1) } ?? false)
            }
        default: return false
        }
    }

    /// Whether the Swift value is `Sendable`: everything but class instances and what holds them.
    func isSendable(_ type: ResolvedType) -> Bool { holdsNoClasses(type, allowingProxies: true) }

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
    func mayHoldClasses(_ type: ResolvedType) -> Bool { !holdsNoClasses(type, allowingProxies: true) }

    /// Whether the Swift value can be `Hashable`: no classes or proxies inside.
    func isHashable(_ type: ResolvedType) -> Bool { holdsNoClasses(type, allowingProxies: false) }

    private func holdsNoClasses(_ type: ResolvedType, allowingProxies: Bool, depth: Int = 0) -> Bool {
        guard depth < 32 else { return false }
        let inner = { (t: ResolvedType?) in
            t.map { holdsNoClasses($0, allowingProxies: allowingProxies, depth: depth + 1) } ?? false
        }
        switch type {
        case .builtin(let b): return b != .object && b != .value && b != .localObject
        case .proxy: return allowingProxies
        case .user(let name, let kind):
            switch kind {
            case .class, .interface, .exception: return false
            case .enum: return true
            case .struct: return structs[name]?.members.allSatisfy { inner($0.type.resolved) } ?? false
            case .sequence: return inner(sequences[name]?.element.resolved)
            case .dictionary:
                guard let d = dictionaries[name] else { return false }
                return inner(d.key.resolved) && inner(d.value.resolved)
            }
        }
    }

    /// The fixed encoded size of a type, or nil if it varies.
    func fixedSize(_ type: ResolvedType, depth: Int = 0) -> Int? {
        guard depth < 32 else { return nil }
        switch type {
        case .builtin(let b):
            switch b {
            case .bool, .byte: return 1
            case .short: return 2
            case .int, .float: return 4
            case .long, .double: return 8
            default: return nil
            }
        case .user(let name, .struct):
            guard let s = structs[name] else { return nil }
            var total = 0
            for member in s.members {
                guard let type = member.type.resolved, let size = fixedSize(type, depth: depth + 1) else { return nil }
                total += size
            }
            return total
        default: return nil
        }
    }

    /// The fewest bytes a value takes on the wire.
    func minSize(_ type: ResolvedType, depth: Int = 0) -> Int {
        if let fixed = fixedSize(type) { return fixed }
        guard depth < 32 else { return 1 }
        switch type {
        case .proxy: return 2
        case .user(let name, .struct):
            return structs[name]?.members.reduce(0) {
                $0 + ($1.type.resolved.map { minSize($0, depth: depth + 1) } ?? 1)
            } ?? 1
        default: return 1
        }
    }
}
