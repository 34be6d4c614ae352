public import SliceAST

/// A hand-written recursive-descent parser from tokens to the syntax tree. It reports syntax
/// errors and the lexical rules on new names, and resynchronises at `;` or `}` after an error
/// so one mistake does not cascade.
public struct Parser {
    var tokens: [Token]
    var index = 0
    var files: [SourceFile]
    public internal(set) var diagnostics = Diagnostics()
    /// Names of the enclosing modules, outermost first.
    var scope: [String] = []
    /// Files in which a definition has been seen (file metadata must come before).
    var filesWithDefinitions: Set<Int> = []
    /// Set when parsing gave up on the rest of the input (nesting beyond the limits): the
    /// errors that follow from it are not reported.
    var abandoned = false

    public init(tokens: [Token], files: [SourceFile]) {
        self.tokens = tokens
        self.files = files
    }

    /// Parses the whole token stream.
    public mutating func parseUnit() -> CompilationUnit {
        let definitions = parseEntries(insideModule: false)
        return CompilationUnit(files: files, definitions: definitions)
    }

    // MARK: Token access

    var current: Token { tokens[index] }
    var kind: TokenKind { tokens[index].kind }

    func peekKind(_ ahead: Int) -> TokenKind {
        index + ahead < tokens.count ? tokens[index + ahead].kind : .endOfFile
    }

    mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    mutating func accept(_ expected: TokenKind) -> Bool {
        guard kind == expected else { return false }
        _ = advance()
        return true
    }

    mutating func acceptKeyword(_ keyword: Keyword) -> Bool { accept(.keyword(keyword)) }

    struct SyntaxError: Error {}

    /// Consumes `expected` or reports what was found instead.
    mutating func expect(_ expected: TokenKind, _ what: String? = nil) throws(SyntaxError) {
        guard accept(expected) else {
            syntaxError("expected \(what ?? "'\(expected.text)'"), found \(describe(kind))")
            throw SyntaxError()
        }
    }

    mutating func syntaxError(_ message: String, at location: SourceLocation? = nil) {
        guard !abandoned else { return }
        diagnostics.error("syntax", message, at: location ?? current.location)
    }

    func describe(_ kind: TokenKind) -> String {
        switch kind {
        case .endOfFile: "end of file"
        case .identifier(let name, _): "identifier '\(name)'"
        case .keyword(let k): "keyword '\(k.rawValue)'"
        case .string: "string literal"
        case .integer(let text, _), .float(let text, _): "'\(text)'"
        default: "'\(kind.text)'"
        }
    }

    /// Skips to just after the next `;` at this nesting level, or to a `}` that closes it.
    mutating func synchronize() {
        var depth = 0
        while true {
            switch kind {
            case .endOfFile: return
            case .leftBrace: depth += 1
            case .rightBrace:
                if depth == 0 { return }
                depth -= 1
                if depth == 0 {
                    _ = advance()
                    _ = accept(.semicolon)
                    return
                }
            case .semicolon where depth == 0:
                _ = advance()
                return
            default: break
            }
            _ = advance()
        }
    }

    func includeLevel(of token: Token) -> Int {
        token.file < files.count ? files[token.file].includeLevel : 0
    }

    func fileHasMetadata(_ token: Token, _ value: String) -> Bool {
        token.file < files.count && files[token.file].metadata.contains { $0.value == value }
    }

    /// The doc comment before `token`, parsed only for definitions that code is generated for:
    /// included files' comments are never emitted, and parsing them is a large part of the work.
    func docComment(of token: Token) -> DocComment? {
        guard includeLevel(of: token) == 0 else { return nil }
        return token.doc.map(DocComment.init(parsing:))
    }

    func scopedName(_ name: String) -> String {
        "::" + (scope + [name]).joined(separator: "::")
    }

    // MARK: Names

