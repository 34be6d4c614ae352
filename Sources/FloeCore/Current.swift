public import FloeEncoding
public import FloeProtocol

/// What a servant knows about the request it is dispatching.
public struct Current: Sendable {
    /// The adapter that dispatched the request.
    public let adapter: ObjectAdapter
    public let id: Identity
    public let facet: String
    public let operation: String
    public let mode: OperationMode
    public var ctx: Context
    /// 0 for oneway requests.
    public let requestId: Int32
    /// The encoding of the parameters; the reply uses the same.
    public let encoding: EncodingVersion
    /// The connection the request arrived on (nil for collocated calls).
    public let con: (any Connection)?

    public init(
        adapter: ObjectAdapter, id: Identity, facet: String = "", operation: String, mode: OperationMode = .normal,
        ctx: Context = [:], requestId: Int32 = 0, encoding: EncodingVersion = .v1_1, con: (any Connection)? = nil
    ) {
        self.con = con
        self.adapter = adapter
        self.id = id
        self.facet = facet
        self.operation = operation
        self.mode = mode
        self.ctx = ctx
        self.requestId = requestId
        self.encoding = encoding
    }
}
