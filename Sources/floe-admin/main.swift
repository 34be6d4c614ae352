import ArgumentParser
import Floe
import FloeRegistry
import Foundation
import Logging

/// `floe-admin`: reads and changes what a floe-registry knows, through its admin interface
/// (`<instance>/Admin` next to its locator). Tables by default, `--json` for scripts; an error
/// is one line on standard error and exit status 1.
@main
struct FloeAdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "floe-admin", abstract: "Administers a floe-registry.",
        discussion: """
            Ice properties go anywhere on the command line, as with ZeroC's tools: --Ice.Config=FILE, \
            --Ice.X=Y, and --IceSSL.X=Y for a registry on ssl (IceSSL.CertFile, IceSSL.KeyFile, \
            IceSSL.CAs, ...).
            """,
        subcommands: [ObjectCommand.self, AdapterCommand.self, ReplicaGroupCommand.self, ServerCommand.self, Ping.self])

    /// Takes the Ice properties out before the subcommands' options are parsed.
    static func main() async {
        do {
            let (_, rest) = try commandLineProperties.get()
            var command = try parseAsRoot(rest)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// The properties of the command line in Floe's and ZeroC's namespaces (and the files of
/// `--Ice.Config` or `ICE_CONFIG`), and the arguments left for the subcommands.
let commandLineProperties = Result<(Properties, [String]), any Error> {
    try Properties.parse(arguments: Array(CommandLine.arguments.dropFirst()))
}

struct GlobalOptions: ParsableArguments {
    @Option(
        help:
            "The registry's locator proxy, e.g. 'FloeRegistry/Locator:tcp -h 127.0.0.1 -p 4061' (default: Ice.Default.Locator, from --Ice.Config or --Ice.Default.Locator=…)."
    )
    var locator: String?
    @Flag(help: "Prints JSON instead of a table.") var json = false

    /// Runs `body` with the registry's admin proxy; any failure is one line and exit status 1.
    func withAdmin(_ body: (any AdminPrx) async throws -> Void) async throws {
        let communicator: Communicator
        do {
            var properties = try commandLineProperties.get().0
            // A registry's listings grow with it: 60,000 adapters are a 3.4 MB reply, past Ice's
            // 1 MiB default. The admin trusts the registry it names.
            if properties["Ice.MessageSizeMax"] == nil { properties["Ice.MessageSizeMax"] = "102400" }
            let logger = try properties.configuring(Logger(label: "floe-admin"))
            // A failure is one line (below), not also the connection's warnings; warnings about
            // the properties themselves (a misspelt IceSSL one) still show.
            var transportLogger = logger
            if properties["Floe.Log.Level"] == nil { transportLogger.logLevel = .error }
            communicator = try Communicator(
                properties: properties, sliceLoader: SliceRegistry(), transport: NIOTransport(logger: transportLogger),
                logger: logger)
        } catch {
            fail("\(error)")
        }
        do {
            // As ZeroC's tools take their registry from the configuration.
            // (An empty property is an unset one, as in Ice.)
            let configured = communicator.properties["Ice.Default.Locator"].flatMap { $0.isEmpty ? nil : $0 }
            guard let locator = locator ?? configured, let locatorProxy = try communicator.stringToProxy(locator)
            else {
                await communicator.destroy()
                fail("no registry given: --locator PROXY, or Ice.Default.Locator (--Ice.Config=FILE)")
            }
            let instance = locatorProxy.ice_getIdentity().category
            let admin = uncheckedCast(
                prx: locatorProxy.ice_identity(Identity(name: "Admin", category: instance)), type: (any AdminPrx).self)
            try await body(admin)
            await communicator.destroy()
        } catch let error as AdminError {
            await communicator.destroy()
            fail(error.reason)
        } catch let error as ValidationError {
            await communicator.destroy()
            throw error
        } catch {
            await communicator.destroy()
            fail("\(error)")
        }
    }

    func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("floe-admin: error: \(message)\n".utf8))
        Foundation.exit(1)
    }

    /// Prints rows as a table with these column names, or as JSON objects.
    func print(_ columns: [String], _ rows: [[String]]) {
        if json {
            let objects = rows.map { Dictionary(uniqueKeysWithValues: zip(columns, $0)) }
            let data =
                (try? JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])) ?? Data()
            Swift.print(String(decoding: data, as: UTF8.self))
            return
        }
        let widths = columns.indices.map { column in
            ([columns[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        Swift.print(line(columns.map { $0.uppercased() }))
        for row in rows { Swift.print(line(row)) }
    }
}

/// `KEY=VALUE` tag options.
func parseTags(_ tags: [String]) throws -> [String: String] {
    var parsed: [String: String] = [:]
    for tag in tags {
        guard let equals = tag.firstIndex(of: "="), equals != tag.startIndex else {
            throw ValidationError("a tag is KEY=VALUE, not '\(tag)'")
        }
        parsed[String(tag[..<equals])] = String(tag[tag.index(after: equals)...])
    }
    return parsed
}

func describe(_ tags: [String: String]) -> String {
    tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
}

func objectRows(_ objects: ObjectInfoSeq) -> [[String]] {
    objects.map { [$0.proxy?.ice_getIdentity().name ?? "", $0.type, describe($0.tags), $0.proxy?.description ?? ""] }
}

struct ObjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "object", abstract: "Well-known objects.",
        subcommands: [List.self, Add.self, Remove.self, Find.self])

    struct List: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await global.withAdmin { admin in
                global.print(["name", "type", "tags", "proxy"], objectRows(try await admin.getObjects()))
            }
        }
    }

    struct Add: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The object's proxy, e.g. 'greeter@GreeterAdapter'.") var proxy: String
        @Option(help: "Its type id.") var type = "::Ice::Object"
        @Option(name: .customLong("tag"), help: "A tag KEY=VALUE (repeatable).") var tags: [String] = []
        func run() async throws {
            let tags = try parseTags(tags)
            try await global.withAdmin { admin in
                guard let object = try admin.ice_getCommunicator().stringToProxy(proxy) else {
                    throw AdminError(reason: "'\(proxy)' is the null proxy")
                }
                try await admin.addObject(ObjectInfo(proxy: object, type: type, tags: tags))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The object's identity.") var identity: String
        func run() async throws {
            try await global.withAdmin { admin in
                try await admin.removeObject(try admin.ice_getCommunicator().stringToIdentity(identity))
            }
        }
    }

    struct Find: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        @Option(help: "A type id.") var type: String?
        @Option(name: .customLong("tag"), help: "A tag KEY=VALUE every match has (repeatable).") var tags: [String] = []
        func validate() throws {
            guard type != nil || !tags.isEmpty else { throw ValidationError("give --type or at least one --tag") }
        }
        func run() async throws {
            let tags = try parseTags(tags)
            try await global.withAdmin { admin in
                var found = try await (type == nil ? admin.getObjects() : admin.findObjectsByType(type ?? ""))
                if !tags.isEmpty {
                    let tagged = Set(try await admin.findObjectsByTags(tags).compactMap { $0.proxy?.description })
                    found = found.filter { tagged.contains($0.proxy?.description ?? "") }
                }
                global.print(["name", "type", "tags", "proxy"], objectRows(found))
            }
        }
    }
}

