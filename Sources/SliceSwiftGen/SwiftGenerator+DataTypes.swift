import SliceAST

extension SwiftGenerator {
    func enumDecls(_ e: EnumDef) -> [SwiftDecl] {
        let name = localName(e.info)
        let rawType = std(e.maxValue <= 255 ? "UInt8" : "Int32")
        var members: [SwiftDecl] = e.enumerators.map {
            .enumCase(doc: docLines($0.info.doc), name: swiftName($0.info.name.name), rawValue: "\($0.value)")
        }
        members.append(.blank)
        members.append(
            .function(
                doc: ["The first enumerator."], signature: "\(access) init()",
                body: ["self = .\(swiftName(e.enumerators.first?.info.name.name ?? ""))"]))
        members.append(
            .property(
                doc: ["The largest enumerator value, which sizes the enum in encoding 1.0."],
                modifiers: "\(access) static", name: "maxRawValue", type: std("Int32"), value: nil,
                body: ["\(e.maxValue)"]))
        return [
            .nominal(
                SwiftNominal(
                    doc: docLines(e.info.doc), modifiers: access, kind: .enum, name: name,
                    inherits: [rawType, "\(rt("StreamCodableEnum"))", std("CaseIterable"), std("Sendable")],
                    members: members))
        ]
    }

    func structDecls(_ s: StructDef) -> [SwiftDecl] {
        let name = localName(s.info)
        let memberTypes = s.members.compactMap(\.type.resolved)
        var conformances: [String] = []
        if memberTypes.allSatisfy({ index.isHashable($0) }) { conformances.append(std("Hashable")) }
        if memberTypes.allSatisfy({ index.isSendable($0) }) { conformances.append(std("Sendable")) }
        var members: [SwiftDecl] = []
        for member in s.members {
            guard let type = member.type.resolved else { continue }
            let value = member.defaultValue.map { literal($0, type: type) } ?? zeroValue(type)
            members.append(
                .property(
                    doc: docLines(member.info.doc), modifiers: access, name: swiftName(member.info.name.name),
                    type: swiftType(type), value: value, body: nil))
        }
        members.append(.blank)
        members.append(.function(doc: [], signature: "\(access) init()", body: []))
        members.append(memberwiseInit(s.members, superMembers: [], isClass: false))
        let structDecl = SwiftDecl.nominal(
            SwiftNominal(
                doc: docLines(s.info.doc), modifiers: access, kind: .struct, name: name, inherits: conformances,
                members: members))
        var codable: [SwiftDecl] = [
            .function(
                doc: [], signature: "\(access) init(from istr: inout \(rt("InputStream"))) throws",
                body: s.members.compactMap { m in
                    // `self.`: a member may be named like the stream (`istr`).
                    m.type.resolved.map { "self.\(swiftName(m.info.name.name)) = \(readExpression($0))" }
                }),
            .function(
                doc: [], signature: "\(access) func encode(to ostr: inout \(rt("OutputStream")))",
                body: s.members.compactMap { m in
                    m.type.resolved.map { writeStatement($0, "self." + swiftName(m.info.name.name)) }
                }),
        ]
        let structType = ResolvedType.user(s.info.scopedName, .struct)
        codable.append(
            .property(
                doc: [], modifiers: "\(access) static", name: "minWireSize", type: std("Int"), value: nil,
                body: ["\(index.minSize(structType))"]))
        if let fixed = index.fixedSize(structType) {
            codable.append(
                .property(
                    doc: [], modifiers: "\(access) static", name: "fixedWireSize", type: std("Int") + "?", value: nil,
                    body: ["\(fixed)"]))
        }
        var decls: [SwiftDecl] = [
            structDecl, .blank,
            .nominal(
                SwiftNominal(
                    modifiers: "", kind: .extension, name: name, inherits: ["\(rt("StreamCodable"))"], members: codable)
            ),
        ]
        let visits = visitStatements(s.members)
        if !visits.isEmpty {
            decls.append(.blank)
            decls.append(
                .nominal(
                    SwiftNominal(
                        modifiers: "", kind: .extension, name: name, inherits: ["\(rt("ValueReferences"))"],
                        members: [
                            .function(
                                doc: [],
                                signature:
                                    "\(access) mutating func _iceVisitReferences(_ visitor: inout \(rt("ReferenceVisitor")))",
                                body: visits)
                        ])))
        }
        if index.isRawDecodable(structType) {
            // Sequences of it then decode through one RawReader (see FloeEncoding.RawDecodable).
            let read = SwiftDecl.function(
                doc: [], signature: "\(access) init(from reader: inout \(rt("RawReader"))) throws",
                body: s.members.compactMap { m in
                    m.type.resolved.map {
                        "self.\(swiftName(m.info.name.name)) = \(readExpression($0, stream: "reader"))"
                    }
                })
            decls += [
                .blank,
                .nominal(
                    SwiftNominal(
                        modifiers: "", kind: .extension, name: name,
                        inherits: ["\(rt("RawDecodable"))", "\(rt("RawEncodable"))"],
                        members: [read, .blank] + rawEncoding(s))),
            ]
        }
        return decls
    }

