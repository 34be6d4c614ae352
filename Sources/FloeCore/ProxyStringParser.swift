public import FloeEncoding
import FloeProtocol
import Logging

/// Parses stringified proxies and endpoints (ice-wire.md §8):
/// `category/name -f facet -t -e 1.1:tcp -h host -p 4061 -t 60000` or `name @ adapter`.
enum ProxyStringParser {
    /// `unknownEndpoint` hears each endpoint left out for a transport this runtime does not know;
    /// `defaultTimeout` is the `-t` of endpoints that give none (`Ice.Default.Timeout`).
    static func parseProxy(
        _ text: String, defaultTimeout: Int32 = 60000, unknownEndpoint: ((String) -> Void)? = nil
    ) throws -> ProxyData? {
        var tokens = try tokenize(text)
        guard let identityToken = tokens.first else { return nil }
        tokens.removeFirst()
        let identity = try parseIdentity(identityToken.text)
        if identity.name.isEmpty {
            guard identity.category.isEmpty, tokens.isEmpty else { throw error("an identity needs a name", text) }
            return nil
        }
        var data = ProxyData(identity: identity)
        while let token = tokens.first, !token.isSeparator {
            tokens.removeFirst()
            guard !token.quoted, token.text.hasPrefix("-"), token.text.count == 2 else {
                throw error("unexpected '\(token.text)'", text)
            }
            func argument() throws -> String {
                guard let next = tokens.first, !next.isSeparator, next.quoted || !next.text.hasPrefix("-") else {
                    throw error("option \(token.text) needs an argument", text)
                }
                tokens.removeFirst()
                return next.text
            }
            switch token.text {
            case "-f": data.facet = try unescape(try argument())
            case "-t": data.mode = .twoway
            case "-o": data.mode = .oneway
            case "-O": data.mode = .batchOneway
            case "-d": data.mode = .datagram
            case "-D": data.mode = .batchDatagram
            case "-s": data.secure = true
            case "-e":
                let (major, minor) = try version(try argument(), text)
                data.encodingVersion = EncodingVersion(major: major, minor: minor)
            case "-p":
                let (major, minor) = try version(try argument(), text)
                data.protocolVersion = ProtocolVersion(major: major, minor: minor)
            default: throw error("unknown option \(token.text)", text)
            }
        }
        guard let separator = tokens.first else { return data }
        tokens.removeFirst()
        if separator.text == "@" {
            guard tokens.count == 1, let adapter = tokens.first else { throw error("bad adapter id", text) }
            data.adapterId = try unescape(adapter.text)
            guard !data.adapterId.isEmpty else { throw error("empty adapter id", text) }
            return data
        }
        data.endpoints = try parseEndpointList(
            tokens, in: text, defaultTimeout: defaultTimeout, unknownEndpoint: unknownEndpoint)
        guard !data.endpoints.isEmpty else { throw error("no usable endpoint", text) }
        return data
    }

    /// An adapter's endpoint list, as in `NAME.Endpoints`: `tcp -h a -p 1:tcp -h b -p 2`. Unlike
    /// a proxy's, every endpoint must be one this runtime knows (as in ZeroC, where an adapter
    /// endpoint it cannot create is an error): dropping one would leave an adapter listening
    /// on less than it was told to, or on nothing at all.
    /// An error names the list and, given one, its `source` (the property it came from): an
    /// adapter's endpoints are configuration, not a proxy.
    static func parseEndpoints(_ text: String, source: String? = nil, defaultTimeout: Int32 = 60000) throws
        -> [EndpointData]
    {
        do {
            return try parseEndpointList(
                try tokenize(text, endpointsOnly: true), in: text, defaultTimeout: defaultTimeout,
                droppingUnknown: false)
        } catch var error as LocalError where error.code == .proxyParse {
            let proxySuffix = " in proxy '\(text)'"
            if error.message.hasSuffix(proxySuffix) { error.message.removeLast(proxySuffix.count) }
            error.message += " in endpoints '\(text)'" + (source.map { " (\($0))" } ?? "")
            throw error
        }
    }