    /// Reads the name of a new definition: an identifier, or a keyword (reported).
    mutating func parseNewName(_ what: String, allowScoped: Bool = false) throws(SyntaxError) -> Identifier {
        let token = current
        switch token.kind {
        case .identifier(let name, let escaped):
            _ = advance()
            if name.contains("::"), !(allowScoped && !name.hasPrefix("::")) {
                syntaxError("\(what) name '\(name)' cannot be scoped", at: token.location)
            } else {
                for part in name.split(separator: ":") {
                    checkIdentifier(String(part), escaped: escaped, token: token, what: what)
                }
            }
            return Identifier(name, at: token.location)
        case .keyword(let keyword):
            _ = advance()
            syntaxError("keyword '\(keyword.rawValue)' cannot be used as \(what) name", at: token.location)
            return Identifier(keyword.rawValue, at: token.location)
        default:
            syntaxError("expected \(what) name, found \(describe(token.kind))")
            throw SyntaxError()
        }
    }

    /// The lexical rules on identifiers (ZeroC 3.7): underscores, the `ice` prefix and the
    /// reserved suffixes.
    mutating func checkIdentifier(_ name: String, escaped: Bool, token: Token, what: String) {
        let location = token.location
        let topLevel = includeLevel(of: token) == 0
        if name.hasPrefix("_") || name.hasSuffix("_") || name.contains("__") {
            diagnostics.error("identifier", "illegal underscore in identifier '\(name)'", at: location)
        } else if topLevel, name.contains("_"), !fileHasMetadata(token, "underscore") {
            diagnostics.error("identifier", "illegal underscore in identifier '\(name)'", at: location)
        }
        if topLevel, name.count > 2, name.prefix(3).lowercased() == "ice", !fileHasMetadata(token, "ice-prefix") {
            diagnostics.error("identifier", "illegal identifier '\(name)': 'Ice' prefix is reserved", at: location)
        }
        for suffix in ["Helper", "Holder", "Prx", "Ptr"] where name.hasSuffix(suffix) {
            diagnostics.error(
                "identifier", "illegal identifier '\(name)': '\(suffix)' suffix is reserved", at: location)
        }
        // Type names that differ from a keyword only in case hurt portability (Ice 3.6 rejected
        // them); member and parameter names such as `value` are common and harmless.
        let isTypeName = !["data member", "parameter", "operation", "enumerator"].contains(what)
        if topLevel, isTypeName, !escaped, let keyword = Keyword.byLowercase[name.lowercased()] {
            diagnostics.warning(
                "keyword-case", "identifier '\(name)' differs from keyword '\(keyword.rawValue)' only in case",
                at: location)
        }
    }

    // MARK: Metadata

    /// `[ "a", "b" ]` or `[[ … ]]`: comma-separated groups of adjacent string literals.
    mutating func parseMetadataList(closing: TokenKind) throws(SyntaxError) -> [Metadata] {
        var list: [Metadata] = []
        if accept(closing) { return list }
        repeat {
            let location = current.location
            guard case .string(var value) = kind else {
                syntaxError("expected a metadata string, found \(describe(kind))")
                throw SyntaxError()
            }
            _ = advance()
            while case .string(let more) = kind {
                value += more
                _ = advance()
            }
            list.append(Metadata(value, at: location))
        } while accept(.comma)
        try expect(closing)
        return list
    }

    /// Zero or more `[…]` groups (3.8 allows several; 3.7 one).
    mutating func parseLocalMetadata() throws(SyntaxError) -> [Metadata] {
        var list: [Metadata] = []
        while accept(.leftBracket) { list += try parseMetadataList(closing: .rightBracket) }
        return list
    }

    // MARK: Entries

    /// How deeply modules may nest: far beyond real Slice, and far from the stack's limit of
    /// the recursion through parsing, analysis and generation.
    static let maxModuleDepth = 100

    /// Definitions (with their metadata and doc comments) up to `}` or the end of the file.
    mutating func parseEntries(insideModule: Bool) -> [Definition] {
        var definitions: [Definition] = []
        while true {
            switch kind {
            case .endOfFile:
                if insideModule { syntaxError("expected '}', found end of file") }
                return definitions
            case .rightBrace where insideModule:
                return definitions
            case .rightBrace:
                syntaxError("unexpected '}'")
                _ = advance()
                continue
            case .semicolon:
                syntaxError("unexpected ';'")
                _ = advance()
                continue
            case .leftDoubleBracket:
                parseFileMetadata()
                continue
            default:
                break
            }
            do {
                if let definition = try parseEntry(topLevel: !insideModule) { definitions.append(definition) }
            } catch {
                synchronize()
            }
        }
    }

