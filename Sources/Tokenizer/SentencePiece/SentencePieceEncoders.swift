/// The segmentation algorithms, working on normalized UTF-8 bytes and returning
/// (byte range of the piece in the normalized text, piece id) in order.
extension SentencePieceProcessor {
    // MARK: BPE (sentencepiece `bpe::Model::SampleEncode` with alpha 0)

    private struct Symbol {
        var start: Int
        var end: Int
        var prev: Int
        var next: Int
        var freeze: Bool
        var id: Int  // piece id when known (merge-rank mode), else -1
    }

    private struct Candidate {
        var priority: Double
        var left: Int
        var right: Int
        var size: Int
        var mergedID: Int
    }

    /// Max-heap on (priority, then smaller `left`): sentencepiece's SymbolPairComparator.
    private struct CandidateHeap {
        var items: [Candidate] = []
        @inline(__always) static func higher(_ a: Candidate, _ b: Candidate) -> Bool {
            a.priority > b.priority || (a.priority == b.priority && a.left < b.left)
        }
        mutating func push(_ c: Candidate) {
            items.append(c)
            var i = items.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                if !Self.higher(items[i], items[parent]) { break }
                items.swapAt(i, parent)
                i = parent
            }
        }
        mutating func pop() -> Candidate? {
            guard !items.isEmpty else { return nil }
            let top = items[0]
            let last = items.removeLast()
            if !items.isEmpty {
                items[0] = last
                var i = 0
                while true {
                    let l = 2 * i + 1
                    let r = l + 1
                    var best = i
                    if l < items.count, Self.higher(items[l], items[best]) { best = l }
                    if r < items.count, Self.higher(items[r], items[best]) { best = r }
                    if best == i { break }
                    items.swapAt(i, best)
                    i = best
                }
            }
            return top
        }
    }

    func encodeBPE(_ text: [UInt8]) -> [(range: Range<Int>, id: Int)] {
        guard !text.isEmpty else { return [] }
        var symbols: [Symbol] = []
        symbols.reserveCapacity(text.count)
        var position = 0
        while position < text.count {
            var length = userDefinedMatcher?.longestPrefix(text, from: position) ?? 0
            let freeze = length > 0
            if !freeze { length = min(text.count - position, sentencePieceOneCharLength(text[position])) }
            let index = symbols.count
            let end = position + length
            let id = mergeRanks == nil ? -1 : (pieceTable.lookup(text, position..<end) ?? -1)
            symbols.append(
                Symbol(
                    start: position, end: end, prev: index - 1,
                    next: end >= text.count ? -1 : index + 1, freeze: freeze, id: id))
            position = end
        }

        var heap = CandidateHeap()
        var reverseMerge: [[UInt8]: Int] = [:]  // unused piece -> length of its left part

        func maybeAdd(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0, !symbols[left].freeze, !symbols[right].freeze else { return }
            let range = symbols[left].start..<symbols[right].end
            if let mergeRanks {
                let l = symbols[left].id
                let r = symbols[right].id
                guard l >= 0, r >= 0, let rule = mergeRanks[UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))] else { return }
                heap.push(
                    Candidate(
                        priority: -Double(rule.rank), left: left, right: right,
                        size: range.count, mergedID: Int(rule.merged)))
                return
            }
            guard let id = pieceTable.lookup(text, range) else { return }
            heap.push(
                Candidate(priority: Double(scores[id]), left: left, right: right, size: range.count, mergedID: id))
            if types[id] == .unused {
                reverseMerge[Array(text[range])] = symbols[left].end - symbols[left].start
            }
        }

        for i in 1..<symbols.count { maybeAdd(i - 1, i) }

        while let top = heap.pop() {
            let l = symbols[top.left]
            let r = symbols[top.right]
            if l.start == l.end || r.start == r.end || (l.end - l.start) + (r.end - r.start) != top.size { continue }
            symbols[top.left].end = r.end
            symbols[top.left].id = top.mergedID
            symbols[top.left].next = r.next
            if r.next >= 0 { symbols[r.next].prev = top.left }
            symbols[top.right].start = r.end  // empty
            symbols[top.right].end = r.end
            maybeAdd(symbols[top.left].prev, top.left)
            maybeAdd(top.left, symbols[top.left].next)
        }

        var output: [(range: Range<Int>, id: Int)] = []
        func resegment(_ range: Range<Int>) {
            let id = pieceID(text, range)
            if types[id] != .unused || mergeRanks != nil {
                output.append((range, id))
                return
            }
            guard let leftLength = reverseMerge[Array(text[range])] else {
                output.append((range, id))
                return
            }
            resegment(range.lowerBound..<(range.lowerBound + leftLength))
            resegment((range.lowerBound + leftLength)..<range.upperBound)
        }
        var index = 0
        while index != -1 {
            resegment(symbols[index].start..<symbols[index].end)
            index = symbols[index].next
        }
        return output
    }

    // MARK: Unigram (sentencepiece `unigram::Model::EncodeOptimized`)

    func encodeUnigram(_ text: [UInt8]) -> [(range: Range<Int>, id: Int)] {
        guard !text.isEmpty else { return [] }
        struct BestPathNode {
            var id = -1
            var bestPathScore: Float = 0
            var startsAt = -1
        }
        let size = text.count
        let unkScore: Float = minScore - 10.0  // kUnkPenalty
        var best = [BestPathNode](repeating: BestPathNode(), count: size + 1)
        var startsAt = 0
        while startsAt < size {
            let scoreTillHere = best[startsAt].bestPathScore
            var hasSingleNode = false
            let mblen = min(sentencePieceOneCharLength(text[startsAt]), size - startsAt)
            var node: Int32 = 0
            var keyPos = startsAt
            while keyPos < size {
                node = pieceTrie.child(of: node, text[keyPos])
                if node < 0 { break }
                keyPos += 1
                let ret = Int(pieceTrie.value(at: node))
                guard ret >= 0 else { continue }
                if types[ret] == .unused { continue }
                let length = keyPos - startsAt
                // Single-precision throughout: the library (0.2.x wheels) breaks ties between
                // equal-scoring paths exactly as float sums do (checked on test_model.model).
                let score: Float =
                    types[ret] == .userDefined
                    ? Float(length) * maxScore - 0.1  // user-defined symbols always win
                    : scores[ret]
                let candidate = score + scoreTillHere
                if best[keyPos].startsAt == -1 || candidate > best[keyPos].bestPathScore {
                    best[keyPos].bestPathScore = candidate
                    best[keyPos].startsAt = startsAt
                    best[keyPos].id = ret
                }
                if !hasSingleNode && length == mblen { hasSingleNode = true }
            }
            if !hasSingleNode {
                let target = startsAt + mblen
                let candidate = unkScore + scoreTillHere
                if best[target].startsAt == -1 || candidate > best[target].bestPathScore {
                    best[target].bestPathScore = candidate
                    best[target].startsAt = startsAt
                    best[target].id = unknownID
                }
            }
            startsAt += mblen
        }
        var results: [(range: Range<Int>, id: Int)] = []
        var endsAt = size
        while endsAt > 0 {
            let node = best[endsAt]
            guard node.startsAt >= 0, node.startsAt < endsAt else { break }  // cannot happen on valid input
            results.append((node.startsAt..<endsAt, node.id))
            endsAt = node.startsAt
        }
        return results.reversed()
    }
}
