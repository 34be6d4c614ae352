public import FloeEncoding
import FloeProtocol
import Foundation
public import Logging

/// Ice-style configuration: `Name=Value` pairs from config files (`--Ice.Config=FILE`) and
/// `--Name=Value` command-line options, later ones overriding earlier ones.
public struct Properties: Sendable, Hashable {
    private var values: [String: String] = [:]

    public init() {}

    /// The namespaces whose `--Prefix.Name=Value` options `parse(arguments:)` takes by default:
    /// Floe's, and those ZeroC reserves for itself and its services (IceGrid, Glacier2, IceMX…),
    /// as ZeroC's communicators take them. An application adds its own to these.
    public static let reservedPrefixes = [
        "Floe", "Ice", "IceSSL", "IceMX", "IceDiscovery", "IceLocatorDiscovery", "IceBox", "IceBoxAdmin",
        "IceBridge", "IceGrid", "IceGridAdmin", "IcePatch2", "IcePatch2Client", "IceStormAdmin", "IceBT",
        "Glacier2", "Glacier2CryptPermissionsVerifier", "Freeze",
    ]

    /// Properties from command-line arguments: the config files the last `--Ice.Config=a.cfg,b.cfg`
    /// names are read first (without that option, or with `--Ice.Config` alone, the files the
    /// `ICE_CONFIG` environment variable lists, as in Ice; `environment` is the process's unless
    /// given), then every `--Prefix.Name=Value` option whose prefix is one of `prefixes`
    /// overrides them. Values are read as config-file lines are (`#` starts a comment, `\#` and
    /// `\\` escape), and `--Name` alone is `--Name=1`. Returns the properties and the arguments
    /// that were not consumed. Add an application's prefixes to the reserved ones:
    /// `prefixes: Properties.reservedPrefixes + ["App"]`.
    public static func parse(
        arguments: [String], prefixes: [String] = reservedPrefixes, environment: [String: String]? = nil
    ) throws -> (Properties, remaining: [String]) {
        var remaining: [String] = []
        var overrides: [(String, String)] = []
        var configFiles: String?
        for argument in arguments {
            guard argument.hasPrefix("--"), prefixes.contains(where: { argument.dropFirst(2).hasPrefix($0 + ".") }),
                case .property(let name, let value) = configLine(Substring(option(argument)))
            else {
                remaining.append(argument)
                continue
            }
            if name == "Ice.Config" {
                configFiles = value  // only the last counts, as in Ice
            } else {
                overrides.append((name, value))
            }
        }
        var properties = Properties()
        // `--Ice.Config` alone (1) or empty means ICE_CONFIG's files, as in Ice.
        if configFiles == nil || configFiles == "1" || configFiles == "" {
            let listed = (environment ?? ProcessInfo.processInfo.environment)["ICE_CONFIG"]
            if configFiles == "1", listed == nil {
                throw LocalError(.invalidArgument, "--Ice.Config names no file, and ICE_CONFIG is not set")
            }
            configFiles = listed
        }
        if let list = configFiles {
            let files = fileList(list)
            for file in files { try properties.load(contentsOf: file) }
            if !files.isEmpty { properties["Ice.Config"] = list }  // (as given, as in Ice)
        }
        for (name, value) in overrides { properties[name] = value }
        return (properties, remaining)
    }

    /// `--Name=Value` as a config-file line; `--Name` alone is `Name=1`.
    private static func option(_ argument: String) -> String {
        let body = String(argument.dropFirst(2))
        return body.contains("=") ? body : body + "=1"
    }

