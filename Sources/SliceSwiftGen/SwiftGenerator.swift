import Foundation
public import SliceAST

/// One generated Swift file.
public struct GeneratedFile: Sendable, Hashable {
    /// `Hello.swift` for `Hello.ice`.
    public var name: String
    public var contents: String
}

/// Options that shape the generated code.
public struct GeneratorOptions: Sendable {
    /// The Swift module that provides the runtime.
    public var runtimeModule: String
    /// The Swift module of the Slice module `Ice`: the runtime by default, which provides
    /// the Ice types applications use; another name when generating ZeroC's own Ice files.
    public var iceModule: String?
    /// The Swift module all the Slice of this compilation goes into (the build plugin's target):
    /// then every top-level Slice module of its files maps to it — one with `swift:module`
    /// metadata keeps that metadata's type-name prefix — so that several top-level modules in
    /// one target refer to each other without imports. Nil maps each top-level module to a
    /// Swift module of its own name (or its `swift:module`), as ZeroC's slice2swift does.
    public var moduleName: String?
    /// The Swift module of the `Ice` types the runtime does not write by hand (built-in
    /// sequences, Locator, Process, Router…), generated from Floe's `Slice/Ice`.
    public var iceTypesModule = "FloeIce"
    /// With `moduleName`: whether a Slice file belongs to that module (the build plugin's
    /// target); nil means every file does. Files outside it keep ZeroC's mapping (their top-level
    /// module, or its `swift:module`, names their Swift module).
    public var isInModule: (@Sendable (String) -> Bool)?
    /// The base name of the Swift file (and Slice loader, `NAME_SliceLoader`) generated from a
    /// Slice file, when it is not the Slice file's own: two Slice files of one Swift module with
    /// one name (ZeroC's IceGrid/Session.ice and Glacier2/Session.ice) need two. Nil for a file
    /// keeps its name.
    public var swiftFileName: (@Sendable (String) -> String?)?
    /// Shown in the header of every file.
    public var compilerVersion: String

    public init(
        runtimeModule: String = "FloeCore", iceModule: String? = nil, moduleName: String? = nil,
        compilerVersion: String = "0.1.0"
    ) {
        self.runtimeModule = runtimeModule
        self.iceModule = iceModule
        self.moduleName = moduleName
        self.compilerVersion = compilerVersion
    }
}

/// Translates a checked compilation unit into Swift: data types, classes, exceptions, typed
/// proxies and servant protocols with their dispatch. It never sees invalid input (the
/// front end rejects it) and does no I/O.
public struct SwiftGenerator {
    let unit: CompilationUnit
    let options: GeneratorOptions
    let index: TypeIndex
    /// Swift module and type-name prefix per top-level Slice module (as the main file maps it).
    var modules: [String: (swiftModule: String, prefix: String)] = [:]
    /// Swift module and type-name prefix per definition, by scoped name.
    var definitionModules: [String: (swiftModule: String, prefix: String)] = [:]
    /// The Swift module of the file being generated.
    var currentModule = ""
    /// Member names of the type being generated (see `typeName`).
    var shadowedNames: Set<String> = []
    /// Whether this file registers Slice loaders (see `loaderRegistration`): its proxies and
    /// servants then make sure it ran.
    var registersLoaders = false

    public init(unit: CompilationUnit, options: GeneratorOptions = GeneratorOptions()) {
        self.unit = unit
        self.options = options
        self.index = TypeIndex(unit)
        // A top-level module may be reopened in several files with different `swift:module`
        // metadata (ZeroC maps IceMX to Ice in one file and to IceStorm in another), so the
        // mapping is recorded for every definition, from the module definition that holds it.
        for case .module(let module) in unit.definitions {
            let own = options.moduleName != nil && (options.isInModule?(module.info.name.location.file) ?? true)
            let mapped = Self.mapping(of: module, options: options, own: own)
            if modules[module.info.name.name] == nil || module.info.includeLevel == 0 {
                modules[module.info.name.name] = mapped
            }
            Self.record(module.contents, as: mapped, into: &definitionModules)
        }
        if options.iceModule == nil {
            // The runtime writes some `Ice` types by hand (it uses them itself); FloeIce has the
            // rest, generated from Floe's own Slice.
            for (name, mapped) in definitionModules where name.hasPrefix("::Ice::") && mapped.prefix.isEmpty {
                if !Self.handWrittenIceTypes.contains(name) { definitionModules[name] = (options.iceTypesModule, "") }
            }
        }
    }

