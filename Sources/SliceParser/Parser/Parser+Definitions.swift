import SliceAST

extension Parser {
    mutating func parseClass(_ info: inout DefinitionInfo) throws(SyntaxError) -> Definition {
        info.name = try parseNewName("class")
        info.scopedName = scopedName(info.name.name)
        if accept(.semicolon) { return .forward(ForwardDecl(info: info, kind: .class)) }
        var definition = ClassDef(info: info)
        if accept(.leftParen) {
            definition.compactIdSyntax = try parseValue("compact id")
            try expect(.rightParen)
        }
        if acceptKeyword(.extends) || accept(.colon) {
            definition.base = try parseType()
            if kind == .comma {
                syntaxError("a class can only extend one base class")
                throw SyntaxError()
            }
        }
        if acceptKeyword(.implements) {
            repeat { definition.implements.append(try parseType()) } while accept(.comma)
        }
        try expect(.leftBrace)
        while kind != .rightBrace && kind != .endOfFile {
            do {
                let member = try parseMember(allowOptional: true)
                switch member {
                case .data(let m): definition.members.append(m)
                case .operation(let o): definition.operations.append(o)
                }
            } catch {
                synchronize()
            }
        }
        try expect(.rightBrace)
        _ = accept(.semicolon)
        return .classDef(definition)
    }

    mutating func parseInterface(_ info: inout DefinitionInfo) throws(SyntaxError) -> Definition {
        info.name = try parseNewName("interface")
        info.scopedName = scopedName(info.name.name)
        if accept(.semicolon) { return .forward(ForwardDecl(info: info, kind: .interface)) }
        var definition = InterfaceDef(info: info)
        if acceptKeyword(.extends) || accept(.colon) {
            repeat { definition.bases.append(try parseType()) } while accept(.comma)
        }
        try expect(.leftBrace)
        while kind != .rightBrace && kind != .endOfFile {
            do {
                switch try parseMember(allowOptional: true) {
                case .operation(let o): definition.operations.append(o)
                case .data(let m):
                    diagnostics.error(
                        "interface-member", "interfaces cannot have data members", at: m.info.name.location)
                }
            } catch {
                synchronize()
            }
        }
        try expect(.rightBrace)
        _ = accept(.semicolon)
        return .interfaceDef(definition)
    }

    mutating func parseException(_ info: inout DefinitionInfo) throws(SyntaxError) -> Definition? {
        info.name = try parseNewName("exception")
        info.scopedName = scopedName(info.name.name)
        if accept(.semicolon) {
            diagnostics.error("forward-declaration", "exceptions cannot be forward declared", at: info.name.location)
            return nil
        }
        var definition = ExceptionDef(info: info)
        if acceptKeyword(.extends) || accept(.colon) { definition.base = try parseType() }
        definition.members = try parseDataMembers(in: "exception", allowOptional: true)
        return .exception(definition)
    }

    mutating func parseStruct(_ info: inout DefinitionInfo) throws(SyntaxError) -> Definition? {
        info.name = try parseNewName("structure")
        info.scopedName = scopedName(info.name.name)
        if accept(.semicolon) {
            diagnostics.error("forward-declaration", "structs cannot be forward declared", at: info.name.location)
            return nil
        }
        return .structDef(StructDef(info: info, members: try parseDataMembers(in: "struct", allowOptional: false)))
    }

    private mutating func parseDataMembers(in container: String, allowOptional: Bool) throws(SyntaxError)
        -> [DataMember]
    {
        try expect(.leftBrace)
        var members: [DataMember] = []
        while kind != .rightBrace && kind != .endOfFile {
            do {
                switch try parseMember(allowOptional: allowOptional) {
                case .data(let m): members.append(m)
                case .operation(let o):
                    diagnostics.error(
                        DiagnosticCode(rawValue: "\(container)-operation"), "a \(container) cannot have operations",
                        at: o.info.name.location)
                }
            } catch {
                synchronize()
            }
        }
        try expect(.rightBrace)
        _ = accept(.semicolon)
        return members
    }

    mutating func parseSequence(_ info: inout DefinitionInfo) throws(SyntaxError) -> Definition {
        try expect(.less)
        let metadata = try parseLocalMetadata()
        var element = try parseType()
        element.metadata = metadata
        try expect(.greater)
        info.name = try parseNewName("sequence")
        info.scopedName = scopedName(info.name.name)
        try expect(.semicolon)
        return .sequence(SequenceDef(info: info, element: element))
    }

