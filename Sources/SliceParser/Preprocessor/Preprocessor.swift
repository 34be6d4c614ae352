import Foundation
public import SliceAST

/// Options that shape preprocessing: `-I`, `-D` and `-U`.
public struct PreprocessorOptions: Sendable {
    public var includePaths: [String]
    /// `-D NAME[=VALUE]`, applied in order after the predefined macros.
    public var defines: [(name: String, value: String)]
    /// `-U NAME`, applied after `defines`.
    public var undefines: [String]

    public init(includePaths: [String] = [], defines: [(name: String, value: String)] = [], undefines: [String] = []) {
        self.includePaths = includePaths
        self.defines = defines
        self.undefines = undefines
    }

    /// Macros every compilation starts with.
    public static let predefined: [(String, String)] = [
        ("__SLICE2FLOE__", "1"), ("__SLICE2SWIFT__", "1"), ("__ICE_VERSION__", "30708"), ("ICE_VERSION", "30708"),
    ]
}

/// One line of preprocessed text and where it came from.
public struct PreprocessedLine: Sendable {
    public var text: String
    /// Index into `PreprocessedSource.files`.
    public var file: Int
    public var line: Int
}

/// The text the scanner reads: active lines of the main file and its includes, macros expanded.
public struct PreprocessedSource: Sendable {
    public var files: [SourceFile]
    public var lines: [PreprocessedLine]

    /// Every file read, the main file first (for `--depend`).
    public var dependencies: [String] { files.map(\.path) }

    /// The text with `#line N "file"` markers, as `-E` prints it (and as ZeroC's compilers do).
    public func render() -> String {
        var out = ""
        var current: (Int, Int)? = nil
        for line in lines {
            if current == nil || current!.0 != line.file || current!.1 + 1 != line.line {
                out += "#line \(line.line) \"\(files[line.file].path)\"\n"
            }
            out += line.text + "\n"
            current = (line.file, line.line)
        }
        return out
    }
}

/// A preprocessor for Slice: `#include`, `#pragma once`, object-like macros and conditionals,
/// with every line keeping its original file and line number.
public struct Preprocessor {
    private let options: PreprocessorOptions
    private let provider: any SourceProvider
    private var macros: [String: String] = [:]
    /// `#define NAME(params) body`.
    private var functionMacros: [String: FunctionMacro] = [:]
    /// How many macro names have each length, so a line is scanned for macros without a
    /// dictionary lookup per word (kept up to date by `define`, not recomputed per line).
    private var macroNameLengths: [Int: Int] = [:]
    /// Set when an include limit was hit: like a C preprocessor, stop there (everything after
    /// would repeat the same files), and hand the parser nothing.
    private var abandoned = false
    /// Files read so far, counting every inclusion: without include guards a file can include
    /// itself twice per level, which the depth limit alone lets grow as 2^depth.
    private var includeCount = 0
    private var onceFiles: Set<String> = []
    /// Files wrapped in an include guard, by the guard's macro (see `IncludeGuard`).
    private var guardedFiles: [String: String] = [:]
    private var includeStack: [String] = []
    private(set) var diagnostics = Diagnostics()
    private var output = PreprocessedSource(files: [], lines: [])

    static let maxIncludeDepth = 100
    static let maxIncludeCount = 1_000
    /// Characters one line may grow to by macro expansion (`#define A B B`, `#define B C C`, …
    /// doubles per macro), and how deeply macros may expand within each other.
    static let maxExpansionLength = 1 << 16
    static let maxExpansionDepth = 200

    public init(options: PreprocessorOptions, provider: any SourceProvider) {
        self.options = options
        self.provider = provider
        for (name, value) in PreprocessorOptions.predefined { define(name, value) }
        for (name, value) in options.defines { define(name, value) }
        for name in options.undefines { define(name, nil) }
    }

    /// Preprocesses the file at `path` and everything it includes.
    public static func run(
        path: String, options: PreprocessorOptions, provider: any SourceProvider
    ) -> (PreprocessedSource, Diagnostics) {
        var preprocessor = Preprocessor(options: options, provider: provider)
        let normalized = normalizePath(path)
        if let text = provider.read(normalized) {
            preprocessor.process(path: normalized, text: text, includeLevel: 0)
        } else {
            preprocessor.diagnostics.error("file-not-found", "cannot open '\(path)'", at: nil)
        }
        if preprocessor.abandoned { preprocessor.output.lines = [] }
        return (preprocessor.output, preprocessor.diagnostics)
    }