struct AdapterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapter", abstract: "Registered object adapters.", subcommands: [List.self, Remove.self])

    struct List: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await global.withAdmin { admin in
                let rows = try await admin.getAdapters().map {
                    [$0.id, $0.replicaGroupId, $0.live ? "yes" : "no", $0.proxy?.description ?? ""]
                }
                global.print(["id", "replica-group", "live", "proxy"], rows)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The adapter id.") var id: String
        func run() async throws { try await global.withAdmin { try await $0.removeAdapter(id) } }
    }
}

struct ReplicaGroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replica-group", abstract: "Replica groups and their policies.",
        subcommands: [List.self, SetPolicy.self])

    struct List: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await global.withAdmin { admin in
                let rows = try await admin.getReplicaGroups().map {
                    [
                        $0.id, $0.policy, $0.replicas == 0 ? "all" : String($0.replicas),
                        $0.members.joined(separator: ","),
                    ]
                }
                global.print(["id", "policy", "replicas", "members"], rows)
            }
        }
    }

    struct SetPolicy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-policy")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The replica group id.") var id: String
        @Argument(help: "random, ordered or round-robin.") var policy: String
        @Option(help: "How many members a lookup returns (0: all).") var replicas: Int32 = 0
        func run() async throws {
            try await global.withAdmin {
                try await $0.setReplicaGroupPolicy(id: id, policy: policy, replicas: replicas)
            }
        }
    }
}

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Servers that registered a Process proxy.",
        subcommands: [List.self, Stop.self])

    struct List: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await global.withAdmin { admin in
                let rows = try await admin.getServers().map { [$0.id, $0.process?.description ?? ""] }
                global.print(["id", "process"], rows)
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The server id (its Ice.Admin.ServerId).") var id: String
        func run() async throws { try await global.withAdmin { try await $0.stopServer(id) } }
    }
}

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Checks that the registry answers.")
    @OptionGroup var global: GlobalOptions
    func run() async throws {
        try await global.withAdmin { admin in
            let start = ContinuousClock.now
            try await admin.ice_ping()
            print("floe-admin: the registry answered in \(ContinuousClock.now - start)")
        }
    }
}
