/// A compact byte trie (first-child / next-sibling lists, direct table at the root)
/// mapping UTF-8 byte strings to ids. Used for the piece vocabulary (exact and
/// prefix lookups) and for user-defined symbols.
struct SentencePieceByteTrie: Sendable, Equatable {
    private var labels: [UInt8] = [0]
    private var firstChild: [Int32] = [-1]
    private var nextSibling: [Int32] = [-1]
    private var values: [Int32] = [-1]
    private var rootChildren = [Int32](repeating: -1, count: 256)

    /// Length in bytes of the longest key.
    private(set) var maxKeyLength = 0
    var isEmpty: Bool { labels.count == 1 }

    init() {}

    /// Inserts `key`; an existing key keeps its first value.
    mutating func insert<C: Collection>(_ key: C, value: Int) where C.Element == UInt8 {
        guard !key.isEmpty else { return }
        var node: Int32 = 0
        for byte in key {
            let next = child(of: node, byte)
            if next >= 0 {
                node = next
                continue
            }
            let created = Int32(labels.count)
            labels.append(byte)
            firstChild.append(-1)
            values.append(-1)
            if node == 0 {
                nextSibling.append(-1)
                rootChildren[Int(byte)] = created
            } else {
                nextSibling.append(firstChild[Int(node)])
                firstChild[Int(node)] = created
            }
            node = created
        }
        if values[Int(node)] < 0 { values[Int(node)] = Int32(value) }
        maxKeyLength = max(maxKeyLength, key.count)
    }

    /// The child of `node` labelled `byte`, or -1.
    @inline(__always)
    func child(of node: Int32, _ byte: UInt8) -> Int32 {
        if node == 0 { return rootChildren[Int(byte)] }
        var c = firstChild[Int(node)]
        while c >= 0 {
            if labels[Int(c)] == byte { return c }
            c = nextSibling[Int(c)]
        }
        return -1
    }

    /// The value stored at `node`, or -1.
    @inline(__always)
    func value(at node: Int32) -> Int32 { values[Int(node)] }

    /// Exact lookup of `bytes[range]`.
    func lookup(_ bytes: [UInt8], _ range: Range<Int>) -> Int? {
        var node: Int32 = 0
        for i in range {
            node = child(of: node, bytes[i])
            if node < 0 { return nil }
        }
        let v = values[Int(node)]
        return v >= 0 ? Int(v) : nil
    }

    func lookup(_ key: [UInt8]) -> Int? { lookup(key, 0..<key.count) }

    /// Length of the longest key that is a prefix of `bytes[start...]`, or 0.
    func longestPrefix(_ bytes: [UInt8], from start: Int) -> Int {
        var node: Int32 = 0
        var best = 0
        var i = start
        while i < bytes.count {
            node = child(of: node, bytes[i])
            if node < 0 { break }
            i += 1
            if values[Int(node)] >= 0 { best = i - start }
        }
        return best
    }
}
