public import FloeEncoding
import FloeProtocol
import Foundation
public import Logging

/// Ice-style configuration: `Name=Value` pairs from config files (`--Ice.Config=FILE`) and
/// `--Name=Value` command-line options, later ones overriding earlier ones.
public struct Properties: Sendable, Hashable {
    private var values: [String: String] = [:]

    public init() {}

    /// Properties from command-line arguments: `--Ice.Config=a.cfg,b.cfg` files are read
    /// first (without that option, the files the `ICE_CONFIG` environment variable lists, as
    /// in Ice; `environment` is the process's unless given), then every `--Prefix.Name=Value`
    /// option whose prefix is one of `prefixes` overrides them. Returns the properties and the
    /// arguments that were not consumed.
    public static func parse(
        arguments: [String], prefixes: [String] = ["Ice", "IceSSL", "Floe"],
        environment: [String: String]? = nil
    ) throws -> (Properties, remaining: [String]) {
        var properties = Properties()
        let environment = environment ?? ProcessInfo.processInfo.environment
        if let files = environment["ICE_CONFIG"], !arguments.contains(where: { $0.hasPrefix("--Ice.Config=") }) {
            for file in files.split(separator: ",") { try properties.load(contentsOf: String(file)) }
        }
        var remaining: [String] = []
        var overrides: [(String, String)] = []
        for argument in arguments {
            // `--Ice.Trace.Network` alone sets it to 1, as in Ice.
            let body = String(argument.dropFirst(2))
            guard argument.hasPrefix("--"), let (name, value) = split(body) ?? (body.contains("=") ? nil : (body, "1")),
                prefixes.contains(where: { name.hasPrefix($0 + ".") })
            else {
                remaining.append(argument)
                continue
            }
            if name == "Ice.Config" {
                // `--Ice.Config` alone (1) means ICE_CONFIG's files, as in Ice: read above.
                guard value != "1" else { continue }
                for file in value.split(separator: ",") { try properties.load(contentsOf: String(file)) }
            } else {
                overrides.append((name, value))
            }
        }
        for (name, value) in overrides { properties[name] = value }
        return (properties, remaining)
    }

    /// The `Ice.*` and `IceSSL.*` properties a communicator reads (`Communicator(properties:)`).
    static let iceNames = Set<String>([
        "Ice.Config", "Ice.Warn.UnknownProperties", "Ice.MessageSizeMax", "Ice.Default.InvocationTimeout",
        "Ice.RetryIntervals", "Ice.ClassGraphDepthMax", "Ice.ACM.Timeout", "Ice.Connection.IdleTimeout",
        "Ice.ACM.Close", "Ice.ACM.Client.Close", "Ice.ACM.Server.Close",
        "Ice.ACM.Client.Timeout", "Ice.ACM.Server.Timeout", "Ice.Connection.Client.IdleTimeout",
        "Ice.Connection.Server.IdleTimeout", "Ice.ACM.Heartbeat", "Ice.ACM.Client.Heartbeat",
        "Ice.ACM.Server.Heartbeat", "Ice.Override.ConnectTimeout",
        "Ice.Connection.MaxDispatches", "Ice.Default.EndpointSelection", "Ice.Default.PreferSecure",
        "Ice.Trace.Network", "Ice.Trace.Protocol",
        "Ice.Connection.CloseTimeout", "Ice.Connection.InactivityTimeout", "Ice.Default.Locator", "Ice.Default.Host",
        "Ice.Connection.Client.ConnectTimeout", "Ice.Connection.Server.MaxDispatches",
        "Ice.Connection.Server.CloseTimeout", "Ice.Connection.Client.CloseTimeout",
        "Ice.Connection.Server.InactivityTimeout",
        "Ice.Default.Router", "Ice.Default.Timeout",
        "Ice.Default.SourceAddress", "Ice.PrintAdapterReady",
        "Ice.ImplicitContext", "Ice.TCP.Backlog",
        "Ice.Default.LocatorCacheTimeout", "Ice.BackgroundLocatorCacheUpdates", "Ice.Admin.ServerId",
        "Ice.Admin.Endpoints", "Ice.Admin.InstanceName", "Ice.Compression.Level", "Ice.Override.Compress",
        "Ice.Warn.Dispatch", "Ice.Warn.Connections", "Ice.Admin.Enabled", "Ice.Admin.Facets",
        "Ice.StdOut", "Ice.StdErr", "Ice.ProgramName",
        // ZeroC loads its ssl transport as a plugin; Floe has it built in, so the line Ice
        // configurations carry for it is expected, and means nothing more.
        "Ice.Plugin.IceSSL",
    ])
    // The admin adapter's own properties (`Ice.Admin` is an object adapter's name).
    .union(
        ["AdapterId", "Locator", "MaxConnections", "PublishedEndpoints", "ReplicaGroupId", "Router"].map {
            "Ice.Admin." + $0
        }
    )
    // The ssl transport's (`TLSSettings`).
    .union(
        [
            "DefaultDir", "CertFile", "KeyFile", "Password", "CAs", "UsePlatformCAs", "VerifyPeer", "CheckCertName",
            "VerifyDepthMax", "Protocols", "Ciphers", "TrustOnly", "TrustOnly.Client", "TrustOnly.Server",
        ].map { "IceSSL." + $0 })

