/// Piece bytes -> ids, for the pieces of one `encode` call.
///
/// Why per call and not shared: a shared cache needs a lock on every piece, and the
/// tokenizer is used from many threads at once; a per-call cache needs none and still
/// catches the repetition inside a long text (Zipf: a few hundred words make up most of
/// any text).
///
/// Open addressing over arenas rather than `[[UInt8]: [Int]]`, which would allocate a
/// key array for every lookup.
struct WordCache {
    /// Entries beyond this are not cached (memory stays bounded on huge inputs).
    static let maximumEntries = 1 << 16
    /// Longer pieces (runs of spaces or of one letter) are rare and not worth storing.
    static let maximumPieceLength = 128

    private var slots: [Int32]  // entry index + 1, 0 = empty
    private var hashes: [UInt64] = []
    private var keyStarts: [Int32] = []
    private var idStarts: [Int32] = []  // entry i: ids[idStarts[i]..<idStarts[i + 1]]
    private var keyBytes: [UInt8] = []
    private var ids: [Int32] = []
    private var mask: Int

    init() {
        // Empty until the first insert, so that an unused cache allocates nothing.
        slots = []
        mask = 0
        keyStarts = [0]
        idStarts = [0]
    }

    var count: Int { hashes.count }

    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    /// Appends the cached ids of `piece` to `output` and returns true, or returns false.
    @inline(__always)
    func lookup(_ piece: UnsafeBufferPointer<UInt8>, hash: UInt64, into output: inout [Int]) -> Bool {
        if slots.isEmpty { return false }
        var index = Int(truncatingIfNeeded: hash >> 32) & mask
        while true {
            let slot = Int(slots[index])
            if slot == 0 { return false }
            let entry = slot - 1
            if hashes[entry] == hash, matches(entry, piece) {
                for i in Int(idStarts[entry])..<Int(idStarts[entry + 1]) { output.append(Int(ids[i])) }
                return true
            }
            index = (index + 1) & mask
        }
    }

    private func matches(_ entry: Int, _ piece: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = Int(keyStarts[entry])
        guard Int(keyStarts[entry + 1]) - start == piece.count else { return false }
        return keyBytes.withUnsafeBufferPointer { keys in
            for i in 0..<piece.count where keys[start + i] != piece[i] { return false }
            return true
        }
    }

    mutating func insert(_ piece: UnsafeBufferPointer<UInt8>, hash: UInt64, ids newIDs: ArraySlice<Int>) {
        guard count < WordCache.maximumEntries else { return }
        if (count + 1) * 2 > slots.count { grow() }
        let entry = count
        hashes.append(hash)
        keyBytes.append(contentsOf: piece)
        keyStarts.append(Int32(keyBytes.count))
        for id in newIDs { ids.append(Int32(id)) }
        idStarts.append(Int32(ids.count))
        place(entry, hash: hash)
    }

    private mutating func place(_ entry: Int, hash: UInt64) {
        var index = Int(truncatingIfNeeded: hash >> 32) & mask
        while slots[index] != 0 { index = (index + 1) & mask }
        slots[index] = Int32(entry + 1)
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: max(1024, slots.count * 2))
        mask = slots.count - 1
        for entry in 0..<count { place(entry, hash: hashes[entry]) }
    }
}