    /// `rawEncodedSize` and `encode(to: inout RawWriter)` of a struct made of numbers, strings
    /// and such structs.
    private func rawEncoding(_ s: StructDef) -> [SwiftDecl] {
        let members = memberValues(s.members)
        return [
            .property(
                doc: [], modifiers: access, name: "rawEncodedSize", type: std("Int"), value: nil,
                body: [rawSizeExpression(members)]),
            .function(
                doc: [], signature: "\(access) func encode(to writer: inout \(rt("RawWriter")))",
                body: members.map { rawWriteStatement($0.type, $0.value) }),
        ]
    }

    /// Each member's resolved type and the expression of its value (`self.name`).
    func memberValues(_ members: [DataMember]) -> [(type: ResolvedType, value: String)] {
        members.compactMap { m in m.type.resolved.map { (type: $0, value: "self." + swiftName(m.info.name.name)) } }
    }

    /// The encoded size of raw-codable values: fixed-size ones add up to one constant.
    func rawSizeExpression(_ members: [(type: ResolvedType, value: String)]) -> String {
        var fixed = 0
        var dynamic: [String] = []
        for m in members {
            if let size = index.fixedSize(m.type) {
                fixed += size
            } else {
                dynamic.append("\(m.value).rawEncodedSize")
            }
        }
        return (dynamic + (fixed > 0 || dynamic.isEmpty ? ["\(fixed)"] : [])).joined(separator: " + ")
    }

    /// A statement writing a raw-codable value to a `RawWriter` named `writer`.
    func rawWriteStatement(_ type: ResolvedType, _ value: String) -> String {
        if case .builtin = type { return "writer.write(\(value))" }
        return "\(value).encode(to: &writer)"
    }

    /// `init(a:b:)` assigning every member; for classes, base members come first and go to `super`.
    func memberwiseInit(_ own: [DataMember], superMembers: [DataMember], isClass: Bool) -> SwiftDecl {
        let all = superMembers + own
        let parameters = all.compactMap { m in
            m.type.resolved.map { t -> String in
                let type = m.isOptional && !isNullable(t) ? swiftType(t) + "?" : swiftType(t)
                return "\(swiftName(m.info.name.name)): \(type)"
            }
        }
        var body = own.map { "self.\(swiftName($0.info.name.name)) = \(swiftName($0.info.name.name))" }
        if isClass {
            let arguments = superMembers.map { "\(argumentLabel($0.info.name.name)): \(swiftName($0.info.name.name))" }
            body.append(superMembers.isEmpty ? "super.init()" : "super.init(\(arguments.joined(separator: ", ")))")
        }
        // With no members of its own, the initializer has its base's signature and overrides it.
        let override = isClass && own.isEmpty && !superMembers.isEmpty ? "override " : ""
        return .function(
            doc: [], signature: "\(override)\(access) init(\(parameters.joined(separator: ", ")))", body: body)
    }