    /// Endpoints: groups of tokens separated by ':' (quoted hosts may contain ':'). Unknown
    /// transports are dropped (a proxy's) or an error (an adapter's).
    private static func parseEndpointList(
        _ tokens: [Token], in text: String, defaultTimeout: Int32, droppingUnknown: Bool = true,
        unknownEndpoint: ((String) -> Void)? = nil
    ) throws -> [EndpointData] {
        var groups: [[Token]] = [[]]
        for token in tokens {
            if token.isSeparator && token.text == ":" {
                groups.append([])
            } else {
                groups[groups.count - 1].append(token)
            }
        }
        return try groups.compactMap { group in
            let words = group.map(\.text)
            let endpoint = try parseEndpoint(words, in: text, defaultTimeout: defaultTimeout)
            if endpoint == nil {
                guard droppingUnknown else { throw error("unknown transport '\(words.first ?? "")'", text) }
                unknownEndpoint?(words.joined(separator: " "))
            }
            return endpoint
        }
    }

    /// One endpoint: `tcp -h 127.0.0.1 -p 10000 -t 60000 -z`. Nil for transports this
    /// runtime does not know (ZeroC drops them with a warning).
    static func parseEndpoint(_ words: [String], in text: String, defaultTimeout: Int32 = 60000) throws
        -> EndpointData?
    {
        guard let transportName = words.first else { throw error("empty endpoint", text) }
        var options: [String: String] = [:]
        var flags: Set<String> = []
        var index = 1
        while index < words.count {
            let option = words[index]
            guard option.hasPrefix("-") else { throw error("unexpected '\(option)' in endpoint", text) }
            if index + 1 < words.count, !words[index + 1].hasPrefix("-") {
                options[option] = words[index + 1]
                index += 2
            } else {
                flags.insert(option)
                index += 1
            }
        }
        // As ZeroC does: an option that takes a value must have one, and a flag must not.
        let takesValue: Set<String> = ["-h", "-p", "-t", "-r", "-v", "-e", "--sourceAddress", "--interface", "--ttl"]
        if let bare = flags.intersection(takesValue).sorted().first {
            throw error("no argument provided for \(bare) option in endpoint '\(words.joined(separator: " "))'", text)
        }
        if let flag = options["-z"] {
            throw error("unexpected argument '\(flag)' provided for -z option in endpoint", text)
        }
        func number(_ option: String, default value: Int32) throws -> Int32 {
            guard let raw = options[option] else { return value }
            if raw == "infinite", option == "-t" { return -1 }
            guard let n = Int32(raw) else { throw error("invalid value '\(raw)' for \(option)", text) }
            return n
        }
        switch transportName {
        case "tcp", "ssl", "ws", "wss", "default":
            let transport: EndpointData.Transport =
                ["ssl": .ssl, "ws": .ws, "wss": .wss][transportName] ?? .tcp
            let known: Set<String> = ["-h", "-p", "-t", "-z", "-r", "--sourceAddress"]
            if let unknown = Set(options.keys).union(flags).subtracting(known).first {
                throw error("unknown option \(unknown) in \(transportName) endpoint", text)
            }
            let port = try number("-p", default: 0)
            guard (0...65535).contains(port) else { throw error("port \(port) out of range", text) }
            return .ip(
                IPEndpointData(
                    transport: transport, host: options["-h"] ?? "", port: port,
                    timeout: try number("-t", default: defaultTimeout), compress: flags.contains("-z"),
                    resource: options["-r"] ?? "/", sourceAddress: options["--sourceAddress"] ?? ""))
        case "udp":
            let port = try number("-p", default: 0)
            return .udp(UDPEndpointData(host: options["-h"] ?? "", port: port, compress: flags.contains("-z")))
        case "opaque":
            guard let type = options["-t"].flatMap(Int16.init), let value = options["-v"] else {
                throw error("opaque endpoints need -t and -v", text)
            }
            let (major, minor) = try version(options["-e"] ?? "1.0", text)
            guard let bytes = base64Decode(value) else { throw error("invalid base64 in opaque endpoint", text) }
            return .opaque(
                OpaqueEndpointData(type: type, encoding: EncodingVersion(major: major, minor: minor), bytes: bytes))
        default:
            return nil
        }
    }