    /// Why Floe has no use for some properties common in Ice configurations, by name prefix:
    /// said in the warning instead of "does not read it", which reads like a typo's.
    static func whyIgnored(_ name: String) -> String? {
        if name.hasPrefix("Ice.ThreadPool.") {
            return
                "Floe has no thread pools; dispatches run as Swift tasks on NIO's event loops, bounded by Ice.Connection.MaxDispatches and Floe.MaxDispatches"
        }
        if name == "Ice.Override.Timeout" {
            return
                "Floe has no endpoint timeout for reads and writes; Ice.Override.ConnectTimeout bounds connecting, Ice.Default.InvocationTimeout a call and Floe.Connection.WriteStallTimeout a peer that stops reading"
        }
        if name.hasPrefix("Ice.Plugin.") { return "Floe loads no plugins; its transports (tcp, ssl) are built in" }
        if name == "Ice.LogFile" || name == "Ice.UseSyslog" {
            return
                "Floe logs through swift-log: bootstrap a backend that writes where you want, or set Ice.StdErr to send the default one's output to a file"
        }
        return nil
    }

    /// The `Ice.*` and `IceSSL.*` properties set here that a communicator does not read, sorted.
    public var unknownIceProperties: [String] {
        values.keys.filter { ($0.hasPrefix("Ice.") || $0.hasPrefix("IceSSL.")) && !Self.iceNames.contains($0) }.sorted()
    }

    public subscript(name: String) -> String? {
        get { values[name] }
        set { values[name] = newValue?.isEmpty == true ? nil : newValue }
    }

    public func string(_ name: String, default value: String = "") -> String { values[name] ?? value }

    /// An integer property; a value that is not an integer is an error, not silently the default.
    public func int(_ name: String, default value: Int) throws -> Int {
        guard let text = values[name] else { return value }
        guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw LocalError(.invalidArgument, "property \(name) is not an integer: '\(text)'")
        }
        return number
    }

    /// A whitespace- or comma-separated list of integers (`Ice.RetryIntervals=0 100 500`).
    public func ints(_ name: String, default value: [Int]) throws -> [Int] {
        guard let text = values[name] else { return value }
        return try text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map { word in
            guard let n = Int(word) else {
                throw LocalError(.invalidArgument, "property \(name) is not a list of integers: '\(text)'")
            }
            return n
        }
    }

    /// Every property whose name starts with `prefix`.
    public func withPrefix(_ prefix: String) -> [String: String] { values.filter { $0.key.hasPrefix(prefix) } }

    /// Reads a config file: `Name = Value` lines, `#` comments, `\` escapes for `#`, `=`, `\`
    /// and spaces to keep at either end of a value, as ZeroC reads its property files.
    public mutating func load(contentsOf path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LocalError(.invalidArgument, "cannot read config file '\(path)'")
        }
        try load(text: text, origin: path)
    }

    public mutating func load(text: String, origin: String = "<text>") throws {
        // A file written on Windows ends its lines with "\r\n", one Character, not "\n".
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (index, line) in lines.enumerated() {
            switch Self.configLine(line) {
            case .blank: continue
            case .property(let name, let value): self[name] = value
            case .invalid: throw LocalError(.invalidArgument, "\(origin):\(index + 1): expected Name=Value")
            }
        }
    }

    private enum ConfigLine {
        case blank
        case property(String, String)
        case invalid
    }

    /// One line of a config file, read as ZeroC's properties read it. Blanks around the name and
    /// the value are dropped, those inside kept; `\#`, `\=` and `\\` are the characters
    /// themselves; `\ ` is a space that is kept even at either end of the value; any other
    /// backslash stays as it is.
    private static func configLine(_ line: Substring) -> ConfigLine {
        var name = ""
        var value = ""
        var inValue = false
        var blanks = ""  // since the last character kept: dropped at either end, kept inside
        var escapedSpaces = ""  // the `\ ` among them, kept at either end of a value
        func keep(_ text: String) {
            if inValue {
                value += value.isEmpty ? escapedSpaces : blanks
                value += text
            } else {
                name += blanks + text
            }
            blanks = ""
            escapedSpaces = ""
        }
        var characters = line.makeIterator()
        scan: while let c = characters.next() {
            switch c {
            case "\\":
                guard let next = characters.next() else {
                    keep("\\")
                    break scan
                }
                switch next {
                case "\\", "#", "=": keep(String(next))
                case " ":
                    if inValue {
                        blanks.append(" ")
                        escapedSpaces.append(" ")
                    } else if !name.isEmpty {
                        blanks.append(" ")
                    }
                default: keep("\\" + String(next))
                }
            case " ", "\t", "\r":
                if !(inValue ? value : name).isEmpty { blanks.append(c) }
            case "=" where !inValue:
                inValue = true
                blanks = ""
            case "#":
                break scan
            default:
                keep(String(c))
            }
        }
        if inValue { value += escapedSpaces }
        if name.isEmpty { return inValue ? .invalid : .blank }
        return inValue ? .property(name, value) : .invalid
    }

    /// `--Name=Value` without its dashes.
    private static func split(_ text: String) -> (String, String)? {
        guard let index = text.firstIndex(of: "=") else { return nil }
        let name = text[..<index].trimmingCharacters(in: .whitespaces)
        let value = text[text.index(after: index)...].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return nil }
        return (name, value)
    }
}

