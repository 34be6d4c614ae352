/// The ids of the class instances written so far, by object identity.
///
/// An open-addressing table hashed by multiplying the object's address: `Dictionary` runs
/// SipHash over every key, which was a tenth of the time of encoding a tree of small instances.
/// Addresses are not chosen by peers, so a cheap hash cannot be steered into collisions.
struct InstanceIdTable {
    /// Object addresses (0: empty slot) and their ids, in parallel.
    private var keys: [UInt]
    private var ids: [Int]
    private var count = 0
    private var shift: UInt

    init() {
        keys = []
        ids = []
        shift = 64
    }

    /// The id of `object` if it was added before; otherwise adds it with `newId` and returns nil.
    mutating func id(of object: ObjectIdentifier, orAdd newId: Int) -> Int? {
        if count * 2 >= keys.count { grow() }
        let key = UInt(bitPattern: object)
        let mask = keys.count - 1
        var slot = Self.slot(key, shift: shift)
        while true {
            let found = keys[slot]
            if found == key { return ids[slot] }
            if found == 0 {
                keys[slot] = key
                ids[slot] = newId
                count += 1
                return nil
            }
            slot = (slot + 1) & mask
        }
    }

    private static func slot(_ key: UInt, shift: UInt) -> Int {
        // Fibonacci hashing: the high bits of the product mix every bit of the address.
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldIds = ids
        let capacity = max(16, keys.count * 2)
        keys = Array(repeating: 0, count: capacity)
        ids = Array(repeating: 0, count: capacity)
        shift = UInt(64 - capacity.trailingZeroBitCount)
        let mask = capacity - 1
        for (key, id) in zip(oldKeys, oldIds) where key != 0 {
            var slot = Self.slot(key, shift: shift)
            while keys[slot] != 0 { slot = (slot + 1) & mask }
            keys[slot] = key
            ids[slot] = id
        }
    }
}
