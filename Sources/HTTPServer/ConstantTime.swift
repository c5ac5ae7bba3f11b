/// Comparisons whose duration does not depend on where the inputs differ, for
/// secrets such as API keys.
public enum ConstantTime {
    /// True when `a == b`. Runs over `max(a.count, b.count)` bytes whatever the
    /// contents; only the lengths influence the time.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt(truncatingIfNeeded: a.count ^ b.count)
        let length = max(a.count, b.count)
        var index = 0
        while index < length {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= UInt(x ^ y)
            index += 1
        }
        return difference == 0
    }

    /// `equals` on the UTF-8 bytes.
    public static func equals(_ a: String, _ b: String) -> Bool {
        equals(Array(a.utf8), Array(b.utf8))
    }

    /// True when `candidate` equals any of `secrets`; compares against all of
    /// them, so the time does not tell which one matched.
    public static func matchesAny(_ candidate: [UInt8], _ secrets: [[UInt8]]) -> Bool {
        var found = false
        for secret in secrets {
            let same = equals(candidate, secret)
            found = found || same
        }
        return found
    }
}
