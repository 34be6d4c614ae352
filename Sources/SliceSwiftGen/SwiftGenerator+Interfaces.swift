import SliceAST

/// The Swift shape of one operation: parameters in declaration and wire order, and the result.
struct OperationShape {
    var operation: Operation
    var inParameters: [Parameter]
    var outParameters: [Parameter]
    /// The label of the return value inside a result tuple.
    var returnLabel: String

    init(_ operation: Operation) {
        self.operation = operation
        inParameters = operation.parameters.filter { !$0.isOut }
        outParameters = operation.parameters.filter(\.isOut)
        returnLabel = outParameters.contains { $0.info.name.name == "returnValue" } ? "_returnValue" : "returnValue"
    }

    var hasReturn: Bool { operation.returnType != nil }
    var resultCount: Int { outParameters.count + (hasReturn ? 1 : 0) }

    /// An element of the result: its label in a tuple, its type, and its optional tag.
    struct ResultPart {
        var label: String
        var type: ResolvedType
        var tag: Int?
    }

    /// Result parts in declaration order: the return value first, then out-parameters.
    var resultParts: [ResultPart] {
        var parts: [ResultPart] = []
        if let type = operation.returnType?.resolved {
            parts.append(ResultPart(label: returnLabel, type: type, tag: operation.returnTag))
        }
        for p in outParameters {
            if let type = p.type.resolved { parts.append(ResultPart(label: p.info.name.name, type: type, tag: p.tag)) }
        }
        return parts
    }

    /// Result parts in wire order: required out-parameters, the required return, then the
    /// optional ones by tag.
    var resultWireOrder: [ResultPart] {
        let parts = resultParts
        let returnPart = hasReturn ? parts.first : nil
        let outs = hasReturn ? Array(parts.dropFirst()) : parts
        var required = outs.filter { $0.tag == nil }
        if let returnPart, returnPart.tag == nil { required.append(returnPart) }
        let optional = parts.filter { $0.tag != nil }.sorted { ($0.tag ?? 0) < ($1.tag ?? 0) }
        return required + optional
    }

    /// In-parameters in wire order: required as declared, then optional ones by tag.
    var inWireOrder: [Parameter] {
        inParameters.filter { $0.tag == nil }
            + inParameters.filter { $0.tag != nil }.sorted { ($0.tag ?? 0) < ($1.tag ?? 0) }
    }
}

extension SwiftGenerator {
    /// Every interface this one extends, transitively, each once, nearest first.
    func allBases(of i: InterfaceDef) -> [InterfaceDef] {
        var seen: Set<String> = []
        var result: [InterfaceDef] = []
        var pending = i.bases.compactMap { base -> String? in
            if case .user(let name, _)? = base.resolved { return name }
            return nil
        }
        var next = 0  // a queue's head: removing from the front made the walk quadratic
        while next < pending.count {
            let name = pending[next]
            next += 1
            guard seen.insert(name).inserted,
                let base = index.interfaces[name] ?? index.classes[name].flatMap(operationsInterface)
            else { continue }
            result.append(base)
            pending += base.bases.compactMap { b -> String? in
                if case .user(let n, _)? = b.resolved { return n }
                return nil
            }
        }
        return result
    }

    private func formatArgument(_ op: Operation, in i: InterfaceDef) -> String {
        for metadata in op.info.metadata + i.info.metadata where metadata.value.hasPrefix("format:") {
            switch metadata.value {
            case "format:sliced": return ".sliced"
            case "format:compact": return ".compact"
            default: return "nil"
            }
        }
        return "nil"
    }

    private func modeArgument(_ op: Operation) -> String {
        guard op.isIdempotent else { return ".normal" }
        return op.info.hasMetadata("nonmutating") ? ".nonmutating" : ".idempotent"
    }

    /// `T` or `sending T` for a parameter or result whose value is not `Sendable`.
    private func transfer(_ type: ResolvedType, _ swift: String) -> String {
        index.isSendable(type) ? swift : "sending " + swift
    }

    private func parameterType(_ p: Parameter) -> String {
        guard let type = p.type.resolved else { return std("Never") }
        return p.tag != nil && !isNullable(type) ? swiftType(type) + "?" : swiftType(type)
    }

