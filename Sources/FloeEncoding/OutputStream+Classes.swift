import NIOCore

/// What the writer remembers about class instances within one encapsulation.
struct ClassWriter {
    var typeIdIndexes: [String: Int] = [:]
    /// The last type id looked up and its index: graphs are mostly of one type, and comparing
    /// a string is cheaper than hashing it.
    var lastTypeId = ""
    var lastTypeIdIndex = 0
    var instanceIds: [ObjectIdentifier: Int] = [:]
    var nextInstanceId = 2
    /// One entry per instance (or exception) being written, innermost last.
    var instances: [InstanceWriteState] = []
}

struct InstanceWriteState {
    var isException: Bool
    var firstSlice = true
    var slice: SliceWriteState?
}

struct SliceWriteState {
    var flagsPosition: Int
    var flags: UInt8
    var sizePosition: Int?
    var indirection: [Value] = []
    var indirectionIndexes: [ObjectIdentifier: Int] = [:]
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
        if let slice = classes.instances.last?.slice, slice.sizePosition != nil {
            guard let value else { return writeSize(0) }
            writeSize(addToIndirectionTable(value))
        } else {
            writeInstanceReference(value)
        }
    }

    /// The 1-based index of `value` in the current slice's indirection table, adding it if new.
    private mutating func addToIndirectionTable(_ value: Value) -> Int {
        let top = classes.instances.count - 1
        let key = ObjectIdentifier(value)
        if let index = classes.instances[top].slice?.indirectionIndexes[key] { return index }
        classes.instances[top].slice?.indirection.append(value)
        let index = classes.instances[top].slice?.indirection.count ?? 0
        classes.instances[top].slice?.indirectionIndexes[key] = index
        return index
    }

    private mutating func writeInstanceReference(_ value: Value?) {
        guard let value else { return writeSize(0) }
        let key = ObjectIdentifier(value)
        if let id = classes.instanceIds[key] { return writeSize(id) }
        classes.instanceIds[key] = classes.nextInstanceId
        classes.nextInstanceId += 1
        writeSize(1)
        classes.instances.append(InstanceWriteState(isException: false))
        let sliced = currentFormat == .sliced
        if let preserved = value.slicedData, sliced || value is UnknownSlicedValue {
            writePreservedSlices(preserved)
        }
        value._iceWriteImpl(to: &self)
        classes.instances.removeLast()
    }

    private mutating func writePreservedSlices(_ data: SlicedData) {
        for info in data.slices {
            startSlice(typeId: info.typeId, compactId: info.compactId, last: info.isLastSlice, forceSize: true)
            writeBlob(info.bytes)
            if info.hasOptionalMembers { markOptionalMember() }
            // The member bytes point into the table by index; re-adding the preserved
            // references in their original order keeps those indexes valid.
            for case let instance? in info.instances { _ = addToIndirectionTable(instance) }
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
        guard var instance = classes.instances.last else {
            preconditionFailure("startSlice outside of a class instance or exception")
        }
        let sliced = currentFormat == .sliced || forceSize
        let flagsPosition = position
        write(UInt8(0))
        var flags: UInt8 = 0
        if instance.isException {
            write(typeId)
        } else if sliced || instance.firstSlice {
            if let compactId {
                flags |= SliceFlags.typeIdCompact
                writeSize(compactId)
            } else if classes.lastTypeIdIndex > 0 && classes.lastTypeId == typeId {
                flags |= SliceFlags.typeIdIndex
                writeSize(classes.lastTypeIdIndex)
            } else if let index = classes.typeIdIndexes[typeId] {
                flags |= SliceFlags.typeIdIndex
                writeSize(index)
                (classes.lastTypeId, classes.lastTypeIdIndex) = (typeId, index)
            } else {
                classes.typeIdIndexes[typeId] = classes.typeIdIndexes.count + 1
                flags |= SliceFlags.typeIdString
                write(typeId)
            }
        }
        var sizePosition: Int?
        if sliced {
            flags |= SliceFlags.hasSliceSize
            sizePosition = position
            write(Int32(0))
        }
        if last { flags |= SliceFlags.isLastSlice }
        instance.firstSlice = false
        instance.slice = SliceWriteState(flagsPosition: flagsPosition, flags: flags, sizePosition: sizePosition)
        classes.instances[classes.instances.count - 1] = instance
    }

    /// Ends the current slice: writes the optional-members end marker, the slice size and
    /// the indirection table.
    public mutating func endSlice() {
        guard let top = classes.instances.last, var slice = top.slice else {
            preconditionFailure("endSlice without startSlice")
        }
        classes.instances[classes.instances.count - 1].slice = nil
        if slice.flags & SliceFlags.hasOptionalMembers != 0 { write(UInt8(0xff)) }
        if let sizePosition = slice.sizePosition {
            rewrite(Int32(position - sizePosition), at: sizePosition)
        }
        if !slice.indirection.isEmpty {
            slice.flags |= SliceFlags.hasIndirectionTable
            writeSize(slice.indirection.count)
            for value in slice.indirection { writeInstanceReference(value) }
        }
        rewrite(slice.flags, at: slice.flagsPosition)
    }

    /// Notes that the current slice carries optional members (flag 0x04 and an `ff` end marker).
    mutating func markOptionalMember() {
        guard classes.instances.last?.slice != nil else { return }
        classes.instances[classes.instances.count - 1].slice?.flags |= SliceFlags.hasOptionalMembers
    }

    mutating func unsupported(_ what: String) {
        if failure == nil { failure = MarshalError(.unsupportedEncoding, "cannot write \(what)") }
    }
}
