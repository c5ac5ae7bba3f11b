/// Widening of stored half-precision weights to fp32. Both conversions are exact.

/// IEEE binary16 to fp32 (F16C's vcvtph2ps when compiled with -mf16c).
public func widenFloat16(out: UnsafeMutablePointer<Float>, input: UnsafeRawBufferPointer, count: Int) {
    precondition(input.count >= count * 2)
    guard count > 0, let base = input.baseAddress else { return }
    for i in 0..<count {
        // loadUnaligned: the span may start at any even or odd offset of the mapping.
        let bits = base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
        out[i] = Float(Float16(bitPattern: UInt16(littleEndian: bits)))
    }
}

/// bfloat16 is the top half of an fp32: shifting the bits back is the conversion.
public func widenBFloat16(out: UnsafeMutablePointer<Float>, input: UnsafeRawBufferPointer, count: Int) {
    precondition(input.count >= count * 2)
    guard count > 0, let base = input.baseAddress else { return }
    for i in 0..<count {
        let bits = base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
        out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: bits)) << 16)
    }
}
