/// A `/** … */` comment, split into its overview and tags.
public struct DocComment: Hashable, Sendable, Codable {
    public struct Tag: Hashable, Sendable, Codable {
        public var name: String
        public var text: String
        public init(name: String, text: String) {
            self.name = name
            self.text = text
        }
    }

    /// The text before the first `@` tag.
    public var overview: String
    /// `@param name text`, in order.
    public var parameters: [Tag]
    public var returns: String?
    /// `@throws Name text` and `@exception Name text`.
    public var exceptions: [Tag]
    public var seeAlso: [String]
    /// Non-nil (possibly empty) when `@deprecated` is present.
    public var deprecated: String?
    /// Any other tags, kept as written.
    public var otherTags: [Tag]

    public init(
        overview: String, parameters: [Tag] = [], returns: String? = nil, exceptions: [Tag] = [],
        seeAlso: [String] = [], deprecated: String? = nil, otherTags: [Tag] = []
    ) {
        self.overview = overview
        self.parameters = parameters
        self.returns = returns
        self.exceptions = exceptions
        self.seeAlso = seeAlso
        self.deprecated = deprecated
        self.otherTags = otherTags
    }

    /// Parses the inside of a doc comment (without `/**` and `*/`).
    public init(parsing body: String) {
        var lines = body.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var text = line.drop { $0 == " " || $0 == "\t" }
            while text.first == "*" { text = text.dropFirst() }
            if text.first == " " { text = text.dropFirst() }
            return String(text).trimmingTrailingSpaces()
        }
        while lines.first?.isEmpty == true { lines.removeFirst() }
        while lines.last?.isEmpty == true { lines.removeLast() }
        var overview: [String] = []
        var tags: [(String, [String])] = []
        for line in lines {
            if line.hasPrefix("@") {
                let name = String(line.dropFirst().prefix { !$0.isWhitespace })
                let rest = line.dropFirst(name.count + 1).drop { $0.isWhitespace }
                tags.append((name, [String(rest)]))
            } else if tags.isEmpty {
                overview.append(line)
            } else {
                tags[tags.count - 1].1.append(line)
            }
        }
        self.init(overview: overview.joined(separator: "\n").trimmingTrailingNewlines())
        for (name, textLines) in tags {
            let text = textLines.joined(separator: "\n").trimmingTrailingNewlines()
            switch name {
            case "param", "throws", "exception":
                let target = String(text.prefix { !$0.isWhitespace })
                let rest = String(text.dropFirst(target.count).drop { $0.isWhitespace })
                let tag = Tag(name: target, text: rest)
                if name == "param" { parameters.append(tag) } else { exceptions.append(tag) }
            case "return": returns = text
            case "see": seeAlso.append(text)
            case "deprecated": deprecated = text
            default: otherTags.append(Tag(name: name, text: text))
            }
        }
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " || s.last == "\t" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }

    fileprivate func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while s.last == "\n" { s = s.dropLast() }
        return String(s)
    }
}