extension Communicator {
    /// A communicator configured by Ice properties: `Ice.MessageSizeMax` (KiB; < 1 means no
    /// limit), `Ice.Default.InvocationTimeout` (ms), `Ice.RetryIntervals` (ms list, `-1` for no
    /// retries), `Ice.ClassGraphDepthMax`, and the connection properties of `ConnectionOptions`.
    ///
    /// Like ZeroC (`Ice.Warn.UnknownProperties`, on by default), it warns through `logger` about
    /// every `Ice.*` property it does not read: a misspelt name, or a feature Floe lacks.
    /// `observability` overrides what `Floe.Metrics` and `Floe.Tracing` say.
    public convenience init(
        properties: Properties, sliceLoader: any SliceLoader = SliceRegistry(), transport: (any Transport)? = nil,
        logger: Logger = Logger(label: "floe"), interceptors: [any ClientInterceptor] = [],
        observability: Observability? = nil
    ) throws {
        try StandardStreams.redirect(properties)
        let logger = try properties.configuring(logger)
        if try properties.int("Ice.Warn.UnknownProperties", default: 1) > 0 {
            for name in properties.unknownIceProperties {
                if let reason = Properties.whyIgnored(name) {
                    logger.warning("property \(name) has no effect: \(reason)")
                } else {
                    logger.warning("unknown property \(name): Floe does not read it")
                }
            }
        }
        let sizeKiB = try properties.int("Ice.MessageSizeMax", default: 1024)
        let endpointTimeout = try properties.int("Ice.Default.Timeout", default: 60000)
        guard endpointTimeout > 0 || endpointTimeout == -1 else {
            throw LocalError(
                .invalidArgument, "Ice.Default.Timeout must be -1 (infinite) or more than 0 ms, not \(endpointTimeout)")
        }
        for name in ["Ice.Default.LocatorCacheTimeout", "Ice.BackgroundLocatorCacheUpdates", "Ice.PrintAdapterReady"] {
            _ = try properties.int(name, default: 0)  // (read where they apply, which cannot throw)
        }
        for name in ["Ice.Default.Locator", "Ice.Default.Router"] {
            if let proxy = properties[name] { _ = try ProxyStringParser.parseProxy(proxy) }
        }
        // As in Ice: a leading -1 turns retries off (whatever follows), other negatives are 0.
        let listed = try properties.ints("Ice.RetryIntervals", default: [0])
        let retries = listed.first == -1 ? [] : listed.map { max($0, 0) }
        let depthMax = try properties.int("Ice.ClassGraphDepthMax", default: 100)
        guard depthMax >= 1 else {
            throw LocalError(
                .invalidArgument,
                "Ice.ClassGraphDepthMax must be 1 or more, not \(depthMax): Floe always bounds how deeply a peer's class graph nests (in ZeroC, 0 means no limit)"
            )
        }
        switch properties["Ice.ImplicitContext"] ?? "None" {
        case "None", "", "Shared": break
        case let kind:
            throw LocalError(
                .invalidArgument,
                "Ice.ImplicitContext=\(kind): Floe has Shared (one context for all tasks) or None; a thread's context means nothing to Swift tasks, which move between threads"
            )
        }
        self.init(
            sliceLoader: sliceLoader, transport: transport,
            messageSizeMax: sizeKiB < 1 ? Int(Int32.max) : min(sizeKiB, Int(Int32.max) / 1024) * 1024,
            classGraphDepthMax: depthMax,
            defaultInvocationTimeout: try properties.int("Ice.Default.InvocationTimeout", default: -1),
            retryIntervals: retries,
            connectionOptions: try ConnectionOptions(properties: properties), properties: properties, logger: logger,
            interceptors: interceptors, observability: try observability ?? Observability(properties: properties))
    }
}

extension Properties {
    /// `logger` at the level `Floe.Log.Level` names (`trace`, `debug`, `info`, `notice`,
    /// `warning`, `error`, `critical`), else as it is. A communicator's logger, and its
    /// transport's, are configured so.
    ///
    /// `Ice.ProgramName` (which IceGrid nodes set to the server's id) becomes the `program`
    /// metadata of every line, as ZeroC prefixes its log lines with it.
    public func configuring(_ logger: Logger) throws -> Logger {
        var logger = logger
        if let program = self["Ice.ProgramName"], !program.isEmpty { logger[metadataKey: "program"] = "\(program)" }
        guard let name = self["Floe.Log.Level"] else { return logger }
        guard let level = Logger.Level(rawValue: name.lowercased()) else {
            throw LocalError(
                .invalidArgument,
                "Floe.Log.Level must be trace, debug, info, notice, warning, error or critical, not '\(name)'")
        }
        logger.logLevel = level
        return logger
    }
}