    private func resultType(_ shape: OperationShape) -> String {
        let parts = shape.resultParts.map { part -> (String, String) in
            let swift = part.tag != nil && !isNullable(part.type) ? swiftType(part.type) + "?" : swiftType(part.type)
            return (part.label, swift)
        }
        if parts.isEmpty { return "" }
        let allSendable = shape.resultParts.allSatisfy { index.isSendable($0.type) }
        let type = parts.count == 1 ? parts[0].1 : "(" + parts.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + ")"
        return " -> " + (allSendable ? type : "sending " + type)
    }

    func interfaceDecls(_ i: InterfaceDef) -> [SwiftDecl] {
        let prx = localName(i.info, suffix: "Prx")
        let servant = localName(i.info, suffix: servantSuffix(i.info.scopedName))
        let traits = localName(i.info, suffix: "Traits")
        let impl = "_" + prx + "I"
        let bases = i.bases.compactMap { b -> String? in
            if case .user(let name, _)? = b.resolved { return name }
            return nil
        }
        let typeIds = (["::Ice::Object", i.info.scopedName] + allBases(of: i).map(\.info.scopedName)).sorted()
        var decls: [SwiftDecl] = []

        // Proxy protocol, its implementation, casts and stream support.
        decls.append(
            .nominal(
                SwiftNominal(
                    doc: docLines(i.info.doc), modifiers: access, kind: .protocol, name: prx,
                    inherits: bases.isEmpty ? ["\(rt("ObjectPrx"))"] : bases.map { typeName($0, suffix: "Prx") })))
        decls.append(.blank)
        decls.append(
            .nominal(
                SwiftNominal(
                    doc: ["The type ids of `\(i.info.name.name)`."], modifiers: access, kind: .struct, name: traits,
                    inherits: ["\(rt("SliceTraits"))"],
                    members: [
                        .property(
                            doc: [], modifiers: "\(access) static let", name: "staticId", type: std("String"),
                            value: swiftStringLiteral(i.info.scopedName), body: nil),
                        .property(
                            doc: [], modifiers: "\(access) static let", name: "staticIds", type: "[\(std("String"))]",
                            value: "[" + typeIds.map(swiftStringLiteral).joined(separator: ", ") + "]", body: nil),
                    ])))
        decls.append(.blank)
        decls.append(
            .nominal(
                SwiftNominal(
                    modifiers: "private", kind: .struct, name: impl, inherits: [prx],
                    members: [
                        .property(
                            doc: [], modifiers: "", name: "_reference", type: "\(rt("ProxyReference"))", value: nil,
                            body: nil
                        )
                        .asLet,
                        .function(
                            doc: [], signature: "init(_reference: \(rt("ProxyReference")))",
                            body: (registersLoaders ? ["_ = _sliceLoadersRegistered"] : [])
                                + ["self._reference = _reference"]),
                    ])))
        decls.append(.blank)
        decls += castFunctions(prx: prx, impl: impl, traits: traits)
        decls.append(.blank)
        decls.append(
            .nominal(
                SwiftNominal(
                    modifiers: "", kind: .extension, name: "\(rt("InputStream"))",
                    members: [
                        .function(
                            doc: ["Reads a `\(prx)`, or nil for the null proxy."],
                            signature: "\(access) mutating func read(_: (any \(prx)).Type) throws -> (any \(prx))?",
                            body: ["try read(proxy: \(impl).self)"]),
                        .function(
                            doc: [],
                            signature:
                                "\(access) mutating func read(tag: \(std("Int")), _: (any \(prx)).Type) throws -> (any \(prx))?",
                            body: ["try read(tag: tag, proxy: \(impl).self)"]),
                    ])))
        decls.append(.blank)
        decls.append(
            .nominal(
                SwiftNominal(
                    modifiers: "", kind: .extension, name: prx,
                    members: i.operations.map { proxyMethod($0, in: i) }.joined(separator: [.blank]).map { $0 })))

        // Servant protocol and dispatch.
        decls.append(.blank)
        decls.append(
            .nominal(
                SwiftNominal(
                    doc: docLines(i.info.doc), modifiers: access, kind: .protocol, name: servant,
                    inherits: bases.isEmpty
                        ? ["\(rt("Dispatcher"))"] : bases.map { typeName($0, suffix: servantSuffix($0)) },
                    members: i.operations.map(servantRequirement))))
        decls.append(.blank)
        decls.append(
            .nominal(
                SwiftNominal(
                    modifiers: "", kind: .extension, name: servant,
                    members: dispatchFunctions(i, traits: traits))))
        return decls
    }

