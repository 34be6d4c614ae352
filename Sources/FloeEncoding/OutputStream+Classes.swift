/// What the writer remembers about class instances within one encapsulation.
struct ClassWriter {
    var typeIdIndexes: [String: Int] = [:]
    /// The last type id looked up and its index: graphs are mostly of one type, and comparing
    /// a string is cheaper than hashing it.
    var lastTypeId = ""
    var lastTypeIdIndex = 0
    var instanceIds = InstanceIdTable()
    var nextInstanceId = 2
    /// The `1` announcing an inline instance is due; `startSlice` writes it together with the
    /// slice header, in one buffer access.
    var instanceMarkerPending = false
    /// One entry per instance (or exception) being written, innermost last. Plain values, so
    /// pushing, popping and inspecting them costs no reference counting.
    var instances: [InstanceWriteState] = []
    /// The indirection tables of the open sized slices, innermost last (sliced format and
    /// preserved slices only).
    var indirectionTables: [IndirectionTable] = []
}

struct InstanceWriteState {
    var isException: Bool
    var firstSlice = true
    var inSlice = false
    var flagsPosition = 0
    /// The flags as written at `flagsPosition`, and as they must be when the slice ends.
    var writtenFlags: UInt8 = 0
    var flags: UInt8 = 0
    /// Where the slice size is patched in; nil for slices without a size (compact format).
    var sizePosition: Int?

    init(isException: Bool) { self.isException = isException }

    var inSizedSlice: Bool { inSlice && sizePosition != nil }
}

/// Instances a sized slice refers to by index; written after the slice's members.
struct IndirectionTable {
    /// Entries in order; nil only in a preserved slice's table, which is re-sent as received.
    var values: [Value?] = []
    var indexes: [ObjectIdentifier: Int] = [:]
}

enum SliceFlags {
    static let typeIdString: UInt8 = 0x01
    static let typeIdIndex: UInt8 = 0x02
    static let typeIdCompact: UInt8 = 0x03
    static let typeIdMask: UInt8 = 0x03
    static let hasOptionalMembers: UInt8 = 0x04
    static let hasIndirectionTable: UInt8 = 0x08
    static let hasSliceSize: UInt8 = 0x10
    static let isLastSlice: UInt8 = 0x20
}

extension OutputStream {
    /// Writes a class instance reference: null, a new instance inline, or a back-reference.
    /// Inside a slice of the sliced format it writes an index into the slice's indirection table.
    public mutating func write(_ value: Value?) {
        guard encoding != .v1_0 else {
            unsupported("class instances in encoding 1.0")
            return
        }
        let top = classes.instances.count - 1
        if top >= 0 && classes.instances[top].inSizedSlice {
            guard let value else { return writeSize(0) }
            writeSize(addToIndirectionTable(value))
        } else {
            writeInstanceReference(value)
        }
    }

    /// The 1-based index of `value` in the current slice's indirection table, adding it if new.
    private mutating func addToIndirectionTable(_ value: Value) -> Int {
        let top = classes.indirectionTables.count - 1
        let key = ObjectIdentifier(value)
        if let index = classes.indirectionTables[top].indexes[key] { return index }
        classes.indirectionTables[top].values.append(value)
        let index = classes.indirectionTables[top].values.count
        classes.indirectionTables[top].indexes[key] = index
        return index
    }

    private mutating func writeInstanceReference(_ value: Value?) {
        guard let value else { return writeSize(0) }
        if let id = classes.instanceIds.id(of: ObjectIdentifier(value), orAdd: classes.nextInstanceId) {
            return writeSize(id)
        }
        classes.nextInstanceId += 1
        classes.instanceMarkerPending = true
        classes.instances.append(InstanceWriteState(isException: false))
        let sliced = currentFormat == .sliced
        if let preserved = value.ice_slicedData, sliced || value is UnknownSlicedValue {
            writePreservedSlices(preserved)
        }
        value._iceWriteImpl(to: &self)
        precondition(!classes.instanceMarkerPending, "\(type(of: value)) wrote no slice")
        classes.instances.removeLast()
    }

    private mutating func writePreservedSlices(_ data: SlicedData) {
        for info in data.slices {
            startSlice(typeId: info.typeId, compactId: info.compactId, last: info.isLastSlice, forceSize: true)
            writeBlob(info.bytes)
            if info.hasOptionalMembers { markOptionalMember() }
            // The member bytes point into the table by index: the table is re-sent exactly as
            // received, null and repeated entries included, so every index still holds.
            classes.indirectionTables[classes.indirectionTables.count - 1].values = info.instances
            endSlice()
        }
    }

