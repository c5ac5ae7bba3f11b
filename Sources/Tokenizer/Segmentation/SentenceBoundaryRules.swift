/// Finds the sentences of one paragraph (see `SentenceSplitter` for the rules).
struct SentenceBoundaryRules {
    let text: ScalarText
    let abbreviations: Set<String>
    let numberAbbreviations: Set<String>

    /// Initialisms that often end a sentence ("at 5 p.m. Then..."): unlike
    /// `U.S.` or `e.g.`, a capitalised word after them starts a new sentence.
    static let sentenceFinalInitialisms: Set<String> = ["a.m", "p.m"]

    /// The sentences of the paragraph `start..<end`, which holds no line break
    /// and starts and ends with non-whitespace. Each sentence is trimmed; the
    /// gaps between them are whitespace only.
    func sentences(from start: Int, to end: Int) -> [Range<Int>] {
        let scalars = text.scalars
        var sentences: [Range<Int>] = []
        var sentenceStart = start
        var offset = start
        while offset < end {
            guard let firstKind = SegmentationScalars.terminatorKind(scalars[offset]) else {
                offset += 1
                continue
            }
            // The mark run: terminators, closing quotes/brackets and combining
            // marks, in any order ("?!", "...", ".\"", "。」").
            let runStart = offset
            var lastKind = firstKind
            var terminatorCount = 0
            var hasCloser = false
            while offset < end {
                let scalar = scalars[offset]
                if let kind = SegmentationScalars.terminatorKind(scalar) {
                    lastKind = kind
                    terminatorCount += 1
                } else if SegmentationScalars.isCloser(scalar) {
                    hasCloser = true
                } else if !SegmentationScalars.isGraphemeExtender(scalar) {
                    break
                }
                offset += 1
            }
            let isSinglePeriod = terminatorCount == 1 && scalars[runStart] == "." && !hasCloser
            if endsSentence(
                run: runStart..<offset, kind: lastKind, isSinglePeriod: isSinglePeriod,
                sentenceStart: sentenceStart, paragraphEnd: end)
            {
                sentences.append(sentenceStart..<offset)
                sentenceStart = text.skippingWhitespace(from: offset, to: end)
                offset = sentenceStart
            }
        }
        if sentenceStart < end {
            sentences.append(sentenceStart..<end)
        }
        return sentences
    }

    private func endsSentence(
        run: Range<Int>, kind: SegmentationScalars.TerminatorKind, isSinglePeriod: Bool,
        sentenceStart: Int, paragraphEnd end: Int
    ) -> Bool {
        let scalars = text.scalars
        // Decimals, URLs, e-mails and "..." glued to a word never qualify:
        // only CJK marks may be followed directly by the next sentence.
        if run.upperBound < end, !SegmentationScalars.isWhitespace(scalars[run.upperBound]), kind != .unspaced {
            return false
        }
        let nextWord = firstLetterOfNextWord(after: run.upperBound, before: end)
        // A sentence never starts in lower case: `"Stop!" she said`, `wait... no`,
        // or an abbreviation this list does not know (`approx. five`).
        if let next = nextWord, next.properties.isLowercase {
            return false
        }
        guard isSinglePeriod else { return true }

        let wordStart = startOfWord(endingAt: run.lowerBound, notBefore: sentenceStart)
        guard wordStart < run.lowerBound else { return true }
        let word = String(String.UnicodeScalarView(scalars[wordStart..<run.lowerBound]))
        let lowered = word.lowercased()
        if abbreviations.contains(lowered) {
            return false
        }
        if numberAbbreviations.contains(lowered), let next = nextWord, next.properties.numericType != nil {
            return false
        }
        if isInitialism(scalars[wordStart..<run.lowerBound]), !Self.sentenceFinalInitialisms.contains(lowered) {
            return false
        }
        if wordStart == sentenceStart, isListMarker(scalars[wordStart..<run.lowerBound]) {
            return false
        }
        return true
    }

    /// The first scalar of the next word, past whitespace and opening quotes.
    private func firstLetterOfNextWord(after start: Int, before end: Int) -> Unicode.Scalar? {
        var offset = text.skippingWhitespace(from: start, to: end)
        while offset < end, SegmentationScalars.isOpener(text.scalars[offset]) {
            offset += 1
        }
        return offset < end ? text.scalars[offset] : nil
    }

    /// Where the word before a period starts: back to the previous whitespace,
    /// then past any opening quotes or brackets (`("Mr.` → `Mr`).
    private func startOfWord(endingAt end: Int, notBefore limit: Int) -> Int {
        var start = end
        while start > limit, !SegmentationScalars.isWhitespace(text.scalars[start - 1]) {
            start -= 1
        }
        while start < end, SegmentationScalars.isOpener(text.scalars[start]) {
            start += 1
        }
        return start
    }

    /// `U.S`, `e.g`, `J` (a single capital): letters, each alone, joined by
    /// periods. A lone lower-case letter is not one ("plan b.").
    private func isInitialism(_ word: ArraySlice<Unicode.Scalar>) -> Bool {
        if word.count == 1, let only = word.first {
            return only.properties.isUppercase
        }
        guard word.count >= 3, word.count % 2 == 1 else { return false }
        for (position, scalar) in word.enumerated() {
            let fits = position % 2 == 0 ? scalar.properties.isAlphabetic : scalar == "."
            if !fits { return false }
        }
        return true
    }

    /// `1`, `12`, `a`, `iv`, `XII`: what numbers an item at the start of a line.
    private func isListMarker(_ word: ArraySlice<Unicode.Scalar>) -> Bool {
        if word.count <= 3, word.allSatisfy(SegmentationScalars.isASCIIDigit) {
            return true
        }
        if word.count == 1, let only = word.first, only.properties.isAlphabetic {
            return true
        }
        let romanDigits: Set<Unicode.Scalar> = ["i", "v", "x", "I", "V", "X"]
        return word.count <= 4 && word.allSatisfy { romanDigits.contains($0) }
    }
}
