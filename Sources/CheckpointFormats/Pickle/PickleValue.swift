/// A value on the pickle machine's stack: plain data, or a symbolic object that records what
/// the pickle asked to build (a callable's name and its arguments) without building it.
public indirect enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too large for `Int` (the legacy format's magic number), little-endian two's complement.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A class or function named by GLOBAL / STACK_GLOBAL; only allowed names get this far.
    case global(String)
    /// `callable(*args)` as REDUCE or NEWOBJ asked, with the state BUILD gave it.
    case object(PickleObject)
    /// What BINPERSID resolved: torch's storage reference tuple, kept as is.
    case persistent(PickleValue)

    public var int: Int? { if case .int(let value) = self { return value } else { return nil } }
    public var string: String? { if case .string(let value) = self { return value } else { return nil } }
    public var tuple: [PickleValue]? {
        switch self {
        case .tuple(let items): return items
        case .list(let list): return list.items
        default: return nil
        }
    }
}

/// A list the pickle may still append to after memoizing it (so it is shared, like Python's).
///
/// Sendable by hand: built by one unpickler and immutable once loading returns.
public final class PickleList: @unchecked Sendable {
    public internal(set) var items: [PickleValue] = []
    var depth = 1
}

/// A dict (or OrderedDict) in insertion order; a repeated key replaces the earlier value.
///
/// Sendable by hand: built by one unpickler and immutable once loading returns.
public final class PickleDict: @unchecked Sendable {
    public internal(set) var keys: [PickleValue] = []
    public internal(set) var values: [PickleValue] = []
    var depth = 1
    private var indexOfString: [String: Int] = [:]

    func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let name) = key, let index = indexOfString[name] {
            values[index] = value
            return
        }
        if case .string(let name) = key { indexOfString[name] = keys.count }
        keys.append(key)
        values.append(value)
    }

    public func value(forKey key: String) -> PickleValue? { indexOfString[key].map { values[$0] } }
}

/// `callable(*arguments)`, never called: the reader interprets the few callables it allows.
///
/// Sendable by hand: built by one unpickler and immutable once loading returns.
public final class PickleObject: @unchecked Sendable {
    public let callable: String
    public let arguments: [PickleValue]
    public internal(set) var state: PickleValue?
    var depth: Int

    init(callable: String, arguments: [PickleValue], depth: Int) {
        self.callable = callable
        self.arguments = arguments
        self.depth = depth
    }
}