    /// A servant protocol is named after its interface, or `COperations` for a class `C`.
    private func servantSuffix(_ scopedName: String) -> String {
        index.classes[scopedName] == nil ? "" : "Operations"
    }

    private func castFunctions(prx: String, impl: String, traits: String) -> [SwiftDecl] {
        [
            .function(
                doc: [
                    "A `\(prx)` for the same object, after asking it whether it implements the interface; nil when",
                    "it does not, or when the facet does not exist.",
                ],
                signature:
                    "\(access) func checkedCast(prx: any \(rt("ObjectPrx")), type: (any \(prx)).Type, facet: \(std("String"))? = nil, context: \(rt("Context"))? = nil) async throws -> (any \(prx))?",
                body: [
                    "let target = facet.map { prx.ice_facet($0) } ?? prx",
                    "guard try await target._isAForCheckedCast(id: \(traits).staticId, context: context) else { return nil }",
                    "return \(impl)(_reference: target._reference)",
                ]),
            .blank,
            .function(
                doc: ["A `\(prx)` for the same object, without asking it."],
                signature:
                    "\(access) func uncheckedCast(prx: any \(rt("ObjectPrx")), type: (any \(prx)).Type, facet: \(std("String"))? = nil) -> any \(prx)",
                body: [
                    "\(impl)(_reference: (facet.map { prx.ice_facet($0) } ?? prx)._reference)"
                ]),
            .blank,
            .function(
                doc: ["A `\(prx)` from its string form, e.g. `name:tcp -h host -p 4061`, without asking the object."],
                signature:
                    "\(access) func makeProxy(communicator: \(rt("Communicator")), proxyString: \(std("String")), type: (any \(prx)).Type) throws -> any \(prx)",
                body: ["try makeProxy(communicator: communicator, proxyString: proxyString, as: \(impl).self)"]),
            .blank,
            .function(
                doc: ["The Slice type id of `\(prx)`."],
                signature: "\(access) func ice_staticId(_ type: (any \(prx)).Type) -> \(std("String"))",
                body: ["\(traits).staticId"]),
        ]
    }

    private func proxyMethod(_ op: Operation, in i: InterfaceDef) -> [SwiftDecl] {
        let shape = OperationShape(op)
        var parameters: [String] = []
        for p in shape.inParameters {
            let label = shape.inParameters.count == 1 ? "_" : swiftName(p.info.name.name)
            let type = p.type.resolved.map { transfer($0, parameterType(p)) } ?? std("Never")
            parameters.append("\(label) iceP_\(p.info.name.name): \(type)" + (p.tag != nil ? " = nil" : ""))
        }
        parameters.append("context: \(rt("Context"))? = nil")
        var body = ["try await _invoke("]
        body.append(
            "    operation: \(swiftStringLiteral(op.info.name.name)), mode: \(modeArgument(op)), format: \(formatArgument(op, in: i)), context: context,"
        )
        body.append("    returnsData: \(shape.resultCount > 0),")
        let writes = shape.inWireOrder.compactMap { p -> String? in
            guard let type = p.type.resolved else { return nil }
            let value = "iceP_" + p.info.name.name
            return p.tag.map { writeTaggedStatement(type, value, tag: $0) } ?? writeStatement(type, value)
        }
        body.append(writes.isEmpty ? "    write: { _ in }," : "    write: { ostr in")
        if !writes.isEmpty {
            body += writes.map { "        " + $0 }
            body.append("    },")
        }
        let reads = shape.resultWireOrder.map { part -> String in
            let expression = part.tag.map { readTaggedExpression(part.type, tag: $0) } ?? readExpression(part.type)
            return "let iceP_\(part.label) = \(expression)"
        }
        let declared = op.throwsClause.compactMap { t -> String? in
            if case .user(let name, _)? = t.resolved { return typeName(name) }
            return nil
        }
        let closing = declared.isEmpty ? ")" : ","
        if reads.isEmpty {
            body.append("    read: { _ in }\(closing)")
        } else {
            body.append("    read: { istr in")
            body += reads.map { "        " + $0 }
            let parts = shape.resultParts
            let value =
                parts.count == 1
                ? "iceP_\(parts[0].label)"
                : "(" + parts.map { "\($0.label): iceP_\($0.label)" }.joined(separator: ", ") + ")"
            body.append("        return \(value)")
            body.append("    }\(closing)")
        }
        if !declared.isEmpty {
            body.append("    declared: { exception in")
            for name in declared { body.append("        if let exception = exception as? \(name) { throw exception }") }
            body.append("    })")
        }
        let name = swiftName(op.info.name.name)
        return [
            .function(
                doc: docLines(op.info.doc),
                signature:
                    "\(access) func \(name)(\(parameters.joined(separator: ", "))) async throws\(resultType(shape))",
                body: body)
        ]
    }

