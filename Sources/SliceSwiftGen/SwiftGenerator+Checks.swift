public import SliceAST

extension SwiftGenerator {
    /// The `Ice` types Floe's runtime provides: written by hand, or generated into FloeIce from
    /// Floe's `Slice/Ice` (a test keeps this list and those files in step).
    public static let providedIceTypes: Set<String> = handWrittenIceTypes.union([
        "::Ice::BoolSeq", "::Ice::ByteSeq", "::Ice::ShortSeq", "::Ice::IntSeq", "::Ice::LongSeq", "::Ice::FloatSeq",
        "::Ice::DoubleSeq", "::Ice::StringSeq", "::Ice::ObjectSeq", "::Ice::ObjectProxySeq",
        "::Ice::AdapterNotFoundException", "::Ice::InvalidReplicaGroupIdException",
        "::Ice::AdapterAlreadyActiveException", "::Ice::ObjectNotFoundException", "::Ice::ServerNotFoundException",
        "::Ice::Locator", "::Ice::LocatorRegistry", "::Ice::LocatorFinder", "::Ice::Process", "::Ice::Router",
        "::Ice::RouterFinder", "::Ice::Object", "::Ice::PropertyDict", "::Ice::PropertiesAdmin",
        "::Ice::SliceChecksumDict",
    ])

    /// Static members every generated enum has (`CaseIterable`, `StreamCodableEnum`): an
    /// enumerator of the same name would be a second declaration of it.
    static let reservedEnumMembers: Set<String> = [
        "allCases", "maxRawValue", "minWireSize", "fixedWireSize", "optionalFormat",
    ]

    static let qualifyingModules: Set<String> = ["Swift", "Foundation"]

    /// The top-level public types of the runtime modules generated files import (FloeCore,
    /// FloeEncoding, FloeProtocol); `RuntimeTypeNamesTests` keeps the list and the sources in step.
    public static let runtimeTypeNames: Set<String> = [
        "ACMClose", "Acceptor", "BatchRequestReader", "Blobject", "CallCancellation", "CertificateSubjectMiddleware",
        "ClientInterceptor", "Communicator", "CompositeSliceLoader", "CompressionCodec", "CompressionCodecChoice",
        "CompressionError", "CompressionStatus", "Connection", "ConnectionInfo", "ConnectionMetrics",
        "ConnectionOptions", "Context", "Current", "Deadline", "DeadlineInterceptor", "DeadlineMiddleware",
        "DispatchError", "DispatchGate", "Dispatcher", "EncodingVersion", "EndpointData", "EndpointSelection",
        "FormatType", "Frame", "GeneratedSliceLoaders", "IPEndpointData", "IceFrameDecoder", "Identity", "IdentitySeq",
        "ImplicitContext", "IncomingRequest", "IncomingResponse", "InputStream", "LocalError", "LoggingMiddleware",
        "MarshalError", "Message", "MessageHeader", "MessagePrefix", "MessageType", "NullableStreamCodable",
        "ObjectAdapter", "ObjectPrx", "ObjectPrxI", "ObjectTraits", "Observability", "OpaqueEndpointData",
        "OperationMode", "OptionalFormat", "OutgoingRequest", "OutgoingResponse", "OutputStream", "Properties",
        "ProtocolError", "ProtocolVersion", "ProxyData", "ProxyMode", "ProxyReference", "RawDecodable", "RawEncodable",
        "RawReader", "RawWriter", "ReferenceVisitor", "Reply", "ReplyBody", "ReplyMessage", "ReplyStatus", "Request",
        "RequestHeader", "SendingBox", "ServantLocator", "SliceInfo", "SliceLoader", "SliceRegistry", "SliceTraits",
        "SliceVersion", "SlicedData", "StreamCodable", "StreamCodableEnum", "StreamCodableNumber", "SubjectFilter",
        "TLSPeerInfo", "TracingInterceptor", "TracingMiddleware", "Transport", "UDPEndpointData", "UnknownSlicedValue",
        "UnsentBatch",
        "UserException", "Value", "ValueReferences",
    ]

    /// The definition and the names declared directly inside it: members, operations,
    /// enumerators.
    static func namesInside(_ definition: Definition) -> [DefinitionInfo] {
        var infos = [definition.info]
        switch definition {
        case .structDef(let s): infos += s.members.map(\.info)
        case .classDef(let c): infos += c.members.map(\.info) + c.operations.map(\.info)
        case .exception(let e): infos += e.members.map(\.info)
        case .interfaceDef(let i): infos += i.operations.map(\.info)
        case .enumDef(let e): infos += e.enumerators.map(\.info)
        default: break
        }
        return infos
    }

