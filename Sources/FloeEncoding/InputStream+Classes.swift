import NIOCore

/// What the reader remembers about class instances within one encapsulation.
struct ClassReader {
    var typeIds: [String] = []
    /// Instances by id; ids start at 2, so index `id - 2`. Nil while an instance is reserved
    /// but not yet created (its unknown slices are being skipped).
    var instances: [Value?] = []
    /// Each instance's height: the longest chain of references from it, itself counted (0
    /// while it is being read). See `noteReference(to:)`.
    var heights: [Int] = []
    /// Set once this encapsulation's instances may form a cycle: each is then tracked in the
    /// stream's `ReceivedGraph`.
    var tracking = false
    /// One entry per instance or exception being read, innermost last.
    var stack: [InstanceReadState] = []
}

struct InstanceReadState {
    var isException: Bool
    /// The instance's index in `ClassReader.instances` (-1 for an exception).
    var index = -1
    /// The height of the instance so far: 1 + the tallest instance it references.
    var height = 1
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
    /// Optional values may be read at the top of an encapsulation, or inside a slice whose
    /// flags announce optional members.
    var canReadOptionals: Bool {
        let top = classes.stack.count - 1
        guard top >= 0, classes.stack[top].inSlice else { return true }
        return classes.stack[top].flags & SliceFlags.hasOptionalMembers != 0
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
        // Fields are read through the stack's subscript rather than by copying its top entry:
        // a copy would retain and release the entry's arrays for every reference read.
        let top = classes.stack.count - 1
        if top >= 0, classes.stack[top].inSlice, classes.stack[top].flags & SliceFlags.hasSliceSize != 0 {
            let index = try readSize()
            if index == 0 { return nil }
            let count = classes.stack[top].indirection.count
            guard index <= count else {
                throw MarshalError(.invalidReference, "indirection index \(index) beyond a table of \(count)")
            }
            return classes.stack[top].indirection[index - 1]
        }
        return try readInstanceReference()
    }

    private mutating func readInstanceReference() throws -> Value? {
        let marker = try readSize()
        switch marker {
        case 0:
            return nil
        case 1:
            let id = classes.instances.count
            let value = try readInstance()
            noteReference(to: id)
            return value
        default:
            let index = marker - 2
            guard index < classes.instances.count, let value = classes.instances[index] else {
                throw MarshalError(.invalidReference, "reference to instance \(marker), which was not read")
            }
            // An instance still being read is on the stack: a reference to it closes a cycle.
            // (A tree never gets here; a shared node costs a look at the stack, which holds at
            // most ClassGraphDepthMax entries.)
            if !classes.tracking, classes.stack.contains(where: { $0.index == index }) { startTracking() }
            noteReference(to: index)
            return value
        }
    }

    /// The instance or exception being read references instance `id`: it is at least one taller.
    ///
    /// Nesting alone does not bound a graph's depth: back-references to instances read earlier
    /// chain them at any length while reads nest two deep (element k of a sequence linking to
    /// element k-1). Freeing such a chain recurses once per link, and a peer could send one long
    /// enough, within Ice.MessageSizeMax, to overflow the stack; so heights are bounded too,
    /// by `classChainMax`. (A reference to an instance still being read, which closes a
    /// cycle, counts its height as 0: cycles are broken by `ReceivedGraph`, not by freeing.)
    ///
    /// The bound is ten times `classGraphDepthMax` (1,000 by default), which nesting alone keeps
    /// to: ZeroC checks nesting only, so chains it reads shallowly (a sequence of commits, each
    /// referring to its parent) stay readable up to that length. A link costs about 200 bytes of
    /// stack to free (a class holding an array of references: 40,000 links overflowed an 8 MiB
    /// stack in a test program, 4,000 a 512 KiB one).
    package var classChainMax: Int { classGraphDepthMax > Int.max / 10 ? Int.max : classGraphDepthMax * 10 }

    private mutating func noteReference(to id: Int) {
        let top = classes.stack.count - 1
        guard top >= 0 else { return }
        let height = classes.heights[id] + 1
        if height > classes.stack[top].height { classes.stack[top].height = height }
    }

