import Floe
import FloeRegistry
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `floe-registry`: a locator registry for Floe and ZeroC Ice programs. Clients and servers
/// name it with `Ice.Default.Locator=<instance>/Locator:<endpoints>`; servers whose adapters
/// have an `AdapterId` register there on activation, and clients reach `name@AdapterId`.
let usage = """
    usage: floe-registry [--endpoints ENDPOINTS] [--data-dir DIR] [--instance-name NAME] [--Ice.X=Y ...]
      --endpoints      where it listens (default: tcp -h 127.0.0.1 -p 4061)
      --data-dir       keeps registrations in DIR/registry.sqlite across restarts
                       (default: in memory only)
      --instance-name  the category of its identities (default: FloeRegistry)
      --Ice.X=Y        Ice properties, and --Ice.Config=FILE
    Properties:
      Floe.Registry.Liveness.Interval  seconds between checks that adapters answer (10; 0: none)
      Floe.Registry.Liveness.Grace     seconds of silence before lookups leave one out (30)
      Floe.Registry.AllowOverwrite     1: a server may take the adapter or server id of a live one (IceGrid's way)
      Floe.Registry.MaxEntries         adapters, objects and replica groups kept at most, each (100000)
      Floe.Registry.Admin.Access       who may use the admin interface (floe-admin): local (callers
                                       on this host, the default) or any
      Floe.Registry.Admin.TrustOnly    also admits ssl callers whose verified certificate subject
                                       this IceSSL TrustOnly list accepts, e.g. "O=Example, OU=Ops"
      Floe.Registry.Registration.Access     who may register adapters and servers: local (servers
                                            on this host, the default) or any
      Floe.Registry.Registration.TrustOnly  also admits ssl servers whose verified certificate
                                            subject this TrustOnly list accepts
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("floe-registry: error: \(message)\n\(usage)\n".utf8))
    exit(2)
}

var (properties, rest) = try Properties.parse(arguments: Array(CommandLine.arguments.dropFirst()))
var endpoints = "tcp -h 127.0.0.1 -p 4061"
var instanceName = "FloeRegistry"
var dataDirectory: String?
while let option = rest.first {
    rest.removeFirst()
    switch option {
    case "--endpoints":
        guard let value = rest.first else { fail("--endpoints needs a value") }
        endpoints = value
        rest.removeFirst()
    case "--data-dir":
        guard let value = rest.first, !value.isEmpty else { fail("--data-dir needs a directory") }
        dataDirectory = value
        rest.removeFirst()
    case "--instance-name":
        guard let value = rest.first, !value.isEmpty, !value.contains("/") else {
            fail("--instance-name needs a name without '/'")
        }
        instanceName = value
        rest.removeFirst()
    case "-h", "--help":
        print(usage)
        exit(0)
    default: fail("unknown argument '\(option)'")
    }
}

let logger = Logger(label: "floe-registry")
let communicator: Communicator
let registry: RegistryService
do {
    communicator = try Communicator(properties: properties, logger: logger)
    let interval = try properties.int("Floe.Registry.Liveness.Interval", default: 10)
    let grace = try properties.int("Floe.Registry.Liveness.Grace", default: 30)
    registry = try await RegistryService(
        communicator: communicator, instanceName: instanceName, endpoints: endpoints, dataDirectory: dataDirectory,
        liveness: interval > 0 ? Liveness(interval: .seconds(interval), grace: .seconds(max(grace, 1))) : nil,
        allowOverwrite: try properties.int("Floe.Registry.AllowOverwrite", default: 0) != 0,
        limit: max(1, try properties.int("Floe.Registry.MaxEntries", default: 100_000)),
        adminAccess: try CallerAccess(properties: properties, prefix: "Floe.Registry.Admin"),
        registrationAccess: try CallerAccess(properties: properties, prefix: "Floe.Registry.Registration"))
} catch {
    fail("\(error)")
}
// (Written straight to the descriptor: scripts that start the registry wait for it.)
FileHandle.standardOutput.write(Data("floe-registry: ready, locator is \"\(registry.locator)\"\n".utf8))
// SIGHUP loads the TLS certificates again (IceSSL.CertFile, KeyFile, CAs): new ssl
// connections use them; open ones keep theirs.
let reloader = Task {
    for await _ in await UnixSignalsSequence(trapping: .sighup) {
        do {
            try communicator.reloadTLSCertificates()
            logger.info("SIGHUP: reloaded the TLS certificates")
        } catch {
            logger.error("SIGHUP: the TLS certificates were not reloaded: \(error)")
        }
    }
}
defer { reloader.cancel() }
// (A communicator shut down otherwise, through its Process admin facet, ends the group too.)
let group = ServiceGroup(
    configuration: ServiceGroupConfiguration(
        services: [.init(service: communicator, successTerminationBehavior: .gracefullyShutdownGroup)],
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
try await group.run()
await registry.close()
print("floe-registry: stopped")
