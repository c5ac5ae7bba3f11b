/// What can go wrong when putting segmented text back together.
public enum SegmentationError: Error, Equatable, CustomStringConvertible {
    /// `SplitText.reassemble` got a different number of sentences than the split produced.
    case sentenceCountMismatch(expected: Int, got: Int)

    public var description: String {
        switch self {
        case .sentenceCountMismatch(let expected, let got):
            return "reassembly needs \(expected) sentences, got \(got)"
        }
    }
}
