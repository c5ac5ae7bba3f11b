/// Finds stop strings in generated text as it grows, across token boundaries.
///
/// Works on UTF-8 bytes: a stop string can end in the middle of a token, or be
/// split over several tokens. Also says how much of the text is safe to stream:
/// a tail that could still become a stop string is held back.
public struct StopStringMatcher: Sendable {
    public let stopStrings: [String]
    private let patterns: [[UInt8]]
    private let longest: Int

    public init(_ stopStrings: [String]) {
        self.stopStrings = stopStrings
        patterns = stopStrings.map { Array($0.utf8) }
        longest = patterns.map(\.count).max() ?? 0
    }

    public var isEmpty: Bool { patterns.isEmpty }

    /// The earliest stop string occurrence that ends after `previousCount`
    /// (bytes already checked), as (byte offset where it starts, which string).
    public func firstMatch(in text: [UInt8], previousCount: Int) -> (offset: Int, stop: String)? {
        guard longest > 0 else { return nil }
        let from = max(0, previousCount - longest + 1)
        var best: (offset: Int, stop: String)?
        for (index, pattern) in patterns.enumerated() where pattern.count <= text.count {
            var start = from
            while start + pattern.count <= text.count {
                if let best, start >= best.offset { break }
                if text[start] == pattern[0] && text[start..<(start + pattern.count)].elementsEqual(pattern) {
                    best = (start, stopStrings[index])
                    break
                }
                start += 1
            }
        }
        return best
    }

    /// How many leading bytes of `text` can be released: everything but the
    /// longest suffix that is a proper prefix of some stop string.
    public func releasableCount(_ text: [UInt8]) -> Int {
        guard longest > 0 else { return text.count }
        var held = 0
        for pattern in patterns {
            var k = min(pattern.count - 1, text.count)
            while k > held {
                if text[(text.count - k)...].elementsEqual(pattern[..<k]) {
                    held = k
                    break
                }
                k -= 1
            }
        }
        return text.count - held
    }
}

/// The length of the longest prefix of `bytes[..<end]` that does not end inside
/// a UTF-8 sequence, so a stream never shows half a character.
public func completeUTF8Prefix(_ bytes: [UInt8], end: Int) -> Int {
    // Look back at most 3 bytes for the lead byte of a sequence that may be cut.
    var i = end - 1
    var continuation = 0
    while i >= 0 && continuation < 4 && bytes[i] & 0xC0 == 0x80 {
        continuation += 1
        i -= 1
    }
    guard i >= 0 else { return end }
    let lead = bytes[i]
    let needed: Int
    switch lead {
    case 0xF0...0xF7: needed = 3
    case 0xE0...0xEF: needed = 2
    case 0xC0...0xDF: needed = 1
    default: needed = 0  // ASCII or an invalid byte: nothing to wait for
    }
    return continuation >= needed ? end : i
}
