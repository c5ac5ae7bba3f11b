/// A restricted pickle interpreter: the stack machine of Python's `pickle` for the opcodes
/// torch.save emits, building plain values and symbolic objects, never calling anything.
///
/// GLOBAL and STACK_GLOBAL accept only `PickleGlobals`; REDUCE, NEWOBJ and BUILD record
/// `PickleObject`s (an OrderedDict becomes a `PickleDict`); BINPERSID wraps torch's storage
/// reference as `.persistent`. The stack, memo, object count, string lengths and nesting are
/// bounded by `PickleLimits`.
public struct PickleMachine {
    public let path: String
    public let limits: PickleLimits

    /// A stack or memo value with its nesting depth, computed once when the value is made.
    private struct Slot {
        var value: PickleValue
        var depth: Int
    }

    private var stack: [Slot] = []
    private var marks: [Int] = []
    private var memo: [Int: Slot] = [:]
    private var objects = 0
    /// Every BINPERSID argument in order: torch loads each storage as the pickle names it.
    private(set) var persistentIDs: [PickleValue] = []

    public init(path: String, limits: PickleLimits = PickleLimits()) {
        self.path = path
        self.limits = limits
    }

    /// Runs one pickle starting at `offset` up to its STOP; gives its value, the offset after the
    /// STOP and the persistent ids (storage references) it named, in order.
    public static func load(
        _ bytes: UnsafeRawBufferPointer, offset: Int = 0, path: String,
        limits: PickleLimits = PickleLimits()
    )
        throws -> (value: PickleValue, end: Int, persistentIDs: [PickleValue])
    {
        var machine = PickleMachine(path: path, limits: limits)
        var reader = ByteReader(bytes, offset: offset)
        let value = try machine.run(&reader)
        return (value, reader.offset, machine.persistentIDs)
    }

    mutating func run(_ reader: inout ByteReader) throws -> PickleValue {
        while true {
            let position = reader.offset
            guard let byte = reader.byte() else { throw malformed("the pickle ends without STOP", position) }
            guard let opcode = PickleOpcode(rawValue: byte) else {
                throw CheckpointFormatError.unknownOpcode(path: path, opcode: byte, offset: position)
            }
            if opcode == .stop { return try pop(position).value }
            try execute(opcode, &reader, at: position)
        }
    }

