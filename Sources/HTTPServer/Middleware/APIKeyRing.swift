import Foundation
import Synchronization

/// The accepted API keys, replaceable while the server runs (a key file reloaded on SIGHUP).
/// Lookups compare in constant time against every key; the keys themselves are never exposed,
/// so nothing can log them by accident.
public final class APIKeyRing: Sendable {
    private let keys: Mutex<[[UInt8]]>

    public init(_ keys: [String] = []) {
        self.keys = Mutex(Self.bytes(keys))
    }

    /// Replaces every key at once; requests in flight finish with the set they were checked against.
    public func replace(with keys: [String]) {
        let bytes = Self.bytes(keys)
        self.keys.withLock { $0 = bytes }
    }

    /// How many keys are accepted (0: authentication is off).
    public var count: Int { keys.withLock { $0.count } }

    public var isEmpty: Bool { count == 0 }

    /// True when `token` is one of the keys; the time does not tell which one, or how much matched.
    public func matches(_ token: String) -> Bool {
        let keys = self.keys.withLock { $0 }
        return ConstantTime.matchesAny(Array(token.utf8), keys)
    }

    private static func bytes(_ keys: [String]) -> [[UInt8]] {
        var seen = Set<String>()
        return keys.filter { !$0.isEmpty && seen.insert($0).inserted }.map { Array($0.utf8) }
    }
}