    mutating func parseDictionary(_ info: inout DefinitionInfo) throws(SyntaxError) -> Definition {
        try expect(.less)
        let keyMetadata = try parseLocalMetadata()
        var key = try parseType()
        key.metadata = keyMetadata
        try expect(.comma)
        let valueMetadata = try parseLocalMetadata()
        var value = try parseType()
        value.metadata = valueMetadata
        try expect(.greater)
        info.name = try parseNewName("dictionary")
        info.scopedName = scopedName(info.name.name)
        try expect(.semicolon)
        return .dictionary(DictionaryDef(info: info, key: key, value: value))
    }

    mutating func parseEnum(_ info: inout DefinitionInfo) throws(SyntaxError) -> Definition? {
        info.name = try parseNewName("enumeration")
        info.scopedName = scopedName(info.name.name)
        if accept(.semicolon) {
            diagnostics.error("forward-declaration", "enumerations cannot be forward declared", at: info.name.location)
            return nil
        }
        try expect(.leftBrace)
        var definition = EnumDef(info: info)
        // Ice 3.7 tolerates empty items: `enum E { A,, B }`.
        while kind != .rightBrace && kind != .endOfFile {
            if accept(.comma) { continue }
            let doc = docComment(of: current)
            let metadata = try parseLocalMetadata()
            let name = try parseNewName("enumerator")
            var enumerator = Enumerator(
                info: DefinitionInfo(
                    name: name, metadata: metadata, doc: doc, isLocal: info.isLocal, includeLevel: info.includeLevel,
                    scopedName: info.scopedName + "::" + name.name))
            if accept(.equals) { enumerator.valueSyntax = try parseValue("enumerator value") }
            definition.enumerators.append(enumerator)
            guard accept(.comma) else { break }
        }
        try expect(.rightBrace)
        _ = accept(.semicolon)
        if definition.enumerators.isEmpty {
            diagnostics.error(
                "empty-enum", "enumeration '\(info.name.name)' must have at least one enumerator",
                at: info.name.location)
        }
        return .enumDef(definition)
    }

    mutating func parseConst(_ info: inout DefinitionInfo) throws(SyntaxError) -> Definition {
        let metadata = try parseLocalMetadata()
        var type = try parseType()
        type.metadata = metadata
        info.name = try parseNewName("constant")
        info.scopedName = scopedName(info.name.name)
        try expect(.equals)
        let value = try parseValue("constant value")
        try expect(.semicolon)
        return .const(ConstDef(info: info, type: type, valueSyntax: value))
    }

    // MARK: Types and values

    /// A type: a built-in keyword or a (scoped) name, optionally followed by `*`.
    mutating func parseType() throws(SyntaxError) -> TypeRef {
        let token = current
        var type: TypeRef
        switch token.kind {
        case .keyword(let keyword):
            guard let builtin = BuiltinType(rawValue: keyword.rawValue) else {
                syntaxError("expected a type, found \(describe(token.kind))")
                throw SyntaxError()
            }
            _ = advance()
            type = TypeRef(.builtin(builtin), at: token.location)
        case .identifier(let name, _):
            _ = advance()
            type = TypeRef(.named(name), at: token.location)
        default:
            syntaxError("expected a type, found \(describe(token.kind))")
            throw SyntaxError()
        }
        if accept(.star) {
            if case .builtin(let b) = type.syntax, b != .object {
                syntaxError("'\(b.rawValue)*' is not a valid type", at: token.location)
            }
            type.isProxy = true
        }
        return type
    }

    /// A literal or a name used as a value.
    mutating func parseValue(_ what: String) throws(SyntaxError) -> ValueSyntax {
        let token = current
        let kind: ValueSyntax.Kind
        switch token.kind {
        case .integer(let text, let value): kind = .integer(text: text, value: value)
        case .float(let text, let value): kind = .float(text: text, value: value)
        case .string(let s): kind = .string(s)
        case .keyword(.true): kind = .bool(true)
        case .keyword(.false): kind = .bool(false)
        case .identifier(let name, _): kind = .name(name)
        default:
            syntaxError("expected \(what), found \(describe(token.kind))")
            throw SyntaxError()
        }
        _ = advance()
        if case .string = kind, case .string = self.kind {
            syntaxError("adjacent string literals are only concatenated in metadata")
            throw SyntaxError()
        }
        return ValueSyntax(kind, at: token.location)
    }

    /// `optional(tag)`, after the `optional` keyword.
    mutating func parseTag() throws(SyntaxError) -> ValueSyntax {
        guard accept(.leftParen) else {
            syntaxError("missing tag for optional")
            throw SyntaxError()
        }
        let tag = try parseValue("tag")
        try expect(.rightParen)
        return tag
    }
}
