import SliceAST

/// Checks a parsed unit in source order, as Slice's declare-before-use rules require, and
/// fills in what resolution decides: resolved types, folded constants, enumerator values,
/// tags and compact ids.
struct SemanticAnalyzer {
    var unit: CompilationUnit
    var diagnostics = Diagnostics()
    var symbols = SymbolTable()

    // Checked definitions by lower-cased scoped name, for rules that look into other types.
    var classes: [String: ClassDef] = [:]
    var interfaces: [String: InterfaceDef] = [:]
    var exceptions: [String: ExceptionDef] = [:]
    var structs: [String: StructDef] = [:]
    var sequences: [String: SequenceDef] = [:]
    var dictionaries: [String: DictionaryDef] = [:]
    var enums: [String: EnumDef] = [:]
    var constants: [String: ConstDef] = [:]
    var compactIds: [Int: String] = [:]
    /// How many levels of bases each class, interface and exception has (0 with no base).
    var derivationDepths: [String: Int] = [:]

    /// How many levels of bases a class, interface or exception may have. Far beyond real
    /// Slice; a chain thousands deep would otherwise cost work and generated code growing with
    /// the square of its length (4,000 interfaces, one operation each: 23 GB and 5 minutes).
    static let maxDerivationDepth = 100

    init(unit: CompilationUnit) {
        self.unit = unit
    }

    mutating func run() -> CompilationUnit {
        var result = unit
        result.definitions = analyze(unit.definitions, scope: [])
        for file in unit.files { checkFileMetadata(file) }
        return result
    }

    func scopeKey(_ scope: [String]) -> String { "::" + scope.joined(separator: "::") }

    mutating func analyze(_ definitions: [Definition], scope: [String]) -> [Definition] {
        definitions.map { analyze($0, scope: scope) }
    }

    mutating func analyze(_ definition: Definition, scope: [String]) -> Definition {
        checkMetadata(definition.info)
        switch definition {
        case .module(var module):
            define(module.info, as: .module, scope: scope)
            module.contents = analyze(module.contents, scope: scope + [module.info.name.name])
            return .module(module)
        case .forward(let forward):
            defineForward(forward, scope: scope)
            return definition
        case .classDef(let c): return .classDef(analyzeClass(c, scope: scope))
        case .interfaceDef(let i): return .interfaceDef(analyzeInterface(i, scope: scope))
        case .exception(let e): return .exception(analyzeException(e, scope: scope))
        case .structDef(let s): return .structDef(analyzeStruct(s, scope: scope))
        case .sequence(let s): return .sequence(analyzeSequence(s, scope: scope))
        case .dictionary(let d): return .dictionary(analyzeDictionary(d, scope: scope))
        case .enumDef(let e): return .enumDef(analyzeEnum(e, scope: scope))
        case .const(let c): return .const(analyzeConst(c, scope: scope))
        }
    }

    // MARK: Defining names

    /// Enters a new name in the symbol table, reporting redefinitions, case clashes,
    /// clashes with enclosing modules and changed meanings. Returns false if it was rejected.
    @discardableResult
    mutating func define(_ info: DefinitionInfo, as kind: SymbolKind, scope: [String]) -> Bool {
        let name = info.name.name
        let location = info.name.location
        if let enclosing = scope.first(where: { $0.lowercased() == name.lowercased() }) {
            diagnostics.error(
                "module-name-clash",
                "\(kind.noun) name '\(name)' must differ from the name of its enclosing module '\(enclosing)'",
                at: location)
        }
        if let meaning = symbols.conflictingUse(ofNewName: name, scopedName: info.scopedName, in: scopeKey(scope)) {
            diagnostics.error(
                "changed-meaning", "'\(name)' has changed meaning: it was used to mean '\(meaning)'", at: location)
        }
        if let existing = symbols[info.scopedName] {
            let existingName = String(existing.scopedName.split(separator: ":").last ?? "")
            if kind == .module && existing.kind == .module {
                if existingName != name {
                    diagnostics.error(
                        "capitalization",
                        "module '\(name)' is capitalized inconsistently with its previous name: '\(existingName)'",
                        at: location)
                }
                return true
            }
            let note = Diagnostic(.note, "previous-definition", "previous definition is here", at: existing.location)
            if existingName == name {
                diagnostics.error(
                    "redefinition", "redefinition of \(existing.kind.noun) '\(name)' as \(kind.noun)", at: location,
                    notes: [note])
            } else {
                diagnostics.error(
                    "case-clash",
                    "\(kind.noun) '\(name)' differs only in capitalization from \(existing.kind.noun) '\(existingName)'",
                    at: location, notes: [note])
            }
            return false
        }
        symbols[info.scopedName] = Symbol(
            kind: kind, scopedName: info.scopedName, location: location, isLocal: info.isLocal)
        return true
    }

