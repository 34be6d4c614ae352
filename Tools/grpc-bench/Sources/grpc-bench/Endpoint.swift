import Foundation

/// The host and port of an Ice-style TCP endpoint, `tcp -h HOST -p PORT`, or of a proxy
/// string, `bench:tcp -h HOST -p PORT`. This peer speaks gRPC, not Ice, but takes the Ice
/// peers' option syntax so Tools/bench.sh can start it like the others.
struct TCPEndpoint {
    enum Kind { case ipv4, ipv6, hostName }

    var host: String
    var port: Int

    /// What `host` is, which decides how gRPC is given the address.
    var kind: Kind {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return .ipv4 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return .ipv6 }
        return .hostName
    }

    /// Parses `tcp -h HOST -p PORT [-t TIMEOUT]`. `-h` defaults to 127.0.0.1: the benchmark
    /// runs on loopback only. A quoted host (`-h "::1"`) may contain colons.
    init(endpoint: String) throws {
        let words = try Self.words(endpoint)
        guard let transport = words.first, transport.lowercased() == "tcp" else {
            throw UsageError("'\(endpoint)': only a tcp endpoint is supported")
        }
        var host = "127.0.0.1"
        var port: Int?
        var rest = words.dropFirst()
        while let option = rest.popFirst() {
            guard let value = rest.popFirst() else { throw UsageError("'\(endpoint)': \(option) needs a value") }
            switch option {
            case "-h": host = value == "localhost" ? "127.0.0.1" : value
            case "-p":
                guard let number = Int(value), (1...65535).contains(number) else {
                    throw UsageError("'\(endpoint)': bad port '\(value)'")
                }
                port = number
            case "-t": break  // Ice's timeout: no counterpart here, and the Ice peers set none
            default: throw UsageError("'\(endpoint)': unsupported option \(option)")
            }
        }
        guard let port else { throw UsageError("'\(endpoint)': no port (-p)") }
        self.host = host
        self.port = port
    }

    /// Parses `IDENTITY:tcp -h HOST -p PORT`. The identity is ignored: the gRPC server has one
    /// service, found by its name. One endpoint only.
    init(proxy: String) throws {
        let parts = try Self.splitOutsideQuotes(proxy, at: ":")
        guard parts.count == 2, !parts[0].trimmingCharacters(in: .whitespaces).isEmpty else {
            throw UsageError("'\(proxy)': expected IDENTITY:tcp -h HOST -p PORT with one endpoint")
        }
        try self.init(endpoint: parts[1])
    }

    /// Whitespace-separated words; double quotes group a word and are removed.
    private static func words(_ text: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quoted = false
        for character in text {
            if character == "\"" {
                quoted.toggle()
                inWord = true
            } else if character.isWhitespace && !quoted {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        guard !quoted else { throw UsageError("'\(text)': unterminated quote") }
        if inWord { words.append(current) }
        return words
    }

    /// `text` split at every `separator` that is not inside double quotes.
    private static func splitOutsideQuotes(_ text: String, at separator: Character) throws -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        for character in text {
            if character == "\"" { quoted.toggle() }
            if character == separator && !quoted {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        guard !quoted else { throw UsageError("'\(text)': unterminated quote") }
        parts.append(current)
        return parts
    }
}

/// A bad command line: exit status 2 (BENCH.md §6).
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
