/// Header fields in the order received, with case-insensitive lookup.
///
/// A multi-map: a name may occur several times (`values(for:)` returns them all,
/// the subscript the first). Names keep the spelling they were given; comparison
/// ignores ASCII case as RFC 9110 §5.1 requires.
public struct HTTPHeaders: Sendable, Sequence, Equatable, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public typealias Element = (name: String, value: String)

    public private(set) var entries: [Element] = []

    public init() {}

    public init(_ entries: [(String, String)]) {
        self.entries = entries.map { (name: $0.0, value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Number of fields, counting repeated names separately.
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// The first value for `name`, or nil.
    public subscript(name: String) -> String? {
        entries.first { asciiCaseInsensitiveEquals($0.name, name) }?.value
    }

    /// Every value for `name`, in order.
    public func values(for name: String) -> [String] {
        entries.filter { asciiCaseInsensitiveEquals($0.name, name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool {
        entries.contains { asciiCaseInsensitiveEquals($0.name, name) }
    }

    /// The comma-separated list elements of every `name` field, trimmed and
    /// lowercased, empty elements dropped (for `Connection`, `Transfer-Encoding`...).
    public func tokens(for name: String) -> [String] {
        values(for: name).flatMap { value in
            value.split(separator: ",").map { $0.trimmingHTTPWhitespace().lowercased() }.filter { !$0.isEmpty }
        }
    }

    /// Appends a field, keeping existing ones with the same name.
    public mutating func add(_ name: String, _ value: String) {
        entries.append((name: name, value: value))
    }

    /// Replaces every field named `name` by a single one.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        entries.append((name: name, value: value))
    }

    public mutating func remove(_ name: String) {
        entries.removeAll { asciiCaseInsensitiveEquals($0.name, name) }
    }

    public func makeIterator() -> IndexingIterator<[Element]> { entries.makeIterator() }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public var description: String {
        entries.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }
}

/// ASCII case-insensitive equality, without allocating lowercased copies.
func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
    let x = a.utf8
    let y = b.utf8
    guard x.count == y.count else { return false }
    for (c, d) in zip(x, y) where c != d {
        if asciiLower(c) != asciiLower(d) { return false }
    }
    return true
}

@inline(__always) func asciiLower(_ c: UInt8) -> UInt8 {
    (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c
}

extension StringProtocol {
    /// Drops leading and trailing spaces and horizontal tabs (HTTP's OWS).
    func trimmingHTTPWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