    struct Token {
        var text: String
        var quoted: Bool
        /// `:` between endpoints or `@` before an adapter id.
        var isSeparator: Bool
    }

    /// Splits on whitespace, keeps quoted strings whole, and makes `:` and `@` their own tokens
    /// (`@` only before the first `:`: among endpoints it is an ordinary character, as in a ws
    /// resource ZeroC prints unquoted, `-r /chat@room`).
    /// `endpointsOnly`: `text` is an endpoint list (an adapter's), `@` ordinary throughout.
    static func tokenize(_ text: String, endpointsOnly: Bool = false) throws -> [Token] {
        var inEndpoints = endpointsOnly
        var tokens: [Token] = []
        var current = ""
        var chars = Array(text)
        chars.append(" ")
        var index = 0
        var quote: Character?
        var wasQuoted = false
        func flush() {
            if !current.isEmpty || wasQuoted {
                tokens.append(Token(text: current, quoted: wasQuoted, isSeparator: false))
            }
            current = ""
            wasQuoted = false
        }
        while index < chars.count {
            let c = chars[index]
            if let q = quote {
                if c == "\\", index + 1 < chars.count {
                    current.append(c)
                    current.append(chars[index + 1])
                    index += 2
                    continue
                }
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
                wasQuoted = true
            } else if c == " " || c == "\t" || c == "\n" || c == "\r" {
                flush()
            } else if c == ":" || (c == "@" && !inEndpoints) {
                flush()
                tokens.append(Token(text: String(c), quoted: false, isSeparator: true))
                if c == ":" { inEndpoints = true }
            } else {
                current.append(c)
                if c == "\\", index + 1 < chars.count {
                    current.append(chars[index + 1])
                    index += 1
                }
            }
            index += 1
        }
        guard quote == nil else { throw error("unterminated quote", text) }
        return tokens
    }

    /// `category/name`, with ZeroC's escapes; the first unescaped `/` separates the parts.
    static func parseIdentity(_ text: String) throws -> Identity {
        var parts: [String] = [""]
        var chars = text[...]
        while let c = chars.first {
            if c == "\\", chars.count > 1 {
                parts[parts.count - 1] += String(chars.prefix(2))
                chars = chars.dropFirst(2)
                continue
            }
            if c == "/" {
                guard parts.count == 1 else { throw error("more than one '/' in identity", text) }
                parts.append("")
            } else {
                parts[parts.count - 1].append(c)
            }
            chars = chars.dropFirst()
        }
        let unescaped = try parts.map(unescape)
        return unescaped.count == 2
            ? Identity(name: unescaped[1], category: unescaped[0]) : Identity(name: unescaped[0])
    }

