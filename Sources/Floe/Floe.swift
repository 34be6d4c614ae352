// `import Floe`: the runtime, the Ice types Floe provides, and the TCP transport, in one import.
@_exported public import FloeCore
@_exported public import FloeIce
@_exported public import FloeNIO
public import Logging

extension Communicator {
    /// A communicator whose transport is TCP over SwiftNIO: with `import Floe`, `Communicator()`
    /// reaches servers over the network. (It is preferred to FloeCore's initializer, which has a
    /// `transport` parameter more; FloeCore alone keeps communicators transport-free, for
    /// in-process use and tests.)
    public convenience init(
        sliceLoader: any SliceLoader = SliceRegistry(), messageSizeMax: Int = 1 << 20, classGraphDepthMax: Int = 100,
        defaultInvocationTimeout: Int = -1, retryIntervals: [Int] = [0],
        connectionOptions: ConnectionOptions = ConnectionOptions(), properties: Properties = Properties(),
        logger: Logger = Logger(label: "floe"), interceptors: [any ClientInterceptor] = [],
        observability: Observability = .off
    ) {
        self.init(
            sliceLoader: sliceLoader, transport: NIOTransport(logger: logger), messageSizeMax: messageSizeMax,
            classGraphDepthMax: classGraphDepthMax, defaultInvocationTimeout: defaultInvocationTimeout,
            retryIntervals: retryIntervals, connectionOptions: connectionOptions, properties: properties,
            logger: logger, interceptors: interceptors, observability: observability)
    }

    /// A communicator configured by Ice properties (see FloeCore's `init(properties:…)`), whose
    /// transport is TCP over SwiftNIO.
    public convenience init(
        properties: Properties, sliceLoader: any SliceLoader = SliceRegistry(), logger: Logger = Logger(label: "floe"),
        interceptors: [any ClientInterceptor] = [], observability: Observability? = nil
    ) throws {
        let logger = try properties.configuring(logger)
        try self.init(
            properties: properties, sliceLoader: sliceLoader, transport: NIOTransport(logger: logger), logger: logger,
            interceptors: interceptors, observability: observability)
    }

    /// A communicator configured from command-line arguments, as ZeroC's
    /// `Ice.initialize(args)`: `--Ice.Config=FILE[,FILE]` and every option in Floe's and ZeroC's
    /// namespaces, `--Ice.*`, `--IceSSL.*`, `--Floe.*`… (see `Properties.parse(arguments:prefixes:)`,
    /// which also returns the arguments left for the application). Its transport is TCP over SwiftNIO.
    ///
    /// ```swift
    /// let communicator = try Communicator(args: CommandLine.arguments)
    /// ```
    public convenience init(
        args: [String], logger: Logger = Logger(label: "floe"), interceptors: [any ClientInterceptor] = []
    ) throws {
        let (properties, _) = try Properties.parse(arguments: args)
        try self.init(properties: properties, logger: logger, interceptors: interceptors)
    }
}

extension Communicator {
    /// Loads this communicator's TLS certificates and keys again (the files the IceSSL properties
    /// it was created with name, or the settings its `NIOTransport` was given), for ssl
    /// connections opened from now on; open connections keep theirs. On failure nothing changes.
    /// (`setProperties` does not change the IceSSL properties TLS reads.)
    public func reloadTLSCertificates() throws {
        guard let transport = transport as? NIOTransport else {
            throw LocalError(.unsupported, "this communicator's transport has no TLS")
        }
        try transport.reloadTLS()
    }
}
