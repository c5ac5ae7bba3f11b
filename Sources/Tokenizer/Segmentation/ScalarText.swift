/// A string seen as an array of Unicode scalars, so segmentation can work with
/// integer offsets and still hand back `String.Index` ranges into the original.
///
/// Scalars, not `Character`s: a terminator followed by a combining mark, or a
/// CRLF pair, must be visible as separate pieces to the rules.
struct ScalarText {
    let source: String
    let scalars: [Unicode.Scalar]
    /// `indices[i]` is where scalar `i` starts; `indices[scalars.count]` is `endIndex`.
    let indices: [String.Index]
    /// `utf8Offsets[i]` is the UTF-8 byte offset of `indices[i]`.
    let utf8Offsets: [Int]

    init(_ source: String) {
        self.source = source
        var scalars: [Unicode.Scalar] = []
        var indices: [String.Index] = []
        var utf8Offsets: [Int] = []
        scalars.reserveCapacity(source.utf8.count)
        var offset = 0
        var index = source.unicodeScalars.startIndex
        while index < source.unicodeScalars.endIndex {
            let scalar = source.unicodeScalars[index]
            scalars.append(scalar)
            indices.append(index)
            utf8Offsets.append(offset)
            offset += scalar.utf8.count
            index = source.unicodeScalars.index(after: index)
        }
        indices.append(source.endIndex)
        utf8Offsets.append(offset)
        self.scalars = scalars
        self.indices = indices
        self.utf8Offsets = utf8Offsets
    }

    var count: Int { scalars.count }

    func stringRange(_ range: Range<Int>) -> Range<String.Index> {
        indices[range.lowerBound]..<indices[range.upperBound]
    }

    func substring(_ range: Range<Int>) -> Substring {
        source[stringRange(range)]
    }

    func utf8Range(_ range: Range<Int>) -> Range<Int> {
        utf8Offsets[range.lowerBound]..<utf8Offsets[range.upperBound]
    }

    /// The first offset at or after `start` (and before `end`) that is not whitespace.
    func skippingWhitespace(from start: Int, to end: Int) -> Int {
        var offset = start
        while offset < end, SegmentationScalars.isWhitespace(scalars[offset]) {
            offset += 1
        }
        return offset
    }

    /// The offset just after the last non-whitespace scalar in `start..<end`.
    func trimmingWhitespace(backFrom end: Int, to start: Int) -> Int {
        var offset = end
        while offset > start, SegmentationScalars.isWhitespace(scalars[offset - 1]) {
            offset -= 1
        }
        return offset
    }
}
