/// The base of every class generated from a Slice `class`: a node in a graph of instances
/// that the encoding writes once and references by id, so graphs may share nodes and form cycles.
///
/// Not `Sendable`: instances are mutable and may point at each other.
open class Value {
    /// Slices of more-derived types this process did not know, kept from decoding so that
    /// re-sending the instance in the sliced format loses nothing. (Named with Ice's reserved
    /// prefix, as every member of this class is, so no Slice data member can clash with it.)
    public internal(set) var ice_slicedData: SlicedData?

    /// The slices this process did not know (ZeroC's Swift name for `ice_slicedData`).
    public func ice_getSlicedData() -> SlicedData? { ice_slicedData }

    public required init() {}

    /// The Slice type id of this class (`::Ice::Object` for the root).
    open class func ice_staticId() -> String { "::Ice::Object" }

    /// The Slice type id of the most-derived type of this instance.
    open func ice_id() -> String { type(of: self).ice_staticId() }

    /// Writes this instance's own slices (most-derived first). Generated classes override it;
    /// each override writes its slice and then calls `super`.
    open func _iceWriteImpl(to stream: inout OutputStream) {}

    /// Reads this instance's own slices, mirroring `_iceWriteImpl(to:)`.
    open func _iceReadImpl(from stream: inout InputStream) throws {}

    /// Passes every class reference this instance holds to `visitor` (see `ReceivedGraph`).
    /// Generated classes override it for their members and then call `super`, which visits
    /// the instances that preserved slices refer to.
    open func _iceVisitReferences(_ visitor: inout ReferenceVisitor) {
        guard let slicedData = ice_slicedData else { return }
        for slice in slicedData.slices {
            for index in slice.instances.indices { visitor.visit(&slice.instances[index]) }
        }
    }
}

/// An instance none of whose slices this process knows; it keeps them all and writes them
/// back unchanged in the sliced format.
public final class UnknownSlicedValue: Value {
    /// The type id of the instance's most-derived slice.
    public private(set) var unknownTypeId: String = ""

    public required init() {}

    init(unknownTypeId: String) {
        self.unknownTypeId = unknownTypeId
        super.init()
    }

    public override func ice_id() -> String { unknownTypeId }
}

/// The slices of one instance that were skipped because their types were unknown.
public final class SlicedData {
    /// Most-derived first.
    public let slices: [SliceInfo]

    public init(slices: [SliceInfo]) { self.slices = slices }
}

/// One skipped slice: its type id and the bytes of its members, kept verbatim.
public final class SliceInfo {
    /// The slice's type id (empty when only a compact id was sent).
    public let typeId: String
    /// The compact type id, when the slice was sent with one.
    public let compactId: Int?
    /// The members and optional members, without the optional end marker.
    public let bytes: [UInt8]
    /// The instances referenced from the slice's indirection table, in table order.
    public internal(set) var instances: [Value?]
    public let hasOptionalMembers: Bool
    public let isLastSlice: Bool

    init(
        typeId: String, compactId: Int?, bytes: [UInt8], instances: [Value?], hasOptionalMembers: Bool,
        isLastSlice: Bool
    ) {
        self.typeId = typeId
        self.compactId = compactId
        self.bytes = bytes
        self.instances = instances
        self.hasOptionalMembers = hasOptionalMembers
        self.isLastSlice = isLastSlice
    }
}
