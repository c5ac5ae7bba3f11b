/// Cuts text into paragraphs and sentences for sentence-level translation,
/// keeping every character: each sentence is a slice of the source with its
/// punctuation, and the whitespace between slices is recorded so that
/// `SplitText.reassemble` restores the layout around translated sentences.
///
///     let split = SentenceSplitter().split(text, limit: .tokens(200) { nllb.encode($0).count })
///     let translated = try translate(split.sentences.map { String($0.text) })  // one batch
///     let output = try split.reassemble(translated)
///
/// Paragraphs: every line break ends a paragraph, so sentences never span
/// lines; the whitespace between paragraphs (`"\n"`, `"\n\n"`, indentation...)
/// is kept verbatim, as is whitespace before the first and after the last.
/// Hard-wrapped prose therefore splits at line ends as well.
///
/// Sentences end after a run of terminators, closing quotes and brackets
/// (`.`, `!`, `?`, `…`, `?!`, `...`, `."`, `!)`, `।`, `॥`, `؟`, `۔`, `։`, `።`,
/// `။`, `។`, `‼`) when whitespace or the end of the paragraph follows; after
/// the CJK marks `。！？｡` (and vertical forms) no space is needed. Closing
/// quotes and brackets right after the terminator stay in the sentence. Such a
/// run does not end a sentence when:
/// - the next word (past opening quotes) starts with a lower-case letter:
///   `"Stop!" she said`, `Wait... what`, `approx. five`;
/// - it is a single `.` after a known abbreviation (`Mr.`, `Dr.`, `St.`,
///   `vs.`, `etc.` is NOT one: it ends a sentence before a capital), or after
///   a number abbreviation followed by a number (`No. 5`, `Fig. 2`, `Jan. 2024`);
/// - it is a single `.` after an initialism or a capital initial: `U.S.`,
///   `e.g.`, `i.e.`, `J. R. R. Tolkien` (but `a.m.`/`p.m.` end a sentence
///   before a capital);
/// - it is a single `.` after a list marker opening the sentence: `1. First`,
///   `a. item`, `IV. Part`.
/// Decimals (`3.14`), URLs and e-mail addresses (`example.com/a.b`,
/// `hi@example.com`) never split because no space follows their periods.
///
/// Known limits: a sentence ending in an abbreviation, initialism or capital
/// letter (`...lives in the U.S. He...`, `...plan B. Then...`, `It was I. Then`)
/// is not split; a sentence starting in lower case after a period joins the
/// previous one (`...the end. iPhones...`); Thai,
/// Lao and other scripts without sentence punctuation are only cut by the
/// length limit; a period inside a quotation does not split when the quote
/// goes on in lower case. Erring on "no split" is safe for translation: the
/// length limit still bounds every piece.
///
/// Total: any string, including empty or huge ones, gives a result.
public struct SentenceSplitter: Sendable {
    /// Words (lower-cased, without the final period) after which a period
    /// never ends a sentence.
    public var abbreviations: Set<String>
    /// Words after which a period does not end a sentence when a number follows.
    public var numberAbbreviations: Set<String>

    public init(
        abbreviations: Set<String> = SentenceSplitter.defaultAbbreviations,
        numberAbbreviations: Set<String> = SentenceSplitter.defaultNumberAbbreviations
    ) {
        self.abbreviations = abbreviations
        self.numberAbbreviations = numberAbbreviations
    }

    /// Titles and Latin abbreviations of English (and a few of Spanish,
    /// French and German) that are followed by more of the same sentence.
    /// Dotted ones (`e.g.`, `i.e.`, `z.B.`) need no entry: the initialism rule
    /// covers them.
    public static let defaultAbbreviations: Set<String> = [
        "mr", "mrs", "ms", "mx", "messrs", "dr", "prof", "sr", "jr", "st", "mt", "ft",
        "gen", "col", "capt", "lt", "sgt", "cpl", "maj", "adm", "cmdr", "rev", "fr", "hon",
        "gov", "pres", "sen", "rep", "supt", "insp",
        "sra", "srta", "dra", "mme", "mlle", "mmes", "hr", "frl",
        "vs", "cf", "viz", "approx", "ca", "al", "esp", "incl", "dept", "univ", "assn",
    ]

    /// Abbreviations that stand before a number: `No. 5`, `p. 12`, `Jan. 2024`.
    public static let defaultNumberAbbreviations: Set<String> = [
        "no", "nos", "nr", "vol", "vols", "p", "pp", "fig", "figs", "ch", "chap", "sec",
        "art", "op", "tel", "ed", "ep",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    ]

    /// Paragraphs and sentences of `text`, sentences left as long as they are.
    public func split(_ text: String) -> SplitText {
        split(text, fragmenter: nil)
    }

    /// Paragraphs and sentences of `text`, with every sentence longer than
    /// `limit` cut further (see `SentenceLengthLimit`); nothing is truncated.
    public func split(_ text: String, limit: SentenceLengthLimit) -> SplitText {
        split(text, fragmenter: { SentenceFragmenter(text: $0, limit: limit) })
    }

    private func split(_ source: String, fragmenter makeFragmenter: ((ScalarText) -> SentenceFragmenter)?) -> SplitText
    {
        let text = ScalarText(source)
        let rules = SentenceBoundaryRules(
            text: text, abbreviations: abbreviations,
            numberAbbreviations: numberAbbreviations)
        let fragmenter = makeFragmenter?(text)
        let firstContent = text.skippingWhitespace(from: 0, to: text.count)
        var paragraphs: [SplitText.Paragraph] = []
        var start = firstContent
        var trailingStart = text.count
        while start < text.count {
            var lineEnd = start
            while lineEnd < text.count, !SegmentationScalars.isLineBreak(text.scalars[lineEnd]) {
                lineEnd += 1
            }
            let end = text.trimmingWhitespace(backFrom: lineEnd, to: start)
            let next = text.skippingWhitespace(from: end, to: text.count)
            var sentences: [SplitText.Sentence] = []
            for sentence in rules.sentences(from: start, to: end) {
                let pieces = fragmenter?.pieces(of: sentence) ?? [sentence]
                for piece in pieces {
                    sentences.append(
                        SplitText.Sentence(
                            range: text.stringRange(piece), utf8Offsets: text.utf8Range(piece),
                            text: text.substring(piece), isLengthFragment: pieces.count > 1))
                }
            }
            let separator = next < text.count ? text.substring(end..<next) : Substring()
            paragraphs.append(
                SplitText.Paragraph(
                    range: text.stringRange(start..<end), sentences: sentences,
                    separator: separator))
            if next >= text.count {
                trailingStart = end
            }
            start = next
        }
        return SplitText(
            source: source,
            leadingWhitespace: text.substring(0..<firstContent),
            paragraphs: paragraphs,
            trailingWhitespace: text.substring(min(trailingStart, text.count)..<text.count))
    }
}