    private mutating func readInstance() throws -> Value {
        classDepth += 1
        defer { classDepth -= 1 }
        guard classDepth <= classGraphDepthMax else {
            throw MarshalError(.classGraphTooDeep, "class graph deeper than \(classGraphDepthMax)")
        }
        // The id is taken before the slices are read, as the writer assigned it.
        let id = classes.instances.count
        classes.instances.append(nil)
        classes.heights.append(0)
        classes.stack.append(InstanceReadState(isException: false, index: id))
        defer { _ = classes.stack.popLast() }  // (an error in a nested encapsulation leaves its state behind)

        try readSliceHeader(first: true)
        var mostDerived: String?
        var value: Value?
        while value == nil {
            let typeId = classes.stack[classes.stack.count - 1].typeId
            if mostDerived == nil { mostDerived = typeId ?? "compact id" }
            if let typeId, let created = newValue(typeId: typeId) {
                value = created
                break
            }
            try skipUnknownSlice(describing: typeId ?? "compact id")
            if classes.stack[classes.stack.count - 1].flags & SliceFlags.isLastSlice != 0 {
                value = UnknownSlicedValue(unknownTypeId: mostDerived ?? "")
                break
            }
            try readSliceHeader(first: false)
        }
        guard let value else { throw MarshalError(.noValueFactory, "no class type found") }
        classes.instances[id] = value
        if classes.tracking { receivedGraph?.adopt(value) }
        if !(value is UnknownSlicedValue) {
            classes.stack[classes.stack.count - 1].headerPending = true
            try value._iceReadImpl(from: &self)
            try skipTrailingSlices()
        }
        let skipped = classes.stack[classes.stack.count - 1].skipped
        if !skipped.isEmpty { value.ice_slicedData = SlicedData(slices: skipped) }
        let height = classes.stack[classes.stack.count - 1].height
        guard height <= classChainMax else {
            throw MarshalError(
                .classGraphTooDeep,
                "class graph deeper than \(classChainMax) (10 × Ice.ClassGraphDepthMax): a chain of \(height) instances"
            )
        }
        classes.heights[id] = height
        return value
    }

    /// A reference to an instance still being read closes a cycle: from now on this
    /// encapsulation's instances, those read so far included, are tracked so they can be freed.
    private mutating func startTracking() {
        classes.tracking = true
        let graph = receivedGraph ?? ReceivedGraph()
        receivedGraph = graph
        for case let value? in classes.instances { graph.adopt(value) }
    }

    /// Reads a user exception: its first known slice decides the type; unknown slices are
    /// skipped when they carry sizes.
    public mutating func readUserException() throws -> any UserException {
        classes.stack.append(InstanceReadState(isException: true))
        defer { _ = classes.stack.popLast() }  // (an error in a nested encapsulation leaves its state behind)
        try readSliceHeader(first: true)
        let mostDerived = classes.stack[classes.stack.count - 1].typeId ?? ""
        while true {
            let typeId = classes.stack[classes.stack.count - 1].typeId ?? ""
            if let exception = newException(typeId: typeId) {
                classes.stack[classes.stack.count - 1].headerPending = true
                try exception._iceReadImpl(from: &self)
                try skipTrailingSlices()
                return exception
            }
            let flags = classes.stack[classes.stack.count - 1].flags
            guard flags & SliceFlags.hasSliceSize != 0, flags & SliceFlags.isLastSlice == 0 else {
                throw MarshalError(.unknownUserException, mostDerived)
            }
            try skipUnknownSlice(describing: typeId)
            try readSliceHeader(first: false)
        }
    }

    /// Starts reading the next slice of the current instance or exception. Generated
    /// `_iceReadImpl` calls it once per inheritance level.
    public mutating func startSlice() throws {
        guard !classes.stack.isEmpty else {
            throw MarshalError(.invalidValue, "startSlice outside of a class instance or exception")
        }
        let top = classes.stack.count - 1
        if classes.stack[top].headerPending {
            classes.stack[top].headerPending = false
        } else {
            try readSliceHeader(first: false)
        }
        if classes.stack[top].flags & SliceFlags.hasIndirectionTable != 0 {
            // References in the members point into the table that follows them; read it first
            // so they resolve as they are met.
            let start = position
            try skip(classes.stack[top].sliceSize - 4)
            let table = try readIndirectionTable()
            classes.stack[top].indirection = table
            classes.stack[top].tableEnd = position
            seek(to: start)
        }
        classes.stack[top].inSlice = true
    }

    /// Finishes the current slice: skips unread optional members, checks its size, and
    /// steps over its indirection table.
    public mutating func endSlice() throws {
        let top = classes.stack.count - 1
        guard top >= 0, classes.stack[top].inSlice else {
            throw MarshalError(.invalidValue, "endSlice without startSlice")
        }
        let flags = classes.stack[top].flags
        if flags & SliceFlags.hasOptionalMembers != 0 { try skipRemainingOptionals() }
        if flags & SliceFlags.hasSliceSize != 0 {
            let consumed = position - classes.stack[top].sliceStart
            let sliceSize = classes.stack[top].sliceSize
            guard consumed == sliceSize - 4 else {
                throw MarshalError(.invalidSize, "slice of \(sliceSize) bytes, members took \(consumed + 4)")
            }
        }
        classes.stack[top].inSlice = false
        if let end = classes.stack[top].tableEnd {
            seek(to: end)
            classes.stack[top].indirection = []
            classes.stack[top].tableEnd = nil
        }
    }