    private mutating func execute(_ opcode: PickleOpcode, _ reader: inout ByteReader, at position: Int) throws {
        switch opcode {
        case .proto:
            // Any version is read as protocol 2, as torch does (it only warns).
            guard reader.byte() != nil else { throw cut(position) }
        case .mark:
            guard marks.count < limits.maxStackDepth else {
                throw CheckpointFormatError.limitExceeded(path: path, limit: "stack depth", value: marks.count + 1)
            }
            marks.append(stack.count)
        case .none: try push(.none)
        case .newTrue: try push(.bool(true))
        case .newFalse: try push(.bool(false))
        case .binInt:
            guard let raw = reader.unsigned(4) else { throw cut(position) }
            try push(.int(Int(Int32(bitPattern: UInt32(raw)))))
        case .binInt1:
            guard let raw = reader.unsigned(1) else { throw cut(position) }
            try push(.int(Int(raw)))
        case .binInt2:
            guard let raw = reader.unsigned(2) else { throw cut(position) }
            try push(.int(Int(raw)))
        case .long1:
            guard let length = reader.unsigned(1) else { throw cut(position) }
            guard let body = reader.take(Int(length)) else { throw cut(position) }
            try push(Self.integer(Array(body)))
        case .binFloat:
            guard let raw = reader.take(8) else { throw cut(position) }
            var bits: UInt64 = 0
            for byte in raw { bits = bits << 8 | UInt64(byte) }  // big-endian
            try push(.float(Double(bitPattern: bits)))
        case .binUnicode, .shortBinString:
            // torch.load decodes both as UTF-8 and refuses what is not.
            let body = try sized(&reader, width: opcode == .shortBinString ? 1 : 4, at: position)
            try push(.string(try utf8(body, at: position)))
        case .emptyTuple: try push(.tuple([]))
        case .emptySet:
            // Nothing can be added to it (ADDITEMS is refused); as an empty tuple it is refused
            // wherever torch refuses a set and passes wherever torch passes one.
            try push(.tuple([]))
        case .tuple:
            try pushTuple(try popToMark(position))
        case .tuple1, .tuple2, .tuple3:
            let count = Int(opcode.rawValue - PickleOpcode.tuple1.rawValue) + 1
            guard stack.count - (marks.last ?? 0) >= count else {
                throw malformed("TUPLE\(count) with too few items", position)
            }
            let items = Array(stack.suffix(count))
            stack.removeLast(count)
            try pushTuple(items)
        case .emptyList: try push(.list(PickleList()), depth: 1)
        case .emptyDict: try push(.dict(PickleDict()), depth: 1)
        case .append:
            let item = try pop(position)
            try append([item], at: position)
        case .appends:
            try append(try popToMark(position), at: position)
        case .setItem:
            let value = try pop(position)
            let key = try pop(position)
            try setItems([key, value], at: position)
        case .setItems:
            try setItems(try popToMark(position), at: position)
        case .binPut, .longBinPut:
            guard let raw = reader.unsigned(opcode == .binPut ? 1 : 4) else { throw cut(position) }
            let index = Int(raw)
            guard memo.count < limits.maxMemoEntries || memo[index] != nil else {
                throw CheckpointFormatError.limitExceeded(path: path, limit: "memo size", value: memo.count + 1)
            }
            memo[index] = try peek(position)
        case .binGet, .longBinGet:
            guard let raw = reader.unsigned(opcode == .binGet ? 1 : 4) else { throw cut(position) }
            guard let slot = memo[Int(raw)] else { throw malformed("memo entry \(raw) was never stored", position) }
            try push(slot)
        case .global:
            guard let module = reader.line(maxLength: 256), let name = reader.line(maxLength: 256) else {
                throw cut(position)
            }
            try pushGlobal(try utf8(module, at: position), try utf8(name, at: position))
        case .reduce:
            let arguments = try pop(position)
            let callable = try pop(position)
            guard let items = arguments.value.tuple else {
                throw malformed("REDUCE arguments are not a tuple", position)
            }
            try pushCall(callable, items, argumentsDepth: arguments.depth, at: position)
        case .newObj:
            let arguments = try pop(position)
            let callable = try pop(position)
            guard let items = arguments.value.tuple else {
                throw malformed("NEWOBJ arguments are not a tuple", position)
            }
            try pushCall(callable, items, argumentsDepth: arguments.depth, at: position)
        case .build:
            let state = try pop(position)
            let target = try peek(position)
            switch target.value {
            case .object(let object):
                let depth = max(target.depth, state.depth + 1)
                try checkNesting(depth)
                object.state = state.value
                object.depth = depth
                stack[stack.count - 1].depth = depth
            case .dict:
                break  // An OrderedDict's attributes (a state dict's `_metadata`) say nothing about tensors.
            default:
                throw malformed("BUILD on something that is not an object", position)
            }
        case .binPersId:
            let id = try pop(position)
            guard case .tuple(let fields) = id.value, !fields.isEmpty else {
                throw malformed("a persistent id that is not a storage tuple", position)
            }
            persistentIDs.append(id.value)
            try push(.persistent(id.value), depth: id.depth + 1)
        case .stop:
            break
        }
    }

    // MARK: - Stack

    private mutating func push(_ value: PickleValue, depth: Int = 0) throws {
        try push(Slot(value: value, depth: depth))
    }

    private mutating func push(_ slot: Slot) throws {
        // A memoized container may have grown since it was stored: its box knows its depth now.
        var slot = slot
        switch slot.value {
        case .list(let list): slot.depth = list.depth
        case .dict(let dict): slot.depth = dict.depth
        case .object(let object): slot.depth = object.depth
        default: break
        }
        guard stack.count < limits.maxStackDepth else {
            throw CheckpointFormatError.limitExceeded(path: path, limit: "stack depth", value: stack.count + 1)
        }
        objects += 1
        guard objects <= limits.maxObjects else {
            throw CheckpointFormatError.limitExceeded(path: path, limit: "object count", value: objects)
        }
        try checkNesting(slot.depth)
        stack.append(slot)
    }

    private mutating func pop(_ position: Int) throws -> Slot {
        guard stack.count > (marks.last ?? 0), let slot = stack.popLast() else {
            throw malformed("pop from an empty stack", position)
        }
        return slot
    }

    private func peek(_ position: Int) throws -> Slot {
        guard stack.count > (marks.last ?? 0), let slot = stack.last else { throw malformed("empty stack", position) }
        return slot
    }

