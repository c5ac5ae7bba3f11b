/// How long a sentence may be before `SentenceSplitter` cuts it into pieces.
///
/// Derive it from the model: NLLB, for example, has 1024 positions and was
/// trained on sentences far shorter, so a few hundred tokens is a sensible cap.
public enum SentenceLengthLimit {
    /// At most this many Unicode scalars per piece (what Python's `len` counts).
    /// Values below 1 count as 1.
    case characters(Int)
    /// At most this many tokens per piece, as counted by `count` (typically
    /// `{ tokenizer.encode($0).count }`). The closure is called a few times per
    /// over-long sentence (a binary search over its word boundaries), never for
    /// sentences that already fit.
    case tokens(Int, count: (String) -> Int)
}

/// Cuts one over-long sentence into pieces that each fit a `SentenceLengthLimit`.
///
/// Each piece is as long as the limit allows, but when a `;`, then a `:`, then a
/// `,` followed by a space lies in the second half of that longest piece, the cut
/// goes right after it instead. Failing any space (a single enormous word, or
/// text in a script written without spaces, where full-width `，、；：` also count
/// as cut points), the cut falls on the last grapheme boundary that fits.
/// Nothing is dropped: the pieces and the whitespace between them make up the
/// sentence. Only a single grapheme that alone exceeds the limit yields a piece
/// over it.
struct SentenceFragmenter {
    let text: ScalarText
    let limit: SentenceLengthLimit

    func pieces(of sentence: Range<Int>) -> [Range<Int>] {
        guard !fits(sentence) else { return [sentence] }
        let cuts = cutPoints(in: sentence)
        var pieces: [Range<Int>] = []
        var start = sentence.lowerBound
        var firstCandidate = 0
        while start < sentence.upperBound {
            let rest = start..<sentence.upperBound
            if fits(rest) {
                pieces.append(rest)
                break
            }
            while firstCandidate < cuts.count, cuts[firstCandidate] <= start {
                firstCandidate += 1
            }
            var lastCandidate = firstCandidate
            while lastCandidate < cuts.count, cuts[lastCandidate] - start <= searchWindow {
                lastCandidate += 1
            }
            let cut = bestCut(from: start, end: sentence.upperBound, candidates: cuts[firstCandidate..<lastCandidate])
            pieces.append(start..<cut)
            start = text.skippingWhitespace(from: cut, to: sentence.upperBound)
        }
        return pieces
    }

    private var maxLength: Int {
        switch limit {
        case .characters(let count): return max(count, 1)
        case .tokens(let count, _): return count
        }
    }

    /// How many scalars a fitting piece can span at most: exact for a scalar
    /// cap; for tokens, a generous 64 scalars per token. Searches stay inside
    /// it, so a huge unbroken text costs linear, not quadratic, time.
    private var searchWindow: Int {
        switch limit {
        case .characters: return maxLength
        case .tokens: return max(maxLength, 1) * 64
        }
    }

    private func fits(_ range: Range<Int>) -> Bool {
        range.count <= searchWindow && measure(range) <= maxLength
    }

    private func measure(_ range: Range<Int>) -> Int {
        switch limit {
        case .characters: return range.count
        case .tokens(_, let count): return count(String(text.substring(range)))
        }
    }

    /// Offsets where a piece may end: at the first space after a word, or right
    /// after a full-width clause mark.
    private func cutPoints(in sentence: Range<Int>) -> [Int] {
        let scalars = text.scalars
        var cuts: [Int] = []
        guard sentence.count > 1 else { return cuts }
        for offset in (sentence.lowerBound + 1)..<sentence.upperBound {
            let previous = scalars[offset - 1]
            let current = scalars[offset]
            if SegmentationScalars.isWhitespace(current), !SegmentationScalars.isWhitespace(previous) {
                cuts.append(offset)
            } else if SegmentationScalars.isUnspacedClauseMark(previous), !SegmentationScalars.isWhitespace(current),
                !SegmentationScalars.isGraphemeExtender(current)
            {
                cuts.append(offset)
            }
        }
        return cuts
    }

    private func bestCut(from start: Int, end: Int, candidates: ArraySlice<Int>) -> Int {
        guard let longest = longestFitting(from: start, among: candidates) else {
            return hardCut(from: start, end: end)
        }
        let window = longest - start
        for rank in 0...2 {
            let clauseCut = candidates.last { cut in
                cut <= longest && 2 * (cut - start) >= window
                    && SegmentationScalars.clauseRank(text.scalars[cut - 1]) == rank
            }
            if let cut = clauseCut, cut == longest || measure(start..<cut) <= maxLength {
                return cut
            }
        }
        return longest
    }

    /// The farthest candidate whose piece fits. Gallops out from `start` (1, 2,
    /// 4... candidates on) and then bisects, so the text measured is at most
    /// about twice the piece; lengths grow with the cut (for token counts nearly
    /// so), and whatever is returned has been measured to fit.
    private func longestFitting(from start: Int, among candidates: ArraySlice<Int>) -> Int? {
        var fitting: Int?
        var tooLong = candidates.endIndex
        var probe = candidates.startIndex
        var step = 1
        while probe < candidates.endIndex {
            if measure(start..<candidates[probe]) <= maxLength {
                fitting = probe
                probe += step
                step *= 2
            } else {
                tooLong = probe
                break
            }
        }
        var low = fitting.map { $0 + 1 } ?? candidates.startIndex
        var high = tooLong
        while low < high {
            let middle = low + (high - low) / 2
            if measure(start..<candidates[middle]) <= maxLength {
                fitting = middle
                low = middle + 1
            } else {
                high = middle
            }
        }
        return fitting.map { candidates[$0] }
    }

    /// No space to cut at: the last grapheme boundary that fits, or the first
    /// grapheme alone when even that is too long (so every piece makes progress).
    private func hardCut(from start: Int, end: Int) -> Int {
        let boundaries = graphemeBoundaries(from: start, end: end)
        return longestFitting(from: start, among: boundaries[...]) ?? boundaries.first ?? end
    }

    /// Grapheme ends after `start` within the search window. The window may
    /// cut the last grapheme short, so that boundary is dropped; a window too
    /// narrow for even one whole grapheme is widened until it holds one.
    private func graphemeBoundaries(from start: Int, end: Int) -> [Int] {
        var windowEnd = min(end, start + searchWindow + 1)
        while true {
            var boundaries = graphemeEnds(from: start, to: windowEnd)
            if windowEnd == end {
                return boundaries
            }
            if boundaries.count > 1 {
                boundaries.removeLast()
                return boundaries
            }
            windowEnd = min(end, start + 2 * (windowEnd - start))
        }
    }

    private func graphemeEnds(from start: Int, to end: Int) -> [Int] {
        let slice = String(String.UnicodeScalarView(text.scalars[start..<end]))
        var ends: [Int] = []
        var offset = start
        for character in slice {
            offset += character.unicodeScalars.count
            ends.append(offset)
        }
        return ends
    }
}
