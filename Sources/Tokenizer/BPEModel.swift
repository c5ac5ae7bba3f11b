/// A byte-level BPE model: the vocabulary, the merge ranks, and the merge loop.
///
/// Tokens are handled as ids from the start: each input byte becomes the id of its
/// one-character token, and a merge turns a pair of ids into one id. Token strings are
/// only needed to build the tables, and are compared as UTF-8 bytes, never as Swift
/// `String`s (which compare by canonical equivalence).
struct BPEModel: Sendable {
    /// Token string (UTF-8 of its byte-level form, as in vocab.json) to id.
    let vocabulary: [[UInt8]: Int]
    /// Token string of each id, or nil where the ids have a gap.
    let tokenStrings: [[UInt8]?]
    /// Id of the one-character token of each byte, -1 if the vocabulary lacks it.
    let byteTokenIDs: [Int32]
    let merges: MergeTable
    let unknownTokenID: Int32?
    let fuseUnknown: Bool
    /// Llama-3 style: a piece that is itself a token is emitted whole, without merging.
    let ignoreMerges: Bool

    /// Words longer than this (in bytes) use the heap-based merge loop, whose cost grows
    /// as n log n instead of n^2. Below it the plain scan is faster. Both merge the
    /// lowest-rank pair first, leftmost on ties, as HF tokenizers does.
    static let heapThreshold = 64

