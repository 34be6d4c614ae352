import NIOCore

/// What the reader remembers about class instances within one encapsulation.
final class ClassReader {
    var typeIds: [String] = []
    /// Instances by id; ids start at 2, so index `id - 2`. Nil while an instance is reserved
    /// but not yet created (its unknown slices are being skipped).
    var instances: [Value?] = []
    var depth = 0
    /// One entry per instance or exception being read, innermost last.
    var stack: [InstanceReadState] = []
}

struct InstanceReadState {
    var isException: Bool
    /// The header of the next slice was already read while looking for a known type.
    var headerPending = false
    var inSlice = false
    var flags: UInt8 = 0
    var typeId: String?
    var compactId: Int?
    var sliceSize = 0
    /// Where the slice's members start, and where its indirection table ends.
    var sliceStart = 0
    var tableEnd: Int?
    var indirection: [Value?] = []
    var skipped: [SliceInfo] = []
}

extension InputStream {
    var classReader: ClassReader {
        mutating get {
            if encapsulations.isEmpty {
                encapsulations.append(ReadEncapsulation(outerEnd: buffer.writerIndex, outerEncoding: encoding))
            }
            if let reader = encapsulations[encapsulations.count - 1].classes { return reader }
            let reader = ClassReader()
            encapsulations[encapsulations.count - 1].classes = reader
            return reader
        }
    }

    /// Optional values may be read at the top of an encapsulation, or inside a slice whose
    /// flags announce optional members.
    var canReadOptionals: Bool {
        guard let reader = encapsulations.last?.classes, let top = reader.stack.last, top.inSlice else {
            return true
        }
        return top.flags & SliceFlags.hasOptionalMembers != 0
    }

    /// Reads a class instance reference and checks that the instance is a `T`.
    public mutating func read<T: Value>(_: T.Type) throws -> T? {
        guard let value = try readValue() else { return nil }
        guard let typed = value as? T else {
            throw MarshalError(
                .invalidValue, "expected an instance of \(T.ice_staticId()), received \(value.ice_id())")
        }
        return typed
    }

    /// Reads a class instance reference: null, an inline instance, a back-reference, or
    /// inside a sliced-format slice, an index into the slice's indirection table.
    public mutating func readValue() throws -> Value? {
        guard encoding != .v1_0 else {
            throw MarshalError(.unsupportedEncoding, "class instances in encoding 1.0 are not supported")
        }
        let reader = classReader
        if let top = reader.stack.last, top.inSlice, top.flags & SliceFlags.hasSliceSize != 0 {
            let index = try readSize()
            if index == 0 { return nil }
            guard index <= top.indirection.count else {
                throw MarshalError(
                    .invalidReference, "indirection index \(index) beyond a table of \(top.indirection.count)")
            }
            return top.indirection[index - 1]
        }
        return try readInstanceReference(reader)
    }

    private mutating func readInstanceReference(_ reader: ClassReader) throws -> Value? {
        let marker = try readSize()
        switch marker {
        case 0:
            return nil
        case 1:
            return try readInstance(reader)
        default:
            let index = marker - 2
            guard index < reader.instances.count, let value = reader.instances[index] else {
                throw MarshalError(.invalidReference, "reference to instance \(marker), which was not read")
            }
            return value
        }
    }