    private struct Conditional {
        var parentActive: Bool
        var active: Bool
        var anyTaken: Bool
        var sawElse: Bool
        var location: SourceLocation
    }

    private mutating func process(path: String, text: String, includeLevel: Int) {
        if onceFiles.contains(path) || abandoned { return }
        let fileIndex = output.files.count
        output.files.append(SourceFile(path: path, includeLevel: includeLevel))
        includeStack.append(path)
        defer { includeStack.removeLast() }

        var conditionals: [Conditional] = []
        var includeGuard = IncludeGuard()
        defer { if let macro = includeGuard.macro { guardedFiles[path] = macro } }
        var inComment = false
        var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map {
            Substring($0)
        }
        if text.utf8.last == UInt8(ascii: "\n") { lines.removeLast() }
        var index = 0
        while index < lines.count, !abandoned {
            let lineNumber = index + 1
            var line = String(lines[index])
            if index == 0, line.hasPrefix("\u{FEFF}") { line.removeFirst() }
            if line.hasSuffix("\r") { line.removeLast() }
            index += 1
            let active = conditionals.last?.active ?? true
            let startsInComment = inComment
            inComment = commentState(after: line, startingInComment: inComment)
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard !startsInComment, trimmed.first == "#" else {
                if conditionals.isEmpty, !isBlank(line, startingInComment: startsInComment) { includeGuard.content() }
                if active {
                    output.lines.append(
                        PreprocessedLine(
                            text: startsInComment
                                ? line : expandLine(line, at: SourceLocation(file: path, line: lineNumber, column: 1)),
                            file: fileIndex, line: lineNumber)
                    )
                }
                continue
            }
            // A directive: join continuation lines, drop comments.
            var directive = String(trimmed.dropFirst())
            while directive.hasSuffix("\\"), index < lines.count {
                directive.removeLast()
                directive += String(lines[index])
                index += 1
            }
            directive = stripComments(directive)
            let column = line.count - trimmed.count + 1
            let location = SourceLocation(file: path, line: lineNumber, column: column)
            let words = directive.drop { $0 == " " || $0 == "\t" }
            var name = String(words.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
            let argument = String(words.dropFirst(name.count)).trimmingWhitespace()
            // `# 12 "file.ice"`: a line marker, as cpp and `-E` print them; read like `#line`.
            if name.first?.isNumber == true { name = "line" }
            includeGuard.directive(name, argument.firstWord, depth: conditionals.count)
            switch name {
            case "if", "ifdef", "ifndef":
                let parentActive = active
                var value = false
                if parentActive {
                    switch name {
                    case "ifdef": value = isDefined(argument.firstWord)
                    case "ifndef": value = !isDefined(argument.firstWord)
                    default: value = evaluate(argument, at: location)
                    }
                }
                conditionals.append(
                    Conditional(
                        parentActive: parentActive, active: parentActive && value, anyTaken: value, sawElse: false,
                        location: location))
            case "elif":
                guard var top = conditionals.popLast(), !top.sawElse else {
                    diagnostics.error("preprocessor", "#elif without #if", at: location)
                    continue
                }
                let value = top.parentActive && !top.anyTaken && evaluate(argument, at: location)
                top.active = value
                top.anyTaken = top.anyTaken || value
                conditionals.append(top)
            case "else":
                guard var top = conditionals.popLast(), !top.sawElse else {
                    diagnostics.error("preprocessor", "#else without #if", at: location)
                    continue
                }
                top.active = top.parentActive && !top.anyTaken
                top.anyTaken = true
                top.sawElse = true
                conditionals.append(top)
            case "endif":
                if conditionals.popLast() == nil {
                    diagnostics.error("preprocessor", "#endif without #if", at: location)
                }
            default:
                guard active else { continue }
                directiveLine(name, argument, at: location, file: path, includeLevel: includeLevel)
            }
        }
        for open in conditionals {
            diagnostics.error("preprocessor", "unterminated conditional directive", at: open.location)
        }
        if inComment, let last = output.lines.indices.last {
            diagnostics.warning(
                "eof-in-comment", "end of file in comment", at: SourceLocation(file: path, line: lines.count, column: 1)
            )
            // Close the comment so it does not swallow the including file.
            output.lines[last].text += "*/"
        }
    }

    private mutating func directiveLine(
        _ name: String, _ argument: String, at location: SourceLocation, file: String, includeLevel: Int
    ) {
        switch name {
        case "include":
            include(argument, at: location, from: file, includeLevel: includeLevel)
        case "pragma":
            if argument.firstWord == "once" {
                onceFiles.insert(file)
            } else {
                diagnostics.warning("unknown-pragma", "ignoring unknown pragma '\(argument)'", at: location)
            }
        case "define":
            let macro = argument.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            guard !macro.isEmpty, !(macro.first?.isNumber ?? true) else {
                diagnostics.error("preprocessor", "#define needs a macro name", at: location)
                return
            }
            let rest = argument.dropFirst(macro.count)
            if rest.first == "(" {
                // `NAME(` with no blank between: a function-like macro, as in C.
                switch FunctionMacro.parse(rest) {
                case .success(let function): define(String(macro), function: function)
                case .failure(let error): diagnostics.error("preprocessor", error.message, at: location)
                }
                return
            }
            define(String(macro), String(rest).trimmingWhitespace())
        case "undef":
            define(argument.firstWord, nil)
        case "error":
            diagnostics.error("preprocessor-error", "#error \(argument)", at: location)
        case "warning":
            diagnostics.warning("preprocessor-warning", "#warning \(argument)", at: location)
        case "line", "":
            break
        default:
            diagnostics.error("preprocessor", "unknown directive '#\(name)'", at: location)
        }
    }

    private mutating func include(_ argument: String, at location: SourceLocation, from file: String, includeLevel: Int)
    {
        let spec = argument.hasPrefix("\"") || argument.hasPrefix("<") ? argument : expandLine(argument, at: location)
        guard let open = spec.first, open == "\"" || open == "<",
            let close = spec.dropFirst().firstIndex(of: open == "\"" ? "\"" : ">")
        else {
            diagnostics.error("preprocessor", "#include expects \"file\" or <file>", at: location)
            return
        }
        let name = String(spec[spec.index(after: spec.startIndex)..<close])
        var candidates: [String] = []
        if name.hasPrefix("/") {
            candidates = [name]
        } else {
            if open == "\"" { candidates.append(directory(of: file) + "/" + name) }
            candidates += options.includePaths.map { $0 + "/" + name }
        }
        for candidate in candidates {
            let path = normalizePath(candidate)
            guard let text = provider.read(path) else { continue }
            guard includeStack.count < Self.maxIncludeDepth else {
                diagnostics.error("include-depth", "#include nested too deeply (include cycle?)", at: location)
                abandoned = true
                return
            }
            // A `#pragma once` file met again is skipped before it counts: 2,000 includes of the
            // common files of a large project are no explosion (mcpp skips them too).
            if onceFiles.contains(path) { return }
            // So is a file whose include guard is defined (GCC's multiple-include optimisation).
            if let macro = guardedFiles[path], isDefined(macro) { return }
            includeCount += 1
            guard includeCount <= Self.maxIncludeCount else {
                diagnostics.error(
                    "include-count",
                    "more than \(Self.maxIncludeCount) files included (a file without #pragma once or include guards including itself?)",
                    at: location)
                abandoned = true
                return
            }
            process(path: path, text: text, includeLevel: includeLevel + 1)
            return
        }
        diagnostics.error("include-not-found", "cannot find include file '\(name)'", at: location)
    }

    // MARK: Macros

    /// Defines (or, with nil, undefines) a macro.
    private func isDefined(_ name: String) -> Bool { macros[name] != nil || functionMacros[name] != nil }

    /// Defines an object-like macro (`value`), a function-like one (`function`), or neither
    /// (`#undef`): one name is one macro.
    private mutating func define(_ name: String, _ value: String? = nil, function: FunctionMacro? = nil) {
        let length = name.utf8.count
        let wasDefined = isDefined(name)
        macros[name] = value
        functionMacros[name] = function
        if !wasDefined, isDefined(name) { macroNameLengths[length, default: 0] += 1 }
        if wasDefined, !isDefined(name) {
            macroNameLengths[length, default: 1] -= 1
            if macroNameLengths[length] == 0 { macroNameLengths[length] = nil }
        }
    }

    /// `expand`, reporting an expansion that outgrows the limits or a wrong invocation (the
    /// line is then dropped).
    private mutating func expandLine(_ line: String, at location: SourceLocation) -> String {
        var budget = line.utf8.count + Self.maxExpansionLength
        var failure: String?
        let expanded = expand(line, disabled: [], budget: &budget, failure: &failure)
        if let failure {
            diagnostics.error("macro-expansion", failure, at: location)
            return ""
        }
        if budget < 0 {
            diagnostics.error(
                "macro-expansion", "macro expansion of this line exceeds \(Self.maxExpansionLength) characters",
                at: location)
            return ""
        }
        return expanded
    }

    /// Replaces macro names outside string literals and comments, re-scanning replacements
    /// but never expanding a macro inside its own expansion (the C rule: `#define X X X`
    /// expands once). Stops once the output would exceed `budget` characters.
    func expand(_ line: String, disabled: Set<String>, budget: inout Int, failure: inout String?) -> String {
        guard !macros.isEmpty, mentionsMacro(line) else {
            budget -= line.utf8.count
            return line
        }
        guard disabled.count < Self.maxExpansionDepth else {
            failure = "macros expand within each other more than \(Self.maxExpansionDepth) deep"
            return ""
        }
        var out = ""
        var chars = line[...]
        while budget >= 0, let c = chars.first {
            if c == "\"" {
                let literal = stringLiteralPrefix(chars)
                budget -= literal.utf8.count
                out += literal
                chars = chars.dropFirst(literal.count)
            } else if chars.hasPrefix("//") {
                budget -= chars.utf8.count
                out += chars
                break
            } else if chars.hasPrefix("/*") {
                // (The close is looked for after the opening: in `/*/` the `*` opens, not closes.)
                guard let end = chars.dropFirst(2).range(of: "*/") else {
                    budget -= chars.utf8.count
                    out += chars
                    break
                }
                budget -= chars[..<end.upperBound].utf8.count
                out += chars[..<end.upperBound]
                chars = chars[end.upperBound...]
            } else if c.isLetter || c == "_" {
                let word = chars.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                chars = chars.dropFirst(word.count)
                let name = String(word)
                if let replacement = macros[name], !disabled.contains(name) {
                    out += expand(replacement, disabled: disabled.union([name]), budget: &budget, failure: &failure)
                    if budget < 0 || failure != nil { return out }
                } else if let function = functionMacros[name], !disabled.contains(name),
                    let (arguments, rest) = FunctionMacro.arguments(at: chars)
                {
                    chars = rest
                    let raw = function.parameters.isEmpty && arguments == [""] ? [] : arguments
                    guard raw.count == function.parameters.count else {
                        failure = "macro '\(name)' takes \(function.parameters.count) arguments, \(raw.count) given"
                        return out
                    }
                    var expanded: [String] = []
                    for argument in raw {
                        expanded.append(expand(argument, disabled: disabled, budget: &budget, failure: &failure))
                        if budget < 0 || failure != nil { return out }
                    }
                    guard let body = function.substitute(expanded: expanded, raw: raw, limit: max(budget, 0)) else {
                        budget = -1
                        return out
                    }
                    out += expand(body, disabled: disabled.union([name]), budget: &budget, failure: &failure)
                    if budget < 0 || failure != nil { return out }
                } else {
                    out += word
                    budget -= word.utf8.count
                }
            } else if c.isNumber {
                let number = chars.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }
                budget -= number.utf8.count
                out += number
                chars = chars.dropFirst(number.count)
            } else {
                budget -= c.utf8.count
                out.append(c)
                chars = chars.dropFirst()
            }
        }
        return out
    }