    /// The `Ice` types the runtime module itself provides.
    static let handWrittenIceTypes: Set<String> = [
        "::Ice::Identity", "::Ice::IdentitySeq", "::Ice::Context", "::Ice::OperationMode", "::Ice::ProtocolVersion",
        "::Ice::EncodingVersion",
    ]

    /// The Swift module and type-name prefix of a top-level Slice module: its own name, or what
    /// its `swift:module:Name[:Prefix]` metadata says; for a module of the file set being built
    /// into `moduleName` (`own`), that module, keeping the metadata's prefix.
    static func mapping(of module: ModuleDef, options: GeneratorOptions, own: Bool) -> (
        swiftModule: String, prefix: String
    ) {
        let name = module.info.name.name
        if name == "Ice" { return (options.iceModule ?? options.runtimeModule, "") }
        var mapped = (swiftModule: name, prefix: "")
        for metadata in module.info.metadata {
            let parts = metadata.value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if parts.count >= 3, parts[0] == "swift", parts[1] == "module" {
                mapped = (parts[2], parts.count > 3 ? parts[3] : "")
            } else if parts.count == 3, parts[0] == "swift", parts[1] == "identifier" {
                mapped = (parts[2], "")
            }
        }
        if own, let moduleName = options.moduleName { mapped.swiftModule = moduleName }
        return mapped
    }

    private static func record(
        _ definitions: [Definition], as mapped: (swiftModule: String, prefix: String),
        into table: inout [String: (swiftModule: String, prefix: String)]
    ) {
        for definition in definitions {
            table[definition.info.scopedName] = mapped
            if case .module(let m) = definition { record(m.contents, as: mapped, into: &table) }
        }
    }

