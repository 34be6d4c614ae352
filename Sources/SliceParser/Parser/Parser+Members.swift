import SliceAST

extension Parser {
    enum Member {
        case data(DataMember)
        case operation(SliceAST.Operation)
    }

    /// A data member or an operation, up to and including its `;`.
    mutating func parseMember(allowOptional: Bool) throws(SyntaxError) -> Member {
        let first = current
        let doc = docComment(of: first)
        let metadata = try parseLocalMetadata()
        let idempotent = acceptKeyword(.idempotent)
        var tagSyntax: ValueSyntax?
        var type: TypeRef?
        let typeStart = current
        if acceptKeyword(.void) {
            type = nil
        } else {
            if acceptKeyword(.optional) { tagSyntax = try parseTag() }
            type = try parseType()
        }
        let isVoid = type == nil
        let nameToken = current
        var info = DefinitionInfo(
            name: Identifier("", at: nameToken.location), metadata: metadata, doc: doc,
            includeLevel: includeLevel(of: nameToken))
        info.name = try parseNewName(peekKind(1) == .leftParen || isVoid || idempotent ? "operation" : "data member")
        if idempotent || isVoid || kind == .leftParen {
            guard accept(.leftParen) else {
                syntaxError("expected '(' after operation name, found \(describe(kind))")
                throw SyntaxError()
            }
            var operation = SliceAST.Operation(
                info: info, isIdempotent: idempotent, returnType: type, returnTagSyntax: tagSyntax)
            operation.parameters = try parseParameters()
            if acceptKeyword(.throws) {
                repeat { operation.throwsClause.append(try parseType()) } while accept(.comma)
            }
            try expect(.semicolon, "';' after operation")
            return .operation(operation)
        }
        guard let memberType = type else {
            syntaxError("expected a type", at: typeStart.location)
            throw SyntaxError()
        }
        var member = DataMember(info: info, type: memberType, tagSyntax: tagSyntax)
        if tagSyntax != nil, !allowOptional {
            diagnostics.error(
                "struct-optional", "optional data members not supported in struct", at: info.name.location)
            member.tagSyntax = nil
        }
        if accept(.equals) { member.defaultSyntax = try parseValue("default value") }
        if !accept(.semicolon) {
            // The member itself is complete: report the missing ';' and keep it, so the
            // container is not also reported as empty.
            syntaxError("expected ';' after data member, found \(describe(kind))")
            if kind != .rightBrace { throw SyntaxError() }
        }
        return .data(member)
    }

    private mutating func parseParameters() throws(SyntaxError) -> [Parameter] {
        var parameters: [Parameter] = []
        if accept(.rightParen) { return parameters }
        repeat {
            var metadata = try parseLocalMetadata()
            let isOut = acceptKeyword(.out)
            metadata += try parseLocalMetadata()
            var tag: ValueSyntax?
            if acceptKeyword(.optional) { tag = try parseTag() }
            let type = try parseType()
            let name = try parseNewName("parameter")
            parameters.append(
                Parameter(
                    info: DefinitionInfo(name: name, metadata: metadata, includeLevel: includeLevel(of: current)),
                    type: type, isOut: isOut, tagSyntax: tag))
        } while accept(.comma)
        try expect(.rightParen)
        return parameters
    }
}
