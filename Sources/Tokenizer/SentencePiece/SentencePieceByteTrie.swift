/// A byte trie mapping UTF-8 byte strings to ids, used for the piece vocabulary
/// (exact and prefix lookups) and for user-defined symbols.
///
/// Edges live in one open-addressing hash table keyed by (node, byte), so a lookup
/// costs one probe per byte whatever the fan-out (a 256k-piece vocabulary has nodes
/// with hundreds of children). Each slot packs key and target into one word so that
/// a probe touches one cache line.
struct SentencePieceByteTrie: Sendable, Equatable {
    /// Value of each node (-1: not the end of a key). Node 0 is the root.
    private var values: [Int32] = [-1]
    /// Slots: (node << 8 | byte) + 1 in the high 32 bits (0 = empty), child node in the low 32 bits.
    private var slots: [UInt64] = [UInt64](repeating: 0, count: 64)
    private var edgeCount = 0
    /// 64 - log2(capacity): Fibonacci hashing keeps the top bits of key * 2^64/phi.
    private var shift: UInt64 = 58

    /// Length in bytes of the longest key.
    private(set) var maxKeyLength = 0
    var isEmpty: Bool { values.count == 1 }

    init() {}

    /// An empty trie sized for keys totalling `totalKeyBytes` bytes (no rehashing while filling).
    init(reservingForKeyBytes totalKeyBytes: Int) {
        var capacity = 64
        var shift: UInt64 = 58
        while capacity < totalKeyBytes * 2 + 2 {
            capacity *= 2
            shift -= 1
        }
        slots = [UInt64](repeating: 0, count: capacity)
        self.shift = shift
        values.reserveCapacity(totalKeyBytes + 1)
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    @inline(__always)
    private static func edgeKey(_ node: Int32, _ byte: UInt8) -> UInt64 {
        (UInt64(UInt32(node)) << 8 | UInt64(byte)) + 1
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        shift -= 1
        let mask = slots.count - 1
        for entry in old where entry != 0 {
            var s = slot(entry >> 32)
            while slots[s] != 0 { s = (s + 1) & mask }
            slots[s] = entry
        }
    }

    /// Inserts `key`; an existing key keeps its first value. Returns false when the key
    /// was already there (how the model's duplicate pieces are found).
    @discardableResult
    mutating func insert(_ key: [UInt8], value: Int) -> Bool {
        guard !key.isEmpty else { return true }
        var node: Int32 = 0
        for byte in key {
            let k = Self.edgeKey(node, byte)
            let mask = slots.count - 1
            var s = slot(k)
            var found: Int32 = -1
            while slots[s] != 0 {
                if slots[s] >> 32 == k {
                    found = Int32(truncatingIfNeeded: slots[s] & 0xFFFF_FFFF)
                    break
                }
                s = (s + 1) & mask
            }
            if found >= 0 {
                node = found
                continue
            }
            let created = Int32(values.count)
            values.append(-1)
            if (edgeCount + 1) * 2 > slots.count {
                grow()
                let mask = slots.count - 1
                s = slot(k)
                while slots[s] != 0 { s = (s + 1) & mask }
            }
            slots[s] = k << 32 | UInt64(UInt32(created))
            edgeCount += 1
            node = created
        }
        maxKeyLength = max(maxKeyLength, key.count)
        guard values[Int(node)] < 0 else { return false }
        values[Int(node)] = Int32(value)
        return true
    }

    /// The child of `node` labelled `byte`, or -1.
    @inline(__always)
    func child(of node: Int32, _ byte: UInt8) -> Int32 {
        let k = Self.edgeKey(node, byte)
        let mask = slots.count - 1
        var s = slot(k)
        while true {
            let entry = slots[s]
            if entry >> 32 == k { return Int32(truncatingIfNeeded: entry & 0xFFFF_FFFF) }
            if entry == 0 { return -1 }
            s = (s + 1) & mask
        }
    }

    /// The value stored at `node`, or -1.
    @inline(__always)
    func value(at node: Int32) -> Int32 { values[Int(node)] }

    /// Exact lookup of `bytes[range]`.
    func lookup(_ bytes: [UInt8], _ range: Range<Int>) -> Int? {
        var node: Int32 = 0
        for i in range {
            node = child(of: node, bytes[i])
            if node < 0 { return nil }
        }
        let v = values[Int(node)]
        return v >= 0 ? Int(v) : nil
    }

    func lookup(_ key: [UInt8]) -> Int? { lookup(key, 0..<key.count) }

    /// Length of the longest key that is a prefix of `bytes[start...]`, or 0.
    func longestPrefix(_ bytes: [UInt8], from start: Int) -> Int {
        var node: Int32 = 0
        var best = 0
        var i = start
        while i < bytes.count {
            node = child(of: node, bytes[i])
            if node < 0 { break }
            i += 1
            if values[Int(node)] >= 0 { best = i - start }
        }
        return best
    }
}
