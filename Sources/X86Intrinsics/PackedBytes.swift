// The instructions the 4-bit weight products are built on (Sources/Kernels/Q4Matrix.swift),
// reached through the Builtin module like PackedInt16.swift. Both the AVX2 kernel (Kernels)
// and the VNNI kernel (X86AVX512) finish their sums with the same functions from here, so
// the two round their floats with the same instructions in the same order.
import Swift

#if arch(x86_64)
    /// a[2j]·b[2j] + a[2j+1]·b[2j+1] for j in 0..<16, over the 32 bytes of a (unsigned) and b
    /// (signed) given as Int32 lanes, into Int16 lanes (vpmaddubsw; the sum saturates, which
    /// 4-bit weights times int8 never reach).
    @inlinable @inline(__always)
    public func multiplyAddUnsignedSignedPairs(_ a: SIMD8<Int32>, _ b: SIMD8<Int32>) -> SIMD16<Int16> {
        var sums = SIMD16<Int16>()
        sums._storage._value = Builtin.int_x86_avx2_pmadd_ub_sw(
            Builtin.bitcast_Vec8xInt32_Vec32xInt8(a._storage._value),
            Builtin.bitcast_Vec8xInt32_Vec32xInt8(b._storage._value))
        return sums
    }

    /// [Σ a0, Σ a1, Σ a2, Σ a3]: vphaddd pairs neighbours within each 128-bit half, twice, and
    /// the two halves are added last.
    @inlinable @inline(__always)
    public func horizontalSums(
        _ a0: SIMD8<Int32>, _ a1: SIMD8<Int32>, _ a2: SIMD8<Int32>, _ a3: SIMD8<Int32>
    ) -> SIMD4<Int32> {
        @inline(__always) func pairSums(_ a: SIMD8<Int32>, _ b: SIMD8<Int32>) -> SIMD8<Int32> {
            var sums = SIMD8<Int32>()
            sums._storage._value = Builtin.int_x86_avx2_phadd_d(a._storage._value, b._storage._value)
            return sums
        }
        let sums = pairSums(pairSums(a0, a1), pairSums(a2, a3))
        return sums.lowHalf &+ sums.highHalf
    }

    /// Int32 lanes to Float (vcvtdq2ps), without the stdlib's generic conversion.
    @inlinable @inline(__always)
    public func convertToFloat(_ v: SIMD4<Int32>) -> SIMD4<Float> {
        var f = SIMD4<Float>()
        f._storage._value = Builtin.sitofp_Vec4xInt32_Vec4xFPIEEE32(v._storage._value)
        return f
    }

    /// Four IEEE half floats, given as their bits, widened to Float (vcvtph2ps).
    @inlinable @inline(__always)
    public func widenHalfBits(_ bits: SIMD4<UInt16>) -> SIMD4<Float> {
        var f = SIMD4<Float>()
        f._storage._value = Builtin.fpext_Vec4xFPIEEE16_Vec4xFPIEEE32(
            Builtin.bitcast_Vec4xInt16_Vec4xFPIEEE16(bits._storage._value))
        return f
    }

    /// acc + a·b in every lane, rounded once (vfmadd).
    @inlinable @inline(__always)
    public func fusedMultiplyAdd(_ acc: SIMD4<Float>, _ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
        var f = SIMD4<Float>()
        f._storage._value = Builtin.int_fma_Vec4xFPIEEE32(a._storage._value, b._storage._value, acc._storage._value)
        return f
    }

    /// Four bytes widened to Int32 lanes (vpmovzxbd).
    @inlinable @inline(__always)
    public func widenBytes(_ v: SIMD4<UInt8>) -> SIMD4<Int32> {
        var wide = SIMD4<Int32>()
        wide._storage._value = Builtin.zext_Vec4xInt8_Vec4xInt32(v._storage._value)
        return wide
    }
#endif