    private mutating func readInstance(_ reader: ClassReader) throws -> Value {
        reader.depth += 1
        defer { reader.depth -= 1 }
        guard reader.depth <= classGraphDepthMax else {
            throw MarshalError(.classGraphTooDeep, "class graph deeper than \(classGraphDepthMax)")
        }
        // The id is taken before the slices are read, as the writer assigned it.
        let id = reader.instances.count
        reader.instances.append(nil)
        reader.stack.append(InstanceReadState(isException: false))
        defer { reader.stack.removeLast() }

        try readSliceHeader(reader, first: true)
        var mostDerived: String?
        var value: Value?
        while value == nil {
            let typeId = reader.stack[reader.stack.count - 1].typeId
            if mostDerived == nil { mostDerived = typeId ?? "compact id" }
            if let typeId, let created = sliceLoader?.newValue(typeId: typeId) {
                value = created
                break
            }
            try skipUnknownSlice(reader, describing: typeId ?? "compact id")
            if reader.stack[reader.stack.count - 1].flags & SliceFlags.isLastSlice != 0 {
                value = UnknownSlicedValue(unknownTypeId: mostDerived ?? "")
                break
            }
            try readSliceHeader(reader, first: false)
        }
        guard let value else { throw MarshalError(.noValueFactory, "no class type found") }
        reader.instances[id] = value
        if !(value is UnknownSlicedValue) {
            reader.stack[reader.stack.count - 1].headerPending = true
            try value._iceReadImpl(from: &self)
            try skipTrailingSlices(reader)
        }
        let skipped = reader.stack[reader.stack.count - 1].skipped
        if !skipped.isEmpty { value.slicedData = SlicedData(slices: skipped) }
        return value
    }

    /// Reads a user exception: its first known slice decides the type; unknown slices are
    /// skipped when they carry sizes.
    public mutating func readUserException() throws -> any UserException {
        let reader = classReader
        reader.stack.append(InstanceReadState(isException: true))
        defer { reader.stack.removeLast() }
        try readSliceHeader(reader, first: true)
        let mostDerived = reader.stack[reader.stack.count - 1].typeId ?? ""
        while true {
            let typeId = reader.stack[reader.stack.count - 1].typeId ?? ""
            if let exception = sliceLoader?.newException(typeId: typeId) {
                reader.stack[reader.stack.count - 1].headerPending = true
                try exception._iceReadImpl(from: &self)
                try skipTrailingSlices(reader)
                return exception
            }
            let state = reader.stack[reader.stack.count - 1]
            guard state.flags & SliceFlags.hasSliceSize != 0, state.flags & SliceFlags.isLastSlice == 0 else {
                throw MarshalError(.unknownUserException, mostDerived)
            }
            try skipUnknownSlice(reader, describing: typeId)
            try readSliceHeader(reader, first: false)
        }
    }

    /// Starts reading the next slice of the current instance or exception. Generated
    /// `_iceReadImpl` calls it once per inheritance level.
    public mutating func startSlice() throws {
        let reader = classReader
        guard !reader.stack.isEmpty else {
            throw MarshalError(.invalidValue, "startSlice outside of a class instance or exception")
        }
        let top = reader.stack.count - 1
        if reader.stack[top].headerPending {
            reader.stack[top].headerPending = false
        } else {
            try readSliceHeader(reader, first: false)
        }
        if reader.stack[top].flags & SliceFlags.hasIndirectionTable != 0 {
            // References in the members point into the table that follows them; read it first
            // so they resolve as they are met.
            let start = position
            try skip(reader.stack[top].sliceSize - 4)
            let table = try readIndirectionTable(reader)
            reader.stack[top].indirection = table
            reader.stack[top].tableEnd = position
            seek(to: start)
        }
        reader.stack[top].inSlice = true
    }

    /// Finishes the current slice: skips unread optional members, checks its size, and
    /// steps over its indirection table.
    public mutating func endSlice() throws {
        let reader = classReader
        guard let state = reader.stack.last, state.inSlice else {
            throw MarshalError(.invalidValue, "endSlice without startSlice")
        }
        if state.flags & SliceFlags.hasOptionalMembers != 0 { try skipRemainingOptionals() }
        if state.flags & SliceFlags.hasSliceSize != 0 {
            let consumed = position - state.sliceStart
            guard consumed == state.sliceSize - 4 else {
                throw MarshalError(.invalidSize, "slice of \(state.sliceSize) bytes, members took \(consumed + 4)")
            }
        }
        if let end = state.tableEnd { seek(to: end) }
        let top = reader.stack.count - 1
        reader.stack[top].inSlice = false
        reader.stack[top].indirection = []
        reader.stack[top].tableEnd = nil
    }