    /// Writes a user exception: its slices, most-derived first.
    public mutating func write(exception: any UserException) {
        classes.instances.append(InstanceWriteState(isException: true))
        exception._iceWriteImpl(to: &self)
        classes.instances.removeLast()
    }

    /// Starts a slice of the class or exception being written. Generated `_iceWriteImpl`
    /// calls it once per inheritance level, most-derived first.
    public mutating func startSlice(typeId: String, compactId: Int? = nil, last: Bool) {
        startSlice(typeId: typeId, compactId: compactId, last: last, forceSize: false)
    }

    private mutating func startSlice(typeId: String, compactId: Int?, last: Bool, forceSize: Bool) {
        let top = classes.instances.count - 1
        precondition(top >= 0, "startSlice outside of a class instance or exception")
        let sliced = currentFormat == .sliced || forceSize
        let instance = classes.instances[top]
        var flags: UInt8 = last ? SliceFlags.isLastSlice : 0
        if sliced { flags |= SliceFlags.hasSliceSize }
        // The flags go first on the wire but depend on how the type id is written; work that out
        // before writing anything, so the flags byte is written once with its final value
        // (it is patched at the end only when optional members or an indirection table appear).
        let marker = classes.instanceMarkerPending
        classes.instanceMarkerPending = false
        let flagsPosition = position + (marker ? 1 : 0)
        if instance.isException {
            write(flags)
            write(typeId)
        } else if sliced || instance.firstSlice {
            if let compactId {
                flags |= SliceFlags.typeIdCompact
                writeSliceHead(marker: marker, flags: flags, size: compactId)
            } else if classes.lastTypeIdIndex > 0 && classes.lastTypeId == typeId {
                flags |= SliceFlags.typeIdIndex
                writeSliceHead(marker: marker, flags: flags, size: classes.lastTypeIdIndex)
            } else if let index = classes.typeIdIndexes[typeId] {
                flags |= SliceFlags.typeIdIndex
                writeSliceHead(marker: marker, flags: flags, size: index)
                (classes.lastTypeId, classes.lastTypeIdIndex) = (typeId, index)
            } else {
                classes.typeIdIndexes[typeId] = classes.typeIdIndexes.count + 1
                flags |= SliceFlags.typeIdString
                if marker { write(UInt8(1)) }
                write(flags)
                write(typeId)
            }
        } else {
            write(flags)
        }
        var sizePosition: Int?
        if sliced {
            sizePosition = position
            write(Int32(0))
            classes.indirectionTables.append(IndirectionTable())
        }
        classes.instances[top].firstSlice = false
        classes.instances[top].inSlice = true
        classes.instances[top].flagsPosition = flagsPosition
        classes.instances[top].flags = flags
        classes.instances[top].writtenFlags = flags
        classes.instances[top].sizePosition = sizePosition
    }

    /// The instance marker (when due), the flags and a size (a type id index or compact id).
    private mutating func writeSliceHead(marker: Bool, flags: UInt8, size: Int) {
        withRawWriter(size: (marker ? 1 : 0) + 1 + RawWriter.sizeOfSize(size)) { writer in
            if marker { writer.write(UInt8(1)) }
            writer.write(flags)
            writer.writeSize(size)
        }
    }

    /// Ends the current slice: writes the optional-members end marker, the slice size and
    /// the indirection table.
    public mutating func endSlice() {
        let top = classes.instances.count - 1
        precondition(top >= 0 && classes.instances[top].inSlice, "endSlice without startSlice")
        var slice = classes.instances[top]
        classes.instances[top].inSlice = false
        if slice.flags & SliceFlags.hasOptionalMembers != 0 { write(UInt8(0xff)) }
        if let sizePosition = slice.sizePosition {
            rewrite(Int32(position - sizePosition), at: sizePosition)
            let table = classes.indirectionTables.removeLast()
            if !table.values.isEmpty {
                slice.flags |= SliceFlags.hasIndirectionTable
                writeSize(table.values.count)
                for value in table.values { writeInstanceReference(value) }
            }
        }
        if slice.flags != slice.writtenFlags { rewrite(slice.flags, at: slice.flagsPosition) }
    }

    /// Notes that the current slice carries optional members (flag 0x04 and an `ff` end marker).
    mutating func markOptionalMember() {
        let top = classes.instances.count - 1
        guard top >= 0, classes.instances[top].inSlice else { return }
        classes.instances[top].flags |= SliceFlags.hasOptionalMembers
    }

    mutating func unsupported(_ what: String) {
        if failure == nil { failure = MarshalError(.unsupportedEncoding, "cannot write \(what)") }
    }
}