    /// The files a comma-separated list names (`Ice.Config`, `ICE_CONFIG`), each trimmed; a
    /// name in double or single quotes may hold commas.
    static func fileList(_ list: String) -> [String] {
        var files: [String] = []
        var current = ""
        var quote: Character?
        for c in list {
            if let open = quote {
                if c == open { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "," {
                files.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        files.append(current)
        return files.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The `Ice.*` and `IceSSL.*` properties a communicator reads (`Communicator(properties:)`).
    static let iceNames = Set<String>([
        "Ice.Config", "Ice.Warn.UnknownProperties", "Ice.BatchAutoFlushSize", "Ice.MessageSizeMax",
        "Ice.Default.InvocationTimeout",
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

    /// The `Floe.*` properties Floe's communicators and programs read.
    static let floeNames = Set<String>([
        "Floe.Log.Level", "Floe.Metrics", "Floe.Tracing", "Floe.Compression.Codec", "Floe.MaxDispatches",
        "Floe.Connection.DispatchStallWarning", "Floe.Connection.MaxQueuedBytes",
        "Floe.Connection.WriteStallTimeout", "Floe.Dispatch.ErrorDetails", "Floe.Warn.PerSecond",
        "Floe.EventLoopExecutor",  // (floe-bench's: 0 keeps Swift's global executor, for comparison)
        // floe-registry's (FloeRegistry)
        "Floe.Registry.AllowOverwrite", "Floe.Registry.Liveness.Grace", "Floe.Registry.Liveness.Interval",
        "Floe.Registry.MaxEntries", "Floe.Registry.Admin.Access", "Floe.Registry.Admin.TrustOnly",
        "Floe.Registry.Registration.Access", "Floe.Registry.Registration.TrustOnly",
    ])

    /// The settings of the proxies Ice properties hold (`Ice.Default.Locator.InvocationTimeout`),
    /// checked by `propertyToProxy` where they are read: a misspelt one is an error there.
    static func isProxySetting(_ name: String) -> Bool {
        ["Ice.Default.Locator.", "Ice.Default.Router.", "Ice.Admin.Locator."].contains {
            name.hasPrefix($0)
        }
    }

    /// Why Floe has no use for some properties common in Ice configurations, by name prefix:
    /// said in the warning instead of "does not read it", which reads like a typo's.
    static func whyIgnored(_ name: String) -> String? {
        if name.hasPrefix("IceMX.") {
            return "Floe's metrics go through swift-metrics (Floe.Metrics=1) to the backend the program bootstraps"
        }
        let namespace = name.prefix { $0 != "." }
        if !["Ice", "IceSSL", "Floe"].contains(namespace) {
            return "it configures ZeroC's \(namespace), which a Floe program does not run"
        }
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

    /// The properties set here in Floe's and ZeroC's namespaces (`reservedPrefixes`) that a
    /// communicator does not read, sorted.
    public var unknownIceProperties: [String] {
        values.keys.filter { name in
            Self.reservedPrefixes.contains { name.hasPrefix($0 + ".") } && !Self.iceNames.contains(name)
                && !Self.floeNames.contains(name) && !Self.isProxySetting(name)
        }.sorted()
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
    /// A file that is not UTF-8 is read as Latin-1 (ZeroC takes its bytes as they are).
    public mutating func load(contentsOf path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            var isFolder: ObjCBool = false
            let reason =
                !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
                ? "no such file" : isFolder.boolValue ? "a folder, not a file" : "\(error.localizedDescription)"
            throw LocalError(.invalidArgument, "cannot read config file '\(path)': \(reason)")
        }
        // (Latin-1 without a UTF-8 byte-order mark: such a file is UTF-8 with a bad byte.)
        let text =
            String(data: data, encoding: .utf8)
            ?? String(data: data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data, encoding: .isoLatin1)
            ?? String(decoding: data, as: UTF8.self)
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

}

extension Communicator {
    /// A communicator configured by Ice properties: `Ice.MessageSizeMax` (KiB; < 1 means no
    /// limit), `Ice.Default.InvocationTimeout` (ms), `Ice.RetryIntervals` (ms list, `-1` for no
    /// retries), `Ice.ClassGraphDepthMax`, and the connection properties of `ConnectionOptions`.
    ///
    /// Like ZeroC (`Ice.Warn.UnknownProperties`, on by default), it warns through `logger` about
    /// every property in Floe's and ZeroC's namespaces it does not read: a misspelt name, or a
    /// feature Floe lacks.
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
                    let guess = name.hasPrefix("Floe.") ? "misspelt?" : "misspelt, or a ZeroC setting Floe lacks"
                    logger.warning("unknown property \(name): Floe does not read it (\(guess))")
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
        if observability == nil { try Observability.warnIfUnbootstrapped(properties, logger) }
        // (Their settings too: a misspelt one is an error.)
        _ = try propertyToProxy("Ice.Default.Locator")
        _ = try propertyToProxy("Ice.Default.Router")
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