    /// Resolves the escapes of §8.2 into UTF-8.
    static func unescape(_ text: String) throws -> String {
        var bytes: [UInt8] = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func hexDigits(_ count: Int, exact: Bool) throws -> UInt32 {
            var value: UInt32 = 0
            var taken = 0
            while taken < count, index < scalars.count, let d = Int(String(scalars[index]), radix: 16) {
                value = value * 16 + UInt32(d)
                index += 1
                taken += 1
            }
            if taken == 0 || (exact && taken != count) { throw error("bad escape", text) }
            return value
        }
        while index < scalars.count {
            let c = scalars[index]
            index += 1
            guard c == "\\", index < scalars.count else {
                if c.value < 32 || c.value == 127 { throw error("control character in '\(text)'", text) }
                bytes += Array(String(c).utf8)
                continue
            }
            let e = scalars[index]
            index += 1
            switch e {
            case "\\", "'", "\"", "?", "/": bytes += Array(String(e).utf8)
            case "a": bytes.append(7)
            case "b": bytes.append(8)
            case "f": bytes.append(12)
            case "n": bytes.append(10)
            case "r": bytes.append(13)
            case "t": bytes.append(9)
            case "v": bytes.append(11)
            case "u", "U":
                let code = try hexDigits(e == "u" ? 4 : 8, exact: true)
                guard let scalar = Unicode.Scalar(code) else { throw error("bad code point", text) }
                bytes += Array(String(scalar).utf8)
            case "x": bytes.append(UInt8(try hexDigits(2, exact: false)))
            case "0"..."7":
                var value = e.value - 48
                var taken = 1
                while taken < 3, index < scalars.count, ("0"..."7").contains(scalars[index]) {
                    value = value * 8 + scalars[index].value - 48
                    index += 1
                    taken += 1
                }
                guard value <= 255 else { throw error("octal escape out of range", text) }
                bytes.append(UInt8(value))
            default:
                bytes += Array("\\\(e)".utf8)
            }
        }
        guard let result = String(validating: bytes, as: UTF8.self) else { throw error("invalid UTF-8", text) }
        return result
    }

    private static func version(_ text: String, _ whole: String) throws -> (UInt8, UInt8) {
        let parts = text.split(separator: ".")
        guard parts.count == 2, let major = UInt8(parts[0]), let minor = UInt8(parts[1]) else {
            throw error("invalid version '\(text)'", whole)
        }
        return (major, minor)
    }

    static func base64Decode(_ text: String) -> [UInt8]? {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var table = [UInt8](repeating: 255, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        var bytes: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for c in text.utf8 where c != UInt8(ascii: "=") {
            let v = table[Int(c)]
            guard v != 255 else { return nil }
            buffer = buffer << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return bytes
    }

    private static func error(_ message: String, _ text: String) -> LocalError {
        LocalError(.proxyParse, "\(message) in proxy '\(text)'")
    }
}

extension Communicator {
    /// An identity from its string form, `category/name` with ZeroC's escapes.
    public func stringToIdentity(_ text: String) throws -> Identity { try ProxyStringParser.parseIdentity(text) }

    /// The string form of an identity, as proxy strings write it.
    public func identityToString(_ identity: Identity) -> String { ProxyStringFormatter.identityString(identity) }

    /// A proxy from its string form; nil for the null proxy (empty string).
    public func stringToProxy(_ text: String) throws -> (any ObjectPrx)? {
        try parseProxy(text).map {
            ObjectPrxI(_reference: ProxyReference(communicator: self, data: withDefaultHost($0)))
        }
    }

    /// Parses a proxy string, warning as ZeroC does about endpoints of transports Floe does not
    /// know (Bluetooth, iAP…), which are left out.
    func parseProxy(_ text: String) throws -> ProxyData? {
        try ProxyStringParser.parseProxy(text, defaultTimeout: defaultEndpointTimeout) { endpoint in
            self.logger.warning(
                "proxy '\(text)' has an endpoint of a transport Floe does not know, left out: '\(endpoint)'")
        }
    }
}

/// A typed proxy from its string form, without asking the object (ZeroC 3.8's `makeProxy`).
public func makeProxy<P: ObjectPrx>(communicator: Communicator, proxyString: String, as type: P.Type) throws -> P {
    guard let data = try communicator.parseProxy(proxyString) else {
        throw LocalError(.proxyParse, "'\(proxyString)' is the null proxy")
    }
    return P(_reference: ProxyReference(communicator: communicator, data: communicator.withDefaultHost(data)))
}
