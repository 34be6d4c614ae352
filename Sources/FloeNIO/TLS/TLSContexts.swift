import FloeCore
import NIOConcurrencyHelpers
import NIOSSL

/// A transport's TLS contexts, built at the first ssl endpoint (from the settings given, else
/// from the IceSSL properties the communicator was created with) and replaced by `reload`: connections opened
/// after a reload use the new certificates; open ones keep theirs.
final class TLSContexts: Sendable {
    struct Built: Sendable {
        let settings: TLSSettings
        let server: NIOSSLContext?
        let client: NIOSSLContext
        /// How each side verifies its peers' chains (with the CAs read when this was built).
        let serverVerifier: TLSChainVerifier?
        let clientVerifier: TLSChainVerifier
    }

    private struct State {
        var given: TLSSettings?
        var properties: Properties?
        var built: Built?
    }

    private let state: NIOLockedValueBox<State>

    init(settings: TLSSettings?) { state = NIOLockedValueBox(State(given: settings)) }

    /// The contexts, built now if they were not (which reads the certificate files).
    func contexts(for communicator: Communicator) throws -> Built {
        try state.withLockedValue { state in
            if let built = state.built { return built }
            // (As given at creation: IceSSL is configured once, as in Ice.)
            state.properties = communicator.initialProperties
            let built = try Self.build(state.given ?? TLSSettings(properties: communicator.initialProperties))
            state.built = built
            return built
        }
    }

    /// Rebuilds the contexts from `settings`, else from those given at first, else from the
    /// IceSSL properties (reading the files again). On failure nothing changes: the current
    /// contexts stay, and so do the settings a later reload without any rebuilds from.
    func reload(_ settings: TLSSettings?) throws {
        try state.withLockedValue { state in
            let source: TLSSettings
            if let settings {
                source = settings
            } else if let given = state.given {
                source = given
            } else if let properties = state.properties {
                source = try TLSSettings(properties: properties)
            } else {
                return  // nothing built yet: the first ssl endpoint reads the files anyway
            }
            let built = try Self.build(source)
            if let settings { state.given = settings }
            state.built = built
        }
    }

    private static func build(_ settings: TLSSettings) throws -> Built {
        do {
            return Built(
                settings: settings, server: try settings.server.map { try NIOSSLContext(configuration: $0) },
                client: try NIOSSLContext(configuration: settings.client),
                serverVerifier: try settings.server.map {
                    try TLSChainVerifier(configuration: $0, maxDepth: settings.verifyDepthMax, verifyingServers: false)
                },
                clientVerifier: try TLSChainVerifier(
                    configuration: settings.client, maxDepth: settings.verifyDepthMax, verifyingServers: true))
        } catch {
            throw LocalError(.invalidArgument, "IceSSL: cannot set up TLS: \(error)")
        }
    }
}