    private mutating func readSliceHeader(_ reader: ClassReader, first: Bool) throws {
        let top = reader.stack.count - 1
        var state = reader.stack[top]
        state.flags = try read(UInt8.self)
        state.typeId = nil
        state.compactId = nil
        if state.isException {
            state.typeId = try read(String.self)
        } else {
            switch state.flags & SliceFlags.typeIdMask {
            case SliceFlags.typeIdString:
                let typeId = try read(String.self)
                reader.typeIds.append(typeId)
                state.typeId = typeId
            case SliceFlags.typeIdIndex:
                let index = try readSize()
                guard index >= 1, index <= reader.typeIds.count else {
                    throw MarshalError(.invalidReference, "type id index \(index) of \(reader.typeIds.count)")
                }
                state.typeId = reader.typeIds[index - 1]
            case SliceFlags.typeIdCompact:
                let compactId = try readSize()
                state.compactId = compactId
                state.typeId = sliceLoader?.typeId(forCompactId: compactId)
            default:
                if first { throw MarshalError(.invalidValue, "first slice of an instance has no type id") }
            }
        }
        if state.flags & SliceFlags.hasSliceSize != 0 {
            let size = Int(try read(Int32.self))
            guard size >= 4, size - 4 <= remaining else {
                throw MarshalError(.invalidSize, "slice size \(size) with \(remaining) bytes left")
            }
            state.sliceSize = size
        } else if state.flags & SliceFlags.hasIndirectionTable != 0 {
            throw MarshalError(.invalidValue, "slice has an indirection table but no size")
        }
        state.sliceStart = position
        reader.stack[top] = state
    }

    private mutating func readIndirectionTable(_ reader: ClassReader) throws -> [Value?] {
        let count = try readCount(minElementSize: 1)
        guard count > 0 else { throw MarshalError(.invalidValue, "empty indirection table") }
        var table: [Value?] = []
        table.reserveCapacity(count)
        for _ in 0..<count { table.append(try readInstanceReference(reader)) }
        return table
    }

    /// Skips a slice whose type is unknown, keeping its bytes and table for re-sending.
    private mutating func skipUnknownSlice(_ reader: ClassReader, describing typeId: String) throws {
        let top = reader.stack.count - 1
        let state = reader.stack[top]
        guard state.flags & SliceFlags.hasSliceSize != 0 else {
            throw MarshalError(
                state.isException ? .unknownUserException : .noValueFactory,
                state.isException ? typeId : "no class factory for \(typeId) and the slice cannot be skipped")
        }
        let hasOptionals = state.flags & SliceFlags.hasOptionalMembers != 0
        var bytes = try readBlob(count: state.sliceSize - 4)
        // The optional end marker is re-written when the slice is sent again.
        if hasOptionals, bytes.last == 0xff { bytes.removeLast() }
        let instances =
            state.flags & SliceFlags.hasIndirectionTable != 0 ? try readIndirectionTable(reader) : []
        reader.stack[top].skipped.append(
            SliceInfo(
                typeId: state.typeId ?? "", compactId: state.compactId, bytes: bytes, instances: instances,
                hasOptionalMembers: hasOptionals, isLastSlice: state.flags & SliceFlags.isLastSlice != 0))
    }

    /// After the known slices: a sender whose type has more base slices than ours sent
    /// slices we can only skip.
    ///
    /// ZeroC's C++ runtime (3.7) writes user exceptions without the last-slice flag on their
    /// final slice, so for exceptions the end of the encapsulation also ends the slices.
    private mutating func skipTrailingSlices(_ reader: ClassReader) throws {
        while reader.stack[reader.stack.count - 1].flags & SliceFlags.isLastSlice == 0 {
            if reader.stack[reader.stack.count - 1].isException && isAtEnd { return }
            try readSliceHeader(reader, first: false)
            try skipUnknownSlice(reader, describing: reader.stack[reader.stack.count - 1].typeId ?? "")
        }
    }
}