    /// `class C;` / `interface I;`: may repeat, and may come before or after the definition,
    /// but must agree with it on kind and locality.
    mutating func defineForward(_ forward: ForwardDecl, scope: [String]) {
        let kind: SymbolKind = forward.kind == .class ? .classType(defined: false) : .interfaceType(defined: false)
        guard let existing = symbols[forward.info.scopedName] else {
            define(forward.info, as: kind, scope: scope)
            return
        }
        checkRedeclaration(forward.info, kind: kind, existing: existing)
    }

    /// For a class or interface definition: registers it, or completes an earlier declaration.
    mutating func defineType(_ info: DefinitionInfo, kind: SymbolKind, scope: [String]) -> Bool {
        guard let existing = symbols[info.scopedName] else { return define(info, as: kind, scope: scope) }
        guard checkRedeclaration(info, kind: kind, existing: existing) else { return false }
        switch existing.kind {
        case .classType(true), .interfaceType(true):
            diagnostics.error(
                "redefinition", "redefinition of \(kind.noun) '\(info.name.name)'", at: info.name.location,
                notes: [Diagnostic(.note, "previous-definition", "previous definition is here", at: existing.location)])
            return false
        default:
            symbols[info.scopedName] = Symbol(
                kind: kind, scopedName: info.scopedName, location: info.name.location, isLocal: info.isLocal)
            return true
        }
    }

    @discardableResult
    private mutating func checkRedeclaration(_ info: DefinitionInfo, kind: SymbolKind, existing: Symbol) -> Bool {
        let name = info.name.name
        let existingName = String(existing.scopedName.split(separator: ":").last ?? "")
        switch (kind, existing.kind) {
        case (.classType, .classType), (.interfaceType, .interfaceType):
            if existingName != name {
                diagnostics.error(
                    "capitalization",
                    "\(kind.noun) '\(name)' is capitalized inconsistently with its previous name: '\(existingName)'",
                    at: info.name.location)
                return false
            }
            if existing.isLocal != info.isLocal {
                diagnostics.error(
                    "local-mismatch",
                    "\(info.isLocal ? "local" : "non-local") \(kind.noun) '\(name)' was declared \(existing.isLocal ? "local" : "non-local")",
                    at: info.name.location)
                return false
            }
            return true
        case (.classType, .interfaceType), (.interfaceType, .classType):
            diagnostics.error(
                "declaration-mismatch", "\(kind.noun) '\(name)' was declared as \(existing.kind.noun)",
                at: info.name.location)
            return false
        default:
            define(info, as: kind, scope: [])
            return false
        }
    }

    // MARK: Resolving names

    /// Looks a name up and records the use for the changed-meaning rule.
    mutating func resolve(_ name: String, at location: SourceLocation, scope: [String], useScope: String? = nil)
        -> Symbol?
    {
        guard let symbol = symbols.lookup(name, from: scope) else {
            diagnostics.error("undefined", "'\(name)' is not defined", at: location)
            return nil
        }
        // The spelling must match the definition's, component for component.
        let written = name.split(separator: ":", omittingEmptySubsequences: true)
        let defined = symbol.scopedName.split(separator: ":", omittingEmptySubsequences: true).suffix(written.count)
        if !written.elementsEqual(defined) {
            diagnostics.error(
                "capitalization",
                "\(symbol.kind.noun) name '\(name)' is capitalized inconsistently with its previous name: '\(symbol.scopedName)'",
                at: location)
        }
        if let previous = symbols.recordUse(name, resolvedTo: symbol, in: useScope ?? scopeKey(scope), at: location) {
            diagnostics.error(
                "changed-meaning",
                "'\(name.split(separator: ":").first ?? "")' has changed meaning: it was used to mean '\(previous)'",
                at: location)
        }
        return symbol
    }

    /// Records how many levels of bases a type has, from its resolved bases, and whether that
    /// is within `maxDerivationDepth`. A chain is reported once, where it crosses the limit;
    /// the types past it are then checked as if they had no base, which keeps the check's own
    /// work bounded.
    mutating func checkDerivationDepth(_ info: DefinitionInfo, bases: [String], noun: String) -> Bool {
        let depth = 1 + (bases.map { derivationDepths[$0.lowercased()] ?? 0 }.max() ?? -1)
        // A redefinition (an error of its own) must not lower what the first definition recorded.
        derivationDepths[info.scopedName.lowercased()] = max(depth, derivationDepths[info.scopedName.lowercased()] ?? 0)
        if depth == Self.maxDerivationDepth + 1 {
            diagnostics.error(
                "derivation-depth",
                "\(noun) '\(info.name.name)' inherits through more than \(Self.maxDerivationDepth) levels of bases",
                at: info.name.location)
        }
        return depth <= Self.maxDerivationDepth
    }
}