    /// A quick byte-level scan: does any identifier in the line have a macro's name? Most lines
    /// have none, and then the line is returned untouched.
    private func mentionsMacro(_ line: String) -> Bool {
        var found = false
        var identifierStart: Int? = nil
        var bytes = Array(line.utf8)
        bytes.append(0)
        for (index, byte) in bytes.enumerated() {
            let isIdentifierByte =
                (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 95
                || (identifierStart != nil && byte >= 48 && byte <= 57)
            if isIdentifierByte {
                if identifierStart == nil { identifierStart = index }
            } else if let start = identifierStart {
                identifierStart = nil
                if macroNameLengths[index - start] != nil,
                    isDefined(String(decoding: bytes[start..<index], as: UTF8.self))
                {
                    found = true
                    break
                }
            }
        }
        return found
    }

    private mutating func evaluate(_ expression: String, at location: SourceLocation) -> Bool {
        var parser = ConditionParser(text: expression, macros: macros)
        do {
            return try parser.parse() != 0
        } catch let error as ConditionParser.Failure {
            diagnostics.error("preprocessor", "invalid #if expression: \(error.message)", at: location)
            return false
        } catch {
            return false
        }
    }
}

/// Whether a line leaves a `/* … */` comment open (scanned as UTF-8 bytes: it runs on every line).
func commentState(after line: String, startingInComment: Bool) -> Bool {
    var inComment = startingInComment
    var inString = false
    var escaped = false
    // The previous byte, or 0 when it was consumed by a comment delimiter (so `/*/` and `*/*`
    // are not read as two delimiters sharing a byte).
    var previous: UInt8 = 0
    for byte in line.utf8 {
        var current = byte
        if inComment {
            if previous == UInt8(ascii: "*") && byte == UInt8(ascii: "/") {
                inComment = false
                current = 0
            }
        } else if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
        } else if byte == UInt8(ascii: "\"") {
            inString = true
        } else if previous == UInt8(ascii: "/") && byte == UInt8(ascii: "/") {
            return false
        } else if previous == UInt8(ascii: "/") && byte == UInt8(ascii: "*") {
            inComment = true
            current = 0
        }
        previous = current
    }
    return inComment
}

