/// Conversions between fp32 and the half-precision formats: widening (of stored weights; exact)
/// and narrowing to IEEE half (of cached keys and values; rounded).

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

/// fp32 to IEEE binary16, rounded to nearest even as torch's `.half()` rounds (F16C's
/// vcvtps2ph with -mf16c); beyond the half range, ±infinity.
@inline(__always)
public func narrowToFloat16(out: UnsafeMutablePointer<Float16>, input: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        let wide = UnsafeRawPointer(input + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(out + i).storeBytes(of: SIMD8<Float16>(wide), as: SIMD8<Float16>.self)
        i += 8
    }
    while i < count {
        out[i] = Float16(input[i])
        i += 1
    }
}