    /// Builds the model; `merges` are token-string pairs in rank order. `source` and
    /// `mergeLine(rank)` only serve error messages.
    init(
        vocabulary: [[UInt8]: Int], merges: [([UInt8], [UInt8])], unknownToken: [UInt8]?, fuseUnknown: Bool,
        ignoreMerges: Bool, source: String, mergeLine: (Int) -> Int
    ) throws {
        guard !vocabulary.isEmpty else {
            throw TokenizerError.invalidVocabulary(path: source, reason: "the vocabulary is empty")
        }
        var maxID = -1
        for (_, id) in vocabulary {
            guard id >= 0 && id < Int(Int32.max) else {
                throw TokenizerError.invalidVocabulary(path: source, reason: "token id \(id) is out of range")
            }
            maxID = max(maxID, id)
        }
        var strings = [[UInt8]?](repeating: nil, count: maxID + 1)
        for (token, id) in vocabulary where strings[id] == nil || token.lexicographicallyPrecedes(strings[id]!) {
            // Two strings for one id: keep one deterministically (HF keeps an arbitrary one).
            strings[id] = token
        }
        var byteIDs = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            let token = ByteLevelPreTokenizer.tokenString(forBytes: [UInt8(byte)])
            if let id = vocabulary[token] { byteIDs[byte] = Int32(id) }
        }
        var table = MergeTable(capacity: merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let leftID = vocabulary[left] else {
                throw TokenizerError.mergeTokenNotInVocabulary(
                    path: source, line: mergeLine(rank), token: String(decoding: left, as: UTF8.self))
            }
            guard let rightID = vocabulary[right] else {
                throw TokenizerError.mergeTokenNotInVocabulary(
                    path: source, line: mergeLine(rank), token: String(decoding: right, as: UTF8.self))
            }
            guard let newID = vocabulary[left + right] else {
                throw TokenizerError.mergeTokenNotInVocabulary(
                    path: source, line: mergeLine(rank), token: String(decoding: left + right, as: UTF8.self))
            }
            table.insert(left: Int32(leftID), right: Int32(rightID), rank: Int32(rank), newID: Int32(newID))
        }
        var unknownID: Int32?
        if let unknownToken {
            guard let id = vocabulary[unknownToken] else {
                throw TokenizerError.invalidField(
                    path: source, field: "model.unk_token",
                    reason: "names "
                        + "\(String(decoding: unknownToken, as: UTF8.self).debugDescription), which is not in the vocabulary"
                )
            }
            unknownID = Int32(id)
        }
        self.vocabulary = vocabulary
        self.tokenStrings = strings
        self.byteTokenIDs = byteIDs
        self.merges = table
        self.unknownTokenID = unknownID
        self.fuseUnknown = fuseUnknown
        self.ignoreMerges = ignoreMerges
    }

    /// Appends the ids of one pre-tokenized piece (raw bytes) to `output`.
    func encodePiece(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int], scratch: inout BPEScratch) {
        if ignoreMerges, let id = vocabulary[ByteLevelPreTokenizer.tokenString(forBytes: Array(piece))] {
            output.append(id)
            return
        }
        if piece.count == 1, unknownTokenID == nil {
            // Most common case after the pre-tokenizer (punctuation, single spaces): no merging.
            let id = byteTokenIDs[Int(piece[0])]
            if id >= 0 { output.append(Int(id)) }
            return
        }
        if scratch.useCache && piece.count <= WordCache.maximumPieceLength {
            let hash = WordCache.hash(piece)
            if scratch.cache.lookup(piece, hash: hash, into: &output) { return }
            let start = output.count
            mergePiece(piece, into: &output, scratch: &scratch)
            scratch.cache.insert(piece, hash: hash, ids: output[start...])
        } else {
            mergePiece(piece, into: &output, scratch: &scratch)
        }
    }

    private func mergePiece(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int], scratch: inout BPEScratch) {
        scratch.reserve(piece.count)
        var count = 0
        scratch.symbols.withUnsafeMutableBufferPointer { symbols in
            var previousWasUnknown = false
            for byte in piece {
                let id = byteTokenIDs[Int(byte)]
                if id >= 0 {
                    symbols[count] = id
                    count += 1
                    previousWasUnknown = false
                } else if let unknownTokenID {
                    // Like HF: consecutive unknown characters become one <unk> when fuse_unk is set.
                    if !(fuseUnknown && previousWasUnknown) {
                        symbols[count] = unknownTokenID
                        count += 1
                    }
                    previousWasUnknown = true
                }
            }
        }
        if count > 1 {
            if count > BPEModel.heapThreshold || scratch.forceHeap {
                count = mergeWithHeap(&scratch, count: count)
            } else {
                count = scratch.symbols.withUnsafeMutableBufferPointer { symbols in
                    scratch.ranks.withUnsafeMutableBufferPointer { ranks in
                        mergeByScanning(symbols.baseAddress!, ranks.baseAddress!, count: count)
                    }
                }
            }
        }
        for i in 0..<count { output.append(Int(scratch.symbols[i])) }
    }

    /// Repeatedly merges the adjacent pair of lowest rank (leftmost on ties); returns the
    /// new symbol count. `ranks[i]` is the rank of the pair (symbols[i], symbols[i+1]),
    /// Int32.max if they do not merge. Raw pointers: this is the hot loop of encoding.
    private func mergeByScanning(
        _ symbols: UnsafeMutablePointer<Int32>, _ ranks: UnsafeMutablePointer<Int32>, count: Int
    ) -> Int {
        var count = count
        for i in 0..<(count - 1) {
            ranks[i] = merges.lookup(left: symbols[i], right: symbols[i + 1])?.rank ?? Int32.max
        }
        while count > 1 {
            var best = Int32.max
            var bestIndex = -1
            for i in 0..<(count - 1) where ranks[i] < best {
                best = ranks[i]
                bestIndex = i
            }
            if bestIndex < 0 { break }
            let merged = merges.lookup(left: symbols[bestIndex], right: symbols[bestIndex + 1])!.newID
            symbols[bestIndex] = merged
            // Close the gap left by the right symbol (and by its pair rank).
            let tail = count - bestIndex - 2
            if tail > 0 {
                (symbols + bestIndex + 1).update(from: symbols + bestIndex + 2, count: tail)
                (ranks + bestIndex).update(from: ranks + bestIndex + 1, count: tail)
            }
            count -= 1
            if bestIndex > 0 {
                ranks[bestIndex - 1] = merges.lookup(left: symbols[bestIndex - 1], right: merged)?.rank ?? Int32.max
            }
            if bestIndex < count - 1 {
                ranks[bestIndex] = merges.lookup(left: merged, right: symbols[bestIndex + 1])?.rank ?? Int32.max
            }
        }
        return count
    }

    /// The same merge order as `mergeByScanning`, for long words: a doubly linked list of
    /// symbols and a min-heap of candidate merges keyed by (rank, position), where stale
    /// entries are recognised and skipped when popped (the approach of HF's `Word::merge_all`).
    private func mergeWithHeap(_ scratch: inout BPEScratch, count: Int) -> Int {
        var symbols = Array(scratch.symbols[0..<count])
        var previous = [Int](0..<count).map { $0 - 1 }
        var next = [Int](1...count)
        var alive = [Bool](repeating: true, count: count)
        var heap = MergeHeap()
        for i in 0..<(count - 1) {
            if let merge = merges.lookup(left: symbols[i], right: symbols[i + 1]) {
                heap.push(MergeCandidate(rank: merge.rank, position: i, newID: merge.newID))
            }
        }
        while let top = heap.pop() {
            let position = top.position
            guard alive[position], next[position] < count else { continue }
            let right = next[position]
            // Stale if the pair at this position changed since the candidate was pushed.
            guard let current = merges.lookup(left: symbols[position], right: symbols[right]),
                current.newID == top.newID
            else { continue }
            symbols[position] = top.newID
            alive[right] = false
            next[position] = next[right]
            if next[right] < count { previous[next[right]] = position }
            if previous[position] >= 0, let merge = merges.lookup(left: symbols[previous[position]], right: top.newID) {
                heap.push(MergeCandidate(rank: merge.rank, position: previous[position], newID: merge.newID))
            }
            if next[position] < count, let merge = merges.lookup(left: top.newID, right: symbols[next[position]]) {
                heap.push(MergeCandidate(rank: merge.rank, position: position, newID: merge.newID))
            }
        }
        var write = 0
        for i in 0..<count where alive[i] {
            scratch.symbols[write] = symbols[i]
            write += 1
        }
        return write
    }
}

