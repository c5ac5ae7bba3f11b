/// Exact lookup of byte strings (pieces) to ids: one open-addressing table of ids over a
/// flat arena of the keys' bytes.
///
/// BPE only ever asks "is this exact byte string a piece?", so it needs no trie. Built
/// with one random memory access per key (a trie costs one per byte: for a 256k-piece
/// vocabulary that was most of the tokenizer's load time).
struct SentencePieceExactTable: Sendable, Equatable {
    private var arena: [UInt8] = []
    /// Start of each key in `arena`; key i ends where key i + 1 starts.
    private var starts: [Int32] = [0]
    private var ids: [Int32] = []
    /// Slots hold key index + 1 (0 = empty).
    private var slots: [Int32]
    private let mask: Int

    init(capacity: Int, totalBytes: Int) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        arena.reserveCapacity(totalBytes)
        starts.reserveCapacity(capacity + 1)
        ids.reserveCapacity(capacity)
    }

    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int {
        // FNV-1a, then a multiplicative mix so the low bits (the slot) depend on every byte.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in range { h = (h ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01B3 }
        return Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> 17)
    }

    @inline(__always)
    private func matches(_ key: Int, _ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        let start = Int(starts[key])
        let end = Int(starts[key + 1])
        guard end - start == range.count else { return false }
        var j = start
        for i in range {
            if arena[j] != bytes[i] { return false }
            j += 1
        }
        return true
    }

    /// Adds `key` with `value`; returns false (and keeps the first value) when it is there already.
    mutating func insert(_ key: [UInt8], value: Int) -> Bool {
        key.withUnsafeBufferPointer { bytes in
            let range = 0..<bytes.count
            var s = Self.hash(bytes, range) & mask
            while slots[s] != 0 {
                if matches(Int(slots[s]) - 1, bytes, range) { return false }
                s = (s + 1) & mask
            }
            arena.append(contentsOf: bytes)
            starts.append(Int32(arena.count))
            ids.append(Int32(value))
            slots[s] = Int32(ids.count)
            return true
        }
    }

    /// The id of exactly `bytes[range]`, or nil.
    func lookup(_ bytes: [UInt8], _ range: Range<Int>) -> Int? {
        bytes.withUnsafeBufferPointer { buffer in
            var s = Self.hash(buffer, range) & mask
            while slots[s] != 0 {
                let key = Int(slots[s]) - 1
                if matches(key, buffer, range) { return Int(ids[key]) }
                s = (s + 1) & mask
            }
            return nil
        }
    }
}