    private mutating func readSliceHeader(first: Bool) throws {
        let top = classes.stack.count - 1
        let flags = try read(UInt8.self)
        var typeId: String?
        var compactId: Int?
        if classes.stack[top].isException {
            typeId = try read(String.self)
        } else {
            switch flags & SliceFlags.typeIdMask {
            case SliceFlags.typeIdString:
                let string = try read(String.self)
                classes.typeIds.append(string)
                typeId = string
            case SliceFlags.typeIdIndex:
                let index = try readSize()
                guard index >= 1, index <= classes.typeIds.count else {
                    throw MarshalError(.invalidReference, "type id index \(index) of \(classes.typeIds.count)")
                }
                typeId = classes.typeIds[index - 1]
            case SliceFlags.typeIdCompact:
                let id = try readSize()
                compactId = id
                typeId = self.typeId(forCompactId: id)
            default:
                if first { throw MarshalError(.invalidValue, "first slice of an instance has no type id") }
            }
        }
        if flags & SliceFlags.hasSliceSize != 0 {
            let size = Int(try read(Int32.self))
            guard size >= 4, size - 4 <= remaining else {
                throw MarshalError(.invalidSize, "slice size \(size) with \(remaining) bytes left")
            }
            classes.stack[top].sliceSize = size
        } else if flags & SliceFlags.hasIndirectionTable != 0 {
            throw MarshalError(.invalidValue, "slice has an indirection table but no size")
        }
        classes.stack[top].flags = flags
        classes.stack[top].typeId = typeId
        classes.stack[top].compactId = compactId
        classes.stack[top].sliceStart = position
    }

    private mutating func readIndirectionTable() throws -> [Value?] {
        let count = try readCount(minElementSize: 1)
        guard count > 0 else { throw MarshalError(.invalidValue, "empty indirection table") }
        var table: [Value?] = []
        table.reserveCapacity(count)
        for _ in 0..<count { table.append(try readInstanceReference()) }
        return table
    }

    /// Why a class in the compact format could not be read, and what usually fixes it: code
    /// that decodes by hand (a `Blobject`, `ice_invoke`) runs no generated proxy or servant, so
    /// nothing has registered the Slice file's loader.
    static func noClassFactory(_ typeId: String) -> String {
        "no class factory for \(typeId) and the slice cannot be skipped: no Slice loader of this communicator "
            + "knows it. Give the communicator the loader of the Slice file that defines it "
            + "(`sliceLoader: FILE_SliceLoader()`); generated proxies and servants register theirs when first used"
    }

    /// Skips a slice whose type is unknown, keeping its bytes and table for re-sending.
    private mutating func skipUnknownSlice(describing typeId: String) throws {
        let top = classes.stack.count - 1
        // Fields, not a copy of the state: a copy would share the `skipped` array appended to
        // below and make every append copy it, quadratic in the number of slices.
        let flags = classes.stack[top].flags
        let isException = classes.stack[top].isException
        guard flags & SliceFlags.hasSliceSize != 0 else {
            throw MarshalError(
                isException ? .unknownUserException : .noValueFactory,
                isException ? typeId : Self.noClassFactory(typeId))
        }
        let hasOptionals = flags & SliceFlags.hasOptionalMembers != 0
        var bytes = try readBlob(count: classes.stack[top].sliceSize - 4)
        // The optional end marker is re-written when the slice is sent again.
        if hasOptionals, bytes.last == 0xff { bytes.removeLast() }
        let instances = flags & SliceFlags.hasIndirectionTable != 0 ? try readIndirectionTable() : []
        let info = SliceInfo(
            typeId: classes.stack[top].typeId ?? "", compactId: classes.stack[top].compactId, bytes: bytes,
            instances: instances, hasOptionalMembers: hasOptionals, isLastSlice: flags & SliceFlags.isLastSlice != 0)
        classes.stack[top].skipped.append(info)
    }

    /// After the known slices: a sender whose type has more base slices than ours sent
    /// slices we can only skip.
    ///
    /// ZeroC's C++ runtime (3.7) writes user exceptions without the last-slice flag on their
    /// final slice, so for exceptions the end of the encapsulation also ends the slices.
    private mutating func skipTrailingSlices() throws {
        while classes.stack[classes.stack.count - 1].flags & SliceFlags.isLastSlice == 0 {
            if classes.stack[classes.stack.count - 1].isException && isAtEnd { return }
            try readSliceHeader(first: false)
            try skipUnknownSlice(describing: classes.stack[classes.stack.count - 1].typeId ?? "")
        }
    }
}