    /// The Slice loader of the file whose Swift file is `base`.swift: `Hello_SliceLoader`, with
    /// what a Swift identifier cannot hold made `_` (`my-types.ice`: `my_types_SliceLoader`;
    /// `2fa.ice`: `_2fa_SliceLoader`).
    public static func loaderName(_ base: String) -> String {
        var name = String(base.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
        if name.first?.isNumber ?? true { name = "_" + name }
        return name + "_SliceLoader"
    }

    /// The Swift source for the definitions of the main file (include level 0).
    public func generate(fileName: String, sourcePath: String) -> GeneratedFile {
        var generator = self
        let topModules = unit.definitions.compactMap { d -> ModuleDef? in
            if case .module(let m) = d, m.info.includeLevel == 0 { return m }
            return nil
        }
        generator.currentModule =
            options.moduleName ?? topModules.first.flatMap { generator.modules[$0.info.name.name]?.swiftModule } ?? ""
        let base = fileName.hasSuffix(".swift") ? String(fileName.dropLast(6)) : fileName
        // Only proxies and servants read the registration: a file without interfaces has none
        // (the files that include it register its loader).
        let registered =
            generator.hasInterfaces(topModules) ? generator.loadersToRegister(ownLoader: Self.loaderName(base)) : []
        generator.registersLoaders = !registered.isEmpty
        var decls: [SwiftDecl] = []
        for module in topModules { decls += generator.generate(module: module) }
        // Every file with definitions has its loader (empty without classes and exceptions), so
        // that `X.ice` always gives `X_SliceLoader` (see `loaderName`).
        if !decls.isEmpty {
            decls += [.blank, generator.sliceLoader(named: Self.loaderName(base), modules: topModules)]
            if !registered.isEmpty { decls += [.blank, generator.loaderRegistration(registered.map(\.name))] }
        }
        var header = [
            "// Generated by slice2floe \(options.compilerVersion) from \(sourcePath). Do not edit.",
            "",
        ]
        var renderer = SwiftRenderer()
        renderer.render(decls)
        if decls.isEmpty {
            // Only local definitions (or none): nothing to import, nothing to declare.
            header.append("// No non-local definitions.")
        } else {
            var imports: Set<String> = []
            for module in generator.referencedModules(topModules) {
                imports.insert(module)
            }
            // The runtime's modules, whose names generated code writes qualified (see `rt`): only
            // those it names (constants of built-in types need none; an unused public import warns).
            let text = renderer.lines.joined(separator: "\n")
            for module in [options.runtimeModule, "FloeEncoding", "FloeProtocol"] where text.contains(module + ".") {
                imports.insert(module)
            }
            imports.remove(generator.currentModule)
            // A module named only in the (private) loader registration is imported internally:
            // a public import would warn that no public declaration uses it.
            // So is one holding only an indirect base, whose `_iceD_` functions a `dispatch`
            // calls: members of extensions need their module imported (`MemberImportVisibility`).
            let registrationOnly = Set(registered.map(\.module)).union(generator.indirectBaseModules(topModules))
                .subtracting(imports).subtracting([generator.currentModule])
            header += imports.union(registrationOnly).sorted().map { module in
                // Only `Data` from Foundation: all of it would make `InputStream` and
                // `OutputStream` ambiguous with the runtime's streams.
                if module == "Foundation" { return "public import struct Foundation.Data" }
                return registrationOnly.contains(module) ? "internal import \(module)" : "public import \(module)"
            }
        }
        while renderer.lines.last == "" { _ = renderer.lines.popLast() }
        let body = renderer.lines.isEmpty ? "" : "\n" + renderer.lines.joined(separator: "\n") + "\n"
        return GeneratedFile(name: fileName, contents: header.joined(separator: "\n") + "\n" + body)
    }

    private func generate(module: ModuleDef) -> [SwiftDecl] {
        var decls: [SwiftDecl] = []
        for definition in module.contents where !definition.info.isLocal && definition.info.includeLevel == 0 {
            let generated: [SwiftDecl]
            switch definition {
            case .module(let m): generated = generate(module: m)
            case .forward: generated = []
            case .enumDef(let e): generated = enumDecls(e)
            case .structDef(let s): generated = shadowing(s.members.map(\.info.name.name)).structDecls(s)
            case .sequence(let s): generated = sequenceDecls(s)
            case .dictionary(let d): generated = dictionaryDecls(d)
            case .const(let c): generated = constantDecls(c)
            case .classDef(let c):
                let members = (c.members + inheritedMembers(base: c.base, classes: true)).map(\.info.name.name)
                let operations = operationsInterface(of: c).map { ([$0] + allBases(of: $0)).flatMap(\.operations) }
                generated = shadowing(members + (operations ?? c.operations).map(\.info.name.name)).classDecls(c)
            case .exception(let e):
                let members = e.members + inheritedMembers(base: e.base, classes: false)
                generated = shadowing(members.map(\.info.name.name)).exceptionDecls(e)
            case .interfaceDef(let i):
                // Inherited operations are members of the proxy and servant protocols too: one
                // named like a type (`Kind()`) hides that type in the derived interface's code.
                let operations = ([i] + allBases(of: i)).flatMap(\.operations)
                generated = shadowing(operations.map(\.info.name.name)).interfaceDecls(i)
            }
            if !generated.isEmpty {
                if !decls.isEmpty { decls.append(.blank) }
                decls += generated
            }
        }
        return decls
    }

    /// The Swift modules of the interfaces (and classes with operations) that these modules'
    /// interfaces extend through others; their `dispatch` calls those bases' `_iceD_` functions.
    private func indirectBaseModules(_ modules: [ModuleDef]) -> Set<String> {
        var names: Set<String> = []
        for definition in allDefinitions(modules) {
            let asInterface: InterfaceDef? =
                switch definition {
                case .interfaceDef(let i): i
                case .classDef(let c): operationsInterface(of: c)
                default: nil
                }
            guard let asInterface else { continue }
            for base in allBases(of: asInterface) {
                if let module = swiftModule(ofScopedName: base.info.scopedName) { names.insert(module) }
            }
        }
        names.remove(options.runtimeModule)
        return names
    }

    /// The Swift module a Slice definition is generated into.
    private func swiftModule(ofScopedName s: String) -> String? {
        guard let top = s.split(separator: ":", omittingEmptySubsequences: true).first else { return nil }
        return (definitionModules[s] ?? modules[String(top)])?.swiftModule
    }

    /// Swift modules other than the runtime that the generated code refers to.
    private func referencedModules(_ modules: [ModuleDef]) -> Set<String> {
        var names: Set<String> = []
        for case .sequence(let s) in allDefinitions(modules) where s.element.resolved == .builtin(.byte) {
            names.insert("Foundation")
        }
        forEachTypeReference(in: modules) { type in
            guard let resolved = type.resolved else { return }
            switch resolved {
            case .proxy(let s), .user(let s, _):
                if case .user(_, .sequence) = resolved, index.isByteSequence(s) { names.insert("Foundation") }
                if let module = swiftModule(ofScopedName: s) { names.insert(module) }
            case .builtin: break
            }
        }
        names.remove(options.runtimeModule)
        return names
    }

    /// The non-local definitions of these modules and the modules inside them, depth first.
    func allDefinitions(_ modules: [ModuleDef]) -> [Definition] {
        var result: [Definition] = []
        func walk(_ definitions: [Definition]) {
            for definition in definitions where !definition.info.isLocal {
                result.append(definition)
                if case .module(let m) = definition { walk(m.contents) }
            }
        }
        walk(modules.map { .module($0) })
        return result
    }

    /// Every type the non-local definitions of these modules refer to (members, bases,
    /// parameters, results, exceptions, elements, constants).
    func forEachTypeReference(in modules: [ModuleDef], _ visit: (TypeRef) -> Void) {
        for definition in allDefinitions(modules) { forEachTypeReference(of: definition, visit) }
    }

    /// The types one definition refers to (its own contents only, for a module).
    func forEachTypeReference(of definition: Definition, _ visit: (TypeRef) -> Void) {
        func visitOperations(_ operations: [SliceAST.Operation]) {
            for op in operations {
                op.returnType.map(visit)
                op.parameters.forEach { visit($0.type) }
                op.throwsClause.forEach(visit)
            }
        }
        switch definition {
        case .structDef(let s): s.members.forEach { visit($0.type) }
        case .classDef(let c):
            c.members.forEach { visit($0.type) }
            c.base.map(visit)
            c.implements.forEach(visit)
            visitOperations(c.operations)
        case .exception(let e):
            e.members.forEach { visit($0.type) }
            e.base.map(visit)
        case .sequence(let s): visit(s.element)
        case .dictionary(let d):
            visit(d.key)
            visit(d.value)
        case .const(let c): visit(c.type)
        case .interfaceDef(let i):
            i.bases.forEach(visit)
            visitOperations(i.operations)
        case .module, .enumDef, .forward: break
        }
    }

    /// The scoped names of the types the main file's definitions use, directly or through
    /// other types (a struct's members, a class's base, a sequence's element, ...).
    private func typesReachedFromMainFile(_ definitions: [Definition]) -> Set<String> {
        var byName: [String: Definition] = [:]
        for definition in definitions { byName[definition.info.scopedName] = definition }
        var reached: Set<String> = []
        var queue = definitions.filter { $0.info.includeLevel == 0 }
        while let next = queue.popLast() {
            forEachTypeReference(of: next) { type in
                guard let name = type.resolved?.scopedName else { return }
                guard reached.insert(name).inserted, let definition = byName[name] else { return }
                queue.append(definition)
            }
        }
        return reached
    }

    /// Whether the main file defines interfaces (whose proxies and servants read the loader
    /// registration).
    private func hasInterfaces(_ modules: [ModuleDef]) -> Bool {
        allDefinitions(modules).contains { definition in
            if case .interfaceDef = definition, definition.info.includeLevel == 0 { return true }
            return false
        }
    }

    /// The loaders this file registers: its own when it defines classes or exceptions, and
    /// those of the files it includes that define classes or exceptions its definitions may
    /// receive (those it uses, and classes derived from them), except Ice's own, which the
    /// runtime's module registers. An included file none of whose classes or exceptions can
    /// arrive need not be generated (IceStorm.ice includes IceStorm/Metrics.ice, and uses
    /// none of it).
    private func loadersToRegister(ownLoader: String) -> [(name: String, module: String)] {
        var own = false
        var included: [String: String] = [:]  // loader name -> Swift module
        let everything = allDefinitions(unit.definitions.compactMap { if case .module(let m) = $0 { m } else { nil } })
        let reached = typesReachedFromMainFile(everything)
        var bases: [String: String] = [:]  // class or exception -> its base
        for definition in everything {
            switch definition {
            case .classDef(let c): if case .user(let b, _) = c.base?.resolved { bases[c.info.scopedName] = b }
            case .exception(let e): if case .user(let b, _) = e.base?.resolved { bases[e.info.scopedName] = b }
            default: break
            }
        }
        func receivable(_ name: String) -> Bool {
            var current: String? = name
            var steps = 0
            while let type = current, steps < 10_000 {
                if reached.contains(type) { return true }
                current = bases[type]
                steps += 1
            }
            return false
        }
        func walk(_ definitions: [Definition], inIce: Bool) {
            for definition in definitions where !definition.info.isLocal {
                switch definition {
                case .module(let m): walk(m.contents, inIce: inIce || m.info.scopedName == "::Ice")
                case .classDef, .exception:
                    if definition.info.includeLevel == 0 {
                        own = true
                    } else if !inIce, receivable(definition.info.scopedName),
                        let module = definitionModules[definition.info.scopedName]?.swiftModule
                    {
                        let file = definition.info.name.location.file
                        let base = (file.split(separator: "/").last.map(String.init) ?? file)
                        // (Its extension dropped whatever it is, as slice2floe names the file's Swift.)
                        let stem =
                            options.swiftFileName?(file) ?? base.lastIndex(of: ".").map { String(base[..<$0]) } ?? base
                        included[Self.loaderName(stem)] = module
                    }
                default: break
                }
            }
        }
        walk(unit.definitions, inIce: false)
        var loaders = own ? [(name: ownLoader, module: currentModule)] : []
        for (name, module) in included.sorted(by: { $0.key < $1.key }) where name != ownLoader {
            loaders.append((module == currentModule || module.isEmpty ? name : "\(module).\(name)", module))
        }
        return loaders
    }

    /// A global whose initializer registers the file's loaders with the runtime; generated
    /// proxies and servants read it, so it runs (once) before any of them is used.
    private func loaderRegistration(_ loaders: [String]) -> SwiftDecl {
        .property(
            doc: [
                "Makes the classes and exceptions of this file (and of the files it includes) known by type id",
                "once one of its proxies or servants is used: no loader to pass to the communicator.",
            ], modifiers: "private let", name: "_sliceLoadersRegistered", type: std("Bool"),
            value: "\(rt("GeneratedSliceLoaders")).register(" + loaders.map { $0 + "()" }.joined(separator: ", ") + ")",
            body: nil)
    }

    /// A `SliceLoader` that creates the classes and exceptions of this file from type ids and
    /// compact ids, for the communicator's `sliceLoader`.
    private func sliceLoader(named name: String, modules: [ModuleDef]) -> SwiftDecl {
        var classes: [ClassDef] = []
        var exceptions: [ExceptionDef] = []
        func walk(_ definitions: [Definition]) {
            for definition in definitions where !definition.info.isLocal && definition.info.includeLevel == 0 {
                switch definition {
                case .module(let m): walk(m.contents)
                case .classDef(let c): classes.append(c)
                case .exception(let e): exceptions.append(e)
                default: break
                }
            }
        }
        walk(modules.map { .module($0) })
        func cases(_ items: [(String, String)], fallback: String) -> [String] {
            guard !items.isEmpty else { return [fallback] }
            return ["switch typeId {"] + items.map { "case \(swiftStringLiteral($0.0)): \($0.1)()" }
                + ["default: nil", "}"]
        }
        let compact = classes.compactMap { c in c.compactId.map { ($0, c.info.scopedName) } }
        var members: [SwiftDecl] = [
            .function(doc: [], signature: "\(access) init()", body: []),
            .function(
                doc: [], signature: "\(access) func newValue(typeId: \(std("String"))) -> \(rt("Value"))?",
                body: cases(classes.map { ($0.info.scopedName, localName($0.info)) }, fallback: "nil")),
            .function(
                doc: [],
                signature: "\(access) func newException(typeId: \(std("String"))) -> (any \(rt("UserException")))?",
                body: cases(exceptions.map { ($0.info.scopedName, localName($0.info)) }, fallback: "nil")),
        ]
        if !compact.isEmpty {
            members.append(
                .function(
                    doc: [], signature: "\(access) func typeId(forCompactId id: \(std("Int"))) -> \(std("String"))?",
                    body: ["switch id {"] + compact.map { "case \($0.0): \(swiftStringLiteral($0.1))" }
                        + ["default: nil", "}"]))
        }
        return .nominal(
            SwiftNominal(
                doc: ["Creates the classes and exceptions defined in this file from their type ids."],
                modifiers: access, kind: .struct, name: name, inherits: ["\(rt("SliceLoader"))"], members: members))
    }

    // MARK: Names

    /// The Swift name of a user type, qualified when it lives in another Swift module, or when
    /// a member of the type being generated has the same name (`E1 E1;` in a struct).
    func typeName(_ scopedName: String, suffix: String = "") -> String {
        let parts = scopedName.split(separator: ":", omittingEmptySubsequences: true).map(String.init)
        guard let top = parts.first, let mapped = definitionModules[scopedName] ?? modules[top] else {
            return swiftName((parts.last ?? scopedName) + suffix)
        }
        // (Context and OperationMode are FloeProtocol's, which FloeCore does not re-export.)
        if suffix.isEmpty, scopedName == "::Ice::Context" || scopedName == "::Ice::OperationMode",
            options.iceModule == nil
        {
            return rt(String(parts[1]))
        }
        let local = mapped.prefix + parts.dropFirst().joined() + suffix
        let name = parts.count == 2 && mapped.prefix.isEmpty ? swiftName(local) : local
        if mapped.swiftModule == currentModule, !shadowedNames.contains(local) { return name }
        return mapped.swiftModule + "." + name
    }

    /// This generator, for the body of a type whose members (or operations) have these Slice
    /// names: type references they would shadow are qualified with their module.
    func shadowing(_ names: [String]) -> SwiftGenerator {
        var scoped = self
        scoped.shadowedNames = Set(names)
        return scoped
    }

    /// The unqualified Swift name of a definition in the current file.
    func localName(_ info: DefinitionInfo, suffix: String = "") -> String {
        let name = typeName(info.scopedName, suffix: suffix)
        return name.split(separator: ".").last.map(String.init) ?? name
    }

    var access: String { "public" }
}