/// The string literal at the start of `chars`, up to its closing quote or the end of line.
func stringLiteralPrefix(_ chars: Substring) -> Substring {
    var index = chars.index(after: chars.startIndex)
    while index < chars.endIndex {
        let c = chars[index]
        if c == "\\" {
            index = chars.index(after: index)
            if index < chars.endIndex { index = chars.index(after: index) }
            continue
        }
        index = chars.index(after: index)
        if c == "\"" { break }
    }
    return chars[..<index]
}

/// Whether a line holds nothing but blanks and comments.
private func isBlank(_ line: String, startingInComment: Bool) -> Bool {
    var rest = line[...]
    if startingInComment {
        guard let end = rest.range(of: "*/") else { return true }
        rest = rest[end.upperBound...]
    }
    return stripComments(String(rest)).trimmingWhitespace().isEmpty
}

/// Whether a file is one `#ifndef NAME` … `#endif` with nothing outside it but blank lines and
/// comments: then, once NAME is defined, including it again adds nothing, and it is skipped
/// without counting against the inclusion limit (files guarded so, included by every file of a
/// large project, would otherwise reach it).
struct IncludeGuard {
    private enum State { case before, inside, after, none }
    private var state = State.before
    private var name = ""

    /// The guard's macro, once the whole file has been seen to be guarded.
    var macro: String? { state == .after && !name.isEmpty ? name : nil }

    /// A line with something outside every conditional.
    mutating func content() { state = .none }

    /// A directive, met with `depth` conditionals open.
    mutating func directive(_ directive: String, _ argument: String, depth: Int) {
        switch (directive, depth) {
        case ("ifndef", 0) where state == .before:
            state = .inside
            name = argument
        case ("endif", 1) where state == .inside:
            state = .after
        case ("elif", 1), ("else", 1):
            state = .none
        case (_, 0):
            state = .none
        default:
            break
        }
    }
}

private func stripComments(_ text: String) -> String {
    var out = ""
    var chars = text[...]
    while let c = chars.first {
        if chars.hasPrefix("//") { break }
        if chars.hasPrefix("/*") {
            guard let end = chars.dropFirst(2).range(of: "*/") else { break }
            chars = chars[end.upperBound...]
            out += " "
            continue
        }
        if c == "\"" {
            let literal = stringLiteralPrefix(chars)
            out += literal
            chars = chars.dropFirst(literal.count)
            continue
        }
        out.append(c)
        chars = chars.dropFirst()
    }
    return out
}

extension String {
    func trimmingWhitespace() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }

    var firstWord: String { String(prefix { $0.isLetter || $0.isNumber || $0 == "_" }) }
}