    private func servantRequirement(_ op: Operation) -> SwiftDecl {
        let shape = OperationShape(op)
        var parameters = shape.inParameters.map { p -> String in
            let type = p.type.resolved.map { transfer($0, parameterType(p)) } ?? std("Never")
            return "\(swiftName(p.info.name.name)): \(type)"
        }
        parameters.append("current: \(rt("Current"))")
        return .function(
            doc: docLines(op.info.doc),
            signature:
                "func \(swiftName(op.info.name.name))(\(parameters.joined(separator: ", "))) async throws\(resultType(shape))",
            body: nil)
    }

    /// `dispatch`, which picks the operation, then one function per operation of this interface
    /// that decodes its parameters, calls the servant and encodes the results. Each operation
    /// runs in a function of its own so that a request's async frame holds only that operation's
    /// locals: with every case in `dispatch`, Bench.ice's frame was 2 KB, a `malloc` per request.
    /// A derived interface's `dispatch` calls its bases' functions (public, for bases generated
    /// into another module) rather than repeating them: repeated, a chain of N interfaces made
    /// N²/2 copies (219 MB of Swift for 1,000 interfaces of one operation each).
    private func dispatchFunctions(_ i: InterfaceDef, traits: String) -> [SwiftDecl] {
        var body = (registersLoaders ? ["_ = _sliceLoadersRegistered"] : []) + ["switch request.current.operation {"]
        var operations = i.operations
        for base in allBases(of: i) { operations += base.operations }
        operations.sort { $0.info.name.name < $1.info.name.name }
        for op in operations {
            body.append("case \(swiftStringLiteral(op.info.name.name)): return try await \(dispatchName(op))(request)")
        }
        body.append("default:")
        body.append(
            "    if let response = try \(rt("dispatchBuiltin"))(request, traits: \(traits).self) { return response }")
        body.append("    throw \(rt("DispatchError")).operationNotExist(request.current)")
        body.append("}")
        var decls: [SwiftDecl] = [
            .function(
                doc: ["Decodes a request's parameters, calls the matching method and encodes its results."],
                signature:
                    "\(access) func dispatch(_ request: \(rt("IncomingRequest"))) async throws -> \(rt("OutgoingResponse"))",
                body: body)
        ]
        for op in i.operations.sorted(by: { $0.info.name.name < $1.info.name.name }) {
            decls.append(.blank)
            decls.append(
                .function(
                    doc: ["Dispatches `\(op.info.name.name)` (called by `dispatch`, here and in derived interfaces)."],
                    signature:
                        "\(access) func \(dispatchName(op))(_ request: \(rt("IncomingRequest"))) async throws -> \(rt("OutgoingResponse"))",
                    body: dispatchCase(op, in: i)))
        }
        return decls
    }

    private func dispatchName(_ op: Operation) -> String { "_iceD_" + op.info.name.name }