    private mutating func parseFileMetadata() {
        let token = advance()
        do {
            let list = try parseMetadataList(closing: .rightDoubleBracket)
            if filesWithDefinitions.contains(token.file) || !scope.isEmpty {
                diagnostics.error(
                    "file-metadata", "file metadata must appear before any definitions", at: token.location)
            } else if token.file < files.count {
                files[token.file].metadata += list
            }
        } catch {
            synchronize()
        }
    }

    /// One definition with its leading metadata and doc comment.
    mutating func parseEntry(topLevel: Bool) throws(SyntaxError) -> Definition? {
        let first = current
        let metadata = try parseLocalMetadata()
        let doc = docComment(of: first)
        filesWithDefinitions.insert(current.file)
        let isLocal = acceptKeyword(.local)
        let start = current
        var info = DefinitionInfo(
            name: Identifier("", at: start.location), metadata: metadata, doc: doc, isLocal: isLocal,
            includeLevel: includeLevel(of: start))
        let parsed: Definition?
        switch start.kind {
        case .keyword(.module):
            if isLocal { syntaxError("a module cannot be local", at: start.location) }
            _ = advance()
            parsed = try parseModule(&info)
        case .keyword(.class):
            _ = advance()
            parsed = try parseClass(&info)
        case .keyword(.interface):
            _ = advance()
            parsed = try parseInterface(&info)
        case .keyword(.exception):
            _ = advance()
            parsed = try parseException(&info)
        case .keyword(.struct):
            _ = advance()
            parsed = try parseStruct(&info)
        case .keyword(.sequence):
            _ = advance()
            parsed = try parseSequence(&info)
        case .keyword(.dictionary):
            _ = advance()
            parsed = try parseDictionary(&info)
        case .keyword(.enum):
            _ = advance()
            parsed = try parseEnum(&info)
        case .keyword(.const):
            _ = advance()
            parsed = try parseConst(&info)
        default:
            syntaxError("expected a definition, found \(describe(start.kind))")
            throw SyntaxError()
        }
        guard let definition = parsed else { return nil }
        if topLevel, case .module = definition {
        } else if topLevel {
            diagnostics.error(
                "global-scope", "'\(definition.info.name.name)': only modules can be defined at global scope",
                at: definition.info.name.location)
        }
        return definition
    }

    private mutating func parseModule(_ info: inout DefinitionInfo) throws(SyntaxError) -> Definition {
        var names = [try parseNewName("module", allowScoped: true)]
        // `module A::B` (Ice 3.8) arrives as one scoped identifier; split it into nested modules.
        if names[0].name.contains("::") {
            names = names[0].name.split(separator: ":", omittingEmptySubsequences: true).map {
                Identifier(String($0), at: names[0].location)
            }
        }
        try expect(.leftBrace)
        let depth = scope.count
        guard depth + names.count <= Self.maxModuleDepth else {
            syntaxError("modules nested more than \(Self.maxModuleDepth) deep", at: names[0].location)
            index = tokens.count - 1  // the rest is not parsed: every module below would say the same
            abandoned = true
            throw SyntaxError()
        }
        var infos: [DefinitionInfo] = []
        for name in names {
            var nested = info
            nested.name = name
            nested.scopedName = scopedName(name.name)
            if !infos.isEmpty {
                nested.metadata = []
                nested.doc = nil
            }
            infos.append(nested)
            scope.append(name.name)
        }
        let contents = parseEntries(insideModule: true)
        scope.removeLast(scope.count - depth)
        try expect(.rightBrace)
        _ = accept(.semicolon)
        var module = ModuleDef(info: infos[infos.count - 1], contents: contents)
        for outer in infos.dropLast().reversed() {
            module = ModuleDef(info: outer, contents: [.module(module)])
        }
        info = module.info
        return .module(module)
    }
}