    func sequenceDecls(_ s: SequenceDef) -> [SwiftDecl] {
        guard let element = s.element.resolved else { return [] }
        let name = localName(s.info)
        var decls: [SwiftDecl] = [
            .typeAlias(doc: docLines(s.info.doc), access: access, name: name, type: sequenceType(element))
        ]
        if !index.isStreamCodable(.user(s.info.scopedName, .sequence)) {
            decls += [
                .blank,
                helper(
                    name: localName(s.info, suffix: "Helper"), type: name,
                    read: [
                        "let count = try istr.readCount(minElementSize: \(index.minSize(element)))",
                        "var value: \(name) = []",
                        "value.reserveCapacity(count)",
                        "for _ in 0..<count { value.append(\(readExpression(element))) }",
                        "return value",
                    ],
                    write: [
                        "ostr.writeSize(value.count)",
                        "for element in value { \(writeStatement(element, "element")) }",
                    ]),
            ]
        }
        return decls
    }

    func dictionaryDecls(_ d: DictionaryDef) -> [SwiftDecl] {
        guard let key = d.key.resolved, let value = d.value.resolved else { return [] }
        let name = localName(d.info)
        var decls: [SwiftDecl] = [
            .typeAlias(
                doc: docLines(d.info.doc), access: access, name: name, type: "[\(swiftType(key)): \(swiftType(value))]")
        ]
        if !index.isStreamCodable(.user(d.info.scopedName, .dictionary)) {
            decls += [
                .blank,
                helper(
                    name: localName(d.info, suffix: "Helper"), type: name,
                    read: [
                        "let count = try istr.readCount(minElementSize: \(index.minSize(key) + index.minSize(value)))",
                        "var value: \(name) = [:]",
                        "for _ in 0..<count {",
                        "    let key = \(readExpression(key))",
                        "    value[key] = \(readExpression(value))",
                        "}",
                        "return value",
                    ],
                    write: [
                        "ostr.writeSize(value.count)",
                        "for (key, element) in value {",
                        "    \(writeStatement(key, "key"))",
                        "    \(writeStatement(value, "element"))",
                        "}",
                    ]),
            ]
        }
        return decls
    }

    /// Reads and writes a sequence or dictionary that holds proxies (not `StreamCodable`).
    private func helper(name: String, type: String, read: [String], write: [String]) -> SwiftDecl {
        .nominal(
            SwiftNominal(
                doc: ["Reads and writes `\(type)`, whose elements are proxies."], modifiers: access, kind: .enum,
                name: name,
                members: [
                    .function(
                        doc: [],
                        signature:
                            "\(access) static func read(from istr: inout \(rt("InputStream"))) throws -> \(type)",
                        body: read),
                    .function(
                        doc: [],
                        signature:
                            "\(access) static func write(_ value: \(type), to ostr: inout \(rt("OutputStream")))",
                        body: write),
                    .function(
                        doc: [],
                        signature:
                            "\(access) static func read(from istr: inout \(rt("InputStream")), tag: \(std("Int"))) throws -> \(type)?",
                        body: [
                            "guard try istr.readOptional(tag: tag, format: .fSize) else { return nil }",
                            "try istr.skip(4)",
                            "return try read(from: &istr)",
                        ]),
                    .function(
                        doc: [],
                        signature:
                            "\(access) static func write(_ value: \(type)?, to ostr: inout \(rt("OutputStream")), tag: \(std("Int")))",
                        body: [
                            "guard let value, ostr.writeOptional(tag: tag, format: .fSize) else { return }",
                            "let start = ostr.startSize()",
                            "write(value, to: &ostr)",
                            "ostr.endSize(at: start)",
                        ]),
                ]))
    }

    func constantDecls(_ c: ConstDef) -> [SwiftDecl] {
        guard let type = c.type.resolved, let value = c.value else { return [] }
        return [
            .constant(
                doc: docLines(c.info.doc), access: access, name: localName(c.info), type: swiftType(type),
                value: literal(value, type: type))
        ]
    }
}