    private func dispatchCase(_ op: Operation, in i: InterfaceDef) -> [String] {
        let shape = OperationShape(op)
        // After decoding, only `current` is used: the decoded values can then be sent to the
        // servant (region-based isolation), which they could not while `request` is still in use.
        var lines = ["let current = request.current"]
        if !op.isIdempotent {
            lines.append("try current.checkNonIdempotent()")
        }
        // Parameters that may hold class instances are decoded inside `withParameters`, which
        // frees a received cycle once the dispatch is over and nothing kept the instances.
        let holdsClasses = shape.inParameters.contains { $0.type.resolved.map(index.mayHoldClasses) ?? false }
        var decode: [String] = []
        if shape.inParameters.isEmpty {
            lines.append("try request.readEmptyParameters()")
        } else {
            if !holdsClasses { decode.append("var istr = request.makeInputStream()") }
            decode.append("try istr.startEncapsulation()")
            for p in shape.inWireOrder {
                guard let type = p.type.resolved else { continue }
                let expression = p.tag.map { readTaggedExpression(type, tag: $0) } ?? readExpression(type)
                decode.append("let iceP_\(p.info.name.name) = \(expression)")
            }
            decode.append("try istr.endEncapsulation()")
        }
        // Values decoded from one stream are one region to the compiler, so two of them cannot be
        // `sending` parameters of one call; they go in a box that vouches for them (they are
        // never touched again here, and all go to the same call).
        let unsendable = shape.inParameters.filter { !($0.type.resolved.map(index.isSendable) ?? true) }
        let boxed = Set(unsendable.count >= 2 ? unsendable.map(\.info.name.name) : [])
        if !boxed.isEmpty {
            let names = unsendable.map { "iceP_\($0.info.name.name)" }
            decode.append("let iceBox = \(rt("SendingBox"))((\(names.joined(separator: ", "))))")
        }
        let boxIndex = Dictionary(uniqueKeysWithValues: unsendable.enumerated().map { ($1.info.name.name, $0) })
        let arguments =
            shape.inParameters.map { p in
                let name = p.info.name.name
                let value = boxed.contains(name) ? "iceBox.value.\(boxIndex[name] ?? 0)" : "iceP_\(name)"
                return "\(argumentLabel(name)): \(value)"
            } + ["current: current"]
        // `self.`: an operation may be named like a local of the dispatch (`request`, `current`,
        // `result`) or be `self` itself.
        let call = "try await self.\(swiftName(op.info.name.name))(\(arguments.joined(separator: ", ")))"
        let format = formatArgument(op, in: i)
        var respond: [String]
        if shape.resultCount == 0 {
            respond = [call, "return try current.makeResponse(format: \(format))"]
        } else {
            let parts = shape.resultParts
            // Several results are taken apart by position: a label such as `self` or `init`
            // cannot follow a dot (`result.self` is the whole tuple).
            let names = parts.count == 1 ? ["result"] : parts.indices.map { "iceR_\($0)" }
            let bound = parts.count == 1 ? "result" : "(" + names.joined(separator: ", ") + ")"
            respond = ["let \(bound) = \(call)", "return try current.makeResponse(format: \(format)) { ostr in"]
            for part in shape.resultWireOrder {
                let value = names[parts.firstIndex { $0.label == part.label } ?? 0]
                respond.append(
                    "    "
                        + (part.tag.map { writeTaggedStatement(part.type, value, tag: $0) }
                            ?? writeStatement(part.type, value)))
            }
            respond.append("}")
        }
        var body = decode
        if format == ".sliced" {
            // User exceptions go out in the operation's format.
            body.append("do {")
            body += respond.map { "    " + $0 }
            body.append("} catch let exception as any \(rt("UserException")) {")
            body.append("    return try current.makeResponse(exception: exception, format: .sliced)")
            body.append("}")
        } else {
            body += respond
        }
        guard holdsClasses else { return lines + body }
        return lines + ["return try await request.withParameters { stream in", "    var istr = stream"]
            + body.map { "    " + $0 } + ["}"]
    }
}

extension SwiftDecl {
    /// A stored property declared with `let`.
    var asLet: SwiftDecl {
        guard case .property(let doc, let modifiers, let name, let type, let value, nil) = self else { return self }
        return .property(
            doc: doc, modifiers: modifiers + (modifiers.isEmpty ? "" : " ") + "let", name: name, type: type,
            value: value, body: nil)
    }
}