/// Buffers reused across the pieces of one `encode` call.
struct BPEScratch {
    var symbols: [Int32] = []
    var ranks: [Int32] = []
    /// Tests set this to check that both merge loops agree.
    var forceHeap = false
    /// Set for long inputs only: for a short prompt, building the cache costs more than it saves.
    var useCache = false
    var cache = WordCache()

    mutating func reserve(_ count: Int) {
        if symbols.count < count {
            let size = max(count, 2 * symbols.count, 64)
            symbols = [Int32](repeating: 0, count: size)
            ranks = [Int32](repeating: 0, count: size)
        }
    }
}

/// Open-addressing hash table from an id pair to (rank, merged id).
///
/// A dictionary keyed by a tuple would hash with SipHash; merge lookups are the inner
/// loop of encoding, so a multiplicative hash on a packed 64-bit key pays off.
struct MergeTable: Sendable {
    /// Key and value side by side: a lookup touches one cache line.
    private var slots: [UInt64]
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: MergeTable.empty, count: 2 * size)
        for i in 0..<size { slots[2 * i + 1] = 0 }
        mask = size - 1
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    /// Inserts or replaces (a pair listed twice keeps its last rank, as in HF).
    mutating func insert(left: Int32, right: Int32, rank: Int32, newID: Int32) {
        let key = MergeTable.key(left, right)
        var index = slot(key)
        while slots[2 * index] != MergeTable.empty && slots[2 * index] != key { index = (index + 1) & mask }
        slots[2 * index] = key
        slots[2 * index + 1] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: newID))
    }

    @inline(__always)
    func lookup(left: Int32, right: Int32) -> (rank: Int32, newID: Int32)? {
        let key = MergeTable.key(left, right)
        var index = slot(key)
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let found = slots[2 * index]
                if found == key {
                    let value = slots[2 * index + 1]
                    return (Int32(truncatingIfNeeded: value >> 32), Int32(truncatingIfNeeded: value))
                }
                if found == MergeTable.empty { return nil }
                index = (index + 1) & mask
            }
        }
    }
}

struct MergeCandidate {
    var rank: Int32
    var position: Int
    var newID: Int32

    /// Lower rank first, then leftmost.
    @inline(__always)
    func precedes(_ other: MergeCandidate) -> Bool {
        rank != other.rank ? rank < other.rank : position < other.position
    }
}

/// Binary min-heap of merge candidates.
struct MergeHeap {
    private var items: [MergeCandidate] = []

    mutating func push(_ item: MergeCandidate) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].precedes(items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> MergeCandidate? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < items.count && items[left].precedes(items[smallest]) { smallest = left }
                if right < items.count && items[right].precedes(items[smallest]) { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