    /// What the Swift for the main file could not express, found before generating it:
    /// references to `Ice` types Floe does not provide (ZeroC's `Ice/Properties.ice` included
    /// from ZeroC's folder, say), two definitions that become one Swift name in one module
    /// (`module A { class C }` and `module B { class C }` built into one target), and names
    /// the generated code gives its own members (an enumerator `allCases`).
    public func check() -> Diagnostics {
        var diagnostics = Diagnostics()
        let mainModules = unit.definitions.compactMap { d -> ModuleDef? in
            if case .module(let m) = d, m.info.includeLevel == 0 { return m }
            return nil
        }
        if options.iceModule == nil {
            var reported: Set<String> = []
            forEachTypeReference(in: mainModules) { type in
                guard let name = type.resolved?.scopedName else { return }
                guard name.hasPrefix("::Ice::"), !Self.providedIceTypes.contains(name),
                    reported.insert(name + "\(type.location)").inserted
                else { return }
                diagnostics.error(
                    "unsupported-ice-type",
                    "'\(name.dropFirst(2))' is not provided by Floe, whose runtime has the Ice types of its own Slice/Ice files",
                    at: type.location)
            }
        }
        // A file's Swift is one file, so in one Swift module. Without `--module-name` each
        // top-level module maps to a Swift module of its name, and other files refer to its
        // types through it: a second top-level module mapping elsewhere would be generated here
        // and looked for there. ZeroC's slice2swift refuses it too.
        if options.moduleName == nil, let first = mainModules.first {
            let own = Self.mapping(of: first, options: options, own: false).swiftModule
            for main in mainModules.dropFirst() {
                let mapped = Self.mapping(of: main, options: options, own: false).swiftModule
                guard mapped != own else { continue }
                diagnostics.error(
                    "swift-module-mismatch",
                    "module '\(main.info.name.name)' maps to Swift module '\(mapped)', but this file's Swift goes into '\(own)' (its first module's): give it [\"swift:module:\(own):PREFIX\"] metadata, or compile with --module-name",
                    at: main.info.name.location)
            }
        }
        // A type of another Swift module is written `Module.Type`; a runtime type of the module's
        // name (`FloeCore.Transport` for a Slice module `Transport`) takes precedence over it.
        var reportedModules: Set<String> = []
        for main in mainModules {
            let own = options.moduleName ?? modules[main.info.name.name]?.swiftModule
            forEachTypeReference(in: [main]) { type in
                guard let name = type.resolved?.scopedName, let module = definitionModules[name]?.swiftModule,
                    module != own,
                    Self.runtimeTypeNames.contains(module), reportedModules.insert(module).inserted
                else { return }
                diagnostics.error(
                    "swift-module-shadowed",
                    "'\(name.dropFirst(2))' is in Swift module '\(module)', which generated code cannot name: Floe's runtime has a type '\(module)'; give the Slice module [\"swift:module:OtherName\"] metadata",
                    at: type.location)
            }
        }
        for definition in allDefinitions(mainModules) {
            // Generated code qualifies standard names with these modules (`Swift.Int32`): a type,
            // member, operation or enumerator of either name would shadow them in its scope.
            for info in Self.namesInside(definition) where Self.qualifyingModules.contains(info.name.name) {
                diagnostics.error(
                    "swift-reserved-name",
                    "'\(info.name.name)' names a module that Floe's generated Swift qualifies standard types with; rename it",
                    at: info.name.location)
            }
            switch definition {
            case .enumDef(let e):
                for enumerator in e.enumerators where Self.reservedEnumMembers.contains(enumerator.info.name.name) {
                    diagnostics.error(
                        "swift-reserved-name",
                        "enumerator '\(enumerator.info.name.name)' is a member that Floe's generated Swift gives every enum; rename it",
                        at: enumerator.info.name.location)
                }
            case .structDef(let s):
                for member in s.members where member.info.name.name == "rawEncodedSize" {
                    diagnostics.error(
                        "swift-reserved-name",
                        "member 'rawEncodedSize' is a member that Floe's generated Swift gives structs; rename it",
                        at: member.info.name.location)
                }
            default: break
            }
        }
        var owners: [String: String] = [:]
        let allModules = unit.definitions.compactMap { d -> ModuleDef? in
            if case .module(let m) = d { return m }
            return nil
        }
        for definition in allDefinitions(allModules) {
            switch definition {
            case .module, .forward, .const: continue
            default: break
            }
            let scopedName = definition.info.scopedName
            guard let mapped = definitionModules[scopedName], mapped.swiftModule != options.runtimeModule else {
                continue
            }
            let key = mapped.swiftModule + "." + localName(definition.info)
            if let other = owners[key], other.lowercased() != scopedName.lowercased() {
                guard definition.info.includeLevel == 0 else { continue }
                diagnostics.error(
                    "swift-name-clash",
                    "'\(scopedName.dropFirst(2))' and '\(other.dropFirst(2))' are both '\(key)' in Swift; build their Slice modules in targets of their own, or give one of them [\"swift:module:\(mapped.swiftModule):Prefix\"] metadata",
                    at: definition.info.name.location)
            } else {
                owners[key] = scopedName
            }
        }
        return diagnostics
    }
}