    private mutating func popToMark(_ position: Int) throws -> [Slot] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw malformed("no MARK to pop to", position) }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func pushTuple(_ items: [Slot]) throws {
        try push(.tuple(items.map(\.value)), depth: 1 + (items.map(\.depth).max() ?? 0))
    }

    private func checkNesting(_ depth: Int) throws {
        guard depth <= limits.maxNesting else {
            throw CheckpointFormatError.limitExceeded(path: path, limit: "nesting depth", value: depth)
        }
    }

    private mutating func append(_ items: [Slot], at position: Int) throws {
        let target = try peek(position)
        guard case .list(let list) = target.value else {
            throw malformed("APPEND to something that is not a list", position)
        }
        let depth = max(list.depth, 1 + (items.map(\.depth).max() ?? 0))
        try checkNesting(depth)
        list.depth = depth
        list.items.append(contentsOf: items.map(\.value))
        stack[stack.count - 1].depth = depth
    }

    private mutating func setItems(_ items: [Slot], at position: Int) throws {
        guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of items", position) }
        let target = try peek(position)
        guard case .dict(let dict) = target.value else {
            throw malformed("SETITEM on something that is not a dict", position)
        }
        let depth = max(dict.depth, 1 + (items.map(\.depth).max() ?? 0))
        try checkNesting(depth)
        dict.depth = depth
        for pair in stride(from: 0, to: items.count, by: 2) {
            switch items[pair].value {
            case .list, .dict: throw malformed("an unhashable dict key", position)
            default: dict.set(items[pair].value, items[pair + 1].value)
            }
        }
        stack[stack.count - 1].depth = depth
    }

    private mutating func pushGlobal(_ module: String, _ name: String) throws {
        let qualified = module + "." + name
        guard PickleGlobals.isAllowed(qualified) else {
            // A storage class of another dtype (float8, complex) is not hostile, just not read here.
            if module == "torch", name.hasSuffix("Storage") {
                throw CheckpointFormatError.unsupportedLayout(
                    path: path,
                    reason: "it stores tensors as \(qualified), a dtype this engine does not read "
                        + "(F32, F16, BF16, F64 and integer storages are)")
            }
            throw CheckpointFormatError.forbiddenGlobal(path: path, global: qualified)
        }
        try push(.global(qualified))
    }

    private mutating func pushCall(
        _ callable: Slot, _ arguments: [PickleValue], argumentsDepth: Int,
        at position: Int
    ) throws {
        guard case .global(let name) = callable.value else {
            throw malformed("REDUCE or NEWOBJ of something that is not an allowed global", position)
        }
        // torch names the typed storage classes by placeholders that cannot be called.
        guard PickleGlobals.storages[name] == nil || name == "torch.storage.UntypedStorage" else {
            throw malformed("REDUCE or NEWOBJ of the storage class \(name), which cannot be called", position)
        }
        if name == PickleGlobals.orderedDict || name == PickleGlobals.counter {
            guard arguments.isEmpty else { throw malformed("OrderedDict built from arguments", position) }
            try push(.dict(PickleDict()), depth: 1)
        } else {
            let object = PickleObject(callable: name, arguments: arguments, depth: argumentsDepth + 1)
            try push(.object(object), depth: object.depth)
        }
    }

    // MARK: - Arguments

    private func sized(_ reader: inout ByteReader, width: Int, at position: Int) throws -> UnsafeRawBufferPointer {
        guard let length = reader.unsigned(width) else { throw cut(position) }
        guard length <= UInt64(limits.maxStringBytes) else {
            throw CheckpointFormatError.limitExceeded(path: path, limit: "string length", value: Int(clamping: length))
        }
        guard let body = reader.take(Int(length)) else { throw cut(position) }
        return body
    }

    private func utf8(_ bytes: UnsafeRawBufferPointer, at position: Int) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw malformed("a string is not UTF-8", position)
        }
        return text
    }

    /// LONG1's little-endian two's complement bytes, as `.int` when it fits.
    static func integer(_ bytes: [UInt8]) -> PickleValue {
        guard bytes.count <= 8 else { return .bigInt(bytes) }
        guard !bytes.isEmpty else { return .int(0) }
        var value: UInt64 = 0
        for (index, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        if bytes.count < 8, bytes.last! & 0x80 != 0 { value |= ~0 << (8 * UInt64(bytes.count)) }
        return .int(Int(Int64(bitPattern: value)))
    }

    private func malformed(_ reason: String, _ position: Int) -> CheckpointFormatError {
        .malformedPickle(path: path, reason: reason, offset: position)
    }

    private func cut(_ position: Int) -> CheckpointFormatError {
        .malformedPickle(path: path, reason: "the argument of the opcode is cut short", offset: position)
    }
}
