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

    /// Int32 lanes to Float (vcvtdq2ps), without the stdlib's generic conversion.
    @inlinable @inline(__always)
    public func convertToFloat(_ v: SIMD8<Int32>) -> SIMD8<Float> {
        var f = SIMD8<Float>()
        f._storage._value = Builtin.sitofp_Vec8xInt32_Vec8xFPIEEE32(v._storage._value)
        return f
    }

    /// Eight IEEE half floats, given as their bits, widened to Float (vcvtph2ps).
    @inlinable @inline(__always)
    public func widenHalfBits(_ bits: SIMD8<UInt16>) -> SIMD8<Float> {
        var f = SIMD8<Float>()
        f._storage._value = Builtin.fpext_Vec8xFPIEEE16_Vec8xFPIEEE32(
            Builtin.bitcast_Vec8xInt16_Vec8xFPIEEE16(bits._storage._value))
        return f
    }

    /// acc + a·b in every lane, rounded once (vfmadd).
    @inlinable @inline(__always)
    public func fusedMultiplyAdd(_ acc: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        var f = SIMD8<Float>()
        f._storage._value = Builtin.int_fma_Vec8xFPIEEE32(a._storage._value, b._storage._value, acc._storage._value)
        return f
    }

    /// Eight bytes widened to Float lanes (vpmovzxbd, vcvtdq2ps).
    @inlinable @inline(__always)
    public func widenBytesToFloat(_ v: SIMD8<UInt8>) -> SIMD8<Float> {
        var wide = SIMD8<Int32>()
        wide._storage._value = Builtin.zext_Vec8xInt8_Vec8xInt32(v._storage._value)
        return convertToFloat(wide)
    }

    /// The lanes' sum in one fixed order, (v0 + v4) + (v2 + v6) + ((v1 + v5) + (v3 + v7)) as
    /// the shuffles take them: the high half onto the low one, then the high pair onto the low one.
    @inlinable @inline(__always)
    public func sumLanes(_ v: SIMD8<Float>) -> Float {
        let quarter = v.lowHalf + v.highHalf
        let pair = quarter.lowHalf + quarter.highHalf
        return pair[0] + pair[1]
    }

    /// [sumLanes(v0), ..., sumLanes(v7)], each added in `sumLanes`' order, eight rows at once:
    /// halves, pairs and last pair added across rows side by side (about three instructions a row
    /// where one row alone takes about ten).
    @inlinable @inline(__always)
    public func sumLanes(
        _ v0: SIMD8<Float>, _ v1: SIMD8<Float>, _ v2: SIMD8<Float>, _ v3: SIMD8<Float>,
        _ v4: SIMD8<Float>, _ v5: SIMD8<Float>, _ v6: SIMD8<Float>, _ v7: SIMD8<Float>
    ) -> SIMD8<Float> {
        // [q(a) | q(b)], q(v)_j = v_j + v_{j+4}.
        @inline(__always) func quarters(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(lowHalf: a.lowHalf, highHalf: b.lowHalf) + SIMD8(lowHalf: a.highHalf, highHalf: b.highHalf)
        }
        // From [q(a) | q(b)] and [q(c) | q(d)]: [p(a), p(c) | p(b), p(d)], p(v) = (q0 + q2, q1 + q3).
        @inline(__always) func pairs(_ ab: SIMD8<Float>, _ cd: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(ab[0], ab[1], cd[0], cd[1], ab[4], ab[5], cd[4], cd[5])
                + SIMD8(ab[2], ab[3], cd[2], cd[3], ab[6], ab[7], cd[6], cd[7])
        }
        let p0213 = pairs(quarters(v0, v1), quarters(v2, v3))  // [p0, p2 | p1, p3]
        let p4657 = pairs(quarters(v4, v5), quarters(v6, v7))  // [p4, p6 | p5, p7]
        // [r0, r2, r4, r6 | r1, r3, r5, r7], r = p.0 + p.1.
        let sums =
            SIMD8(p0213[0], p0213[2], p4657[0], p4657[2], p0213[4], p0213[6], p4657[4], p4657[6])
            + SIMD8(p0213[1], p0213[3], p4657[1], p4657[3], p0213[5], p0213[7], p4657[5], p4657[7])
        return SIMD8(sums[0], sums[4], sums[1], sums[5], sums[2], sums[6], sums[3], sums[7])
    }
    /// The four float chains of one activation row in both q4 kernels: chain c takes the groups
    /// g with g % 4 == c, each group's Int32 lanes converted and fused-multiply-added by its
    /// scale, and the chains are summed in one order.
    @frozen
    public struct Q4Chains {
        public var c0: SIMD8<Float>, c1: SIMD8<Float>, c2: SIMD8<Float>, c3: SIMD8<Float>

        @inlinable @inline(__always)
        public init() {
            c0 = SIMD8<Float>()
            c1 = SIMD8<Float>()
            c2 = SIMD8<Float>()
            c3 = SIMD8<Float>()
        }

        @inlinable @inline(__always)
        public mutating func add(_ chain: Int, _ sums: SIMD8<Int32>, _ scale: Float) {
            let scales = SIMD8<Float>(repeating: scale)
            switch chain {
            case 0: c0 = fusedMultiplyAdd(c0, convertToFloat(sums), scales)
            case 1: c1 = fusedMultiplyAdd(c1, convertToFloat(sums), scales)
            case 2: c2 = fusedMultiplyAdd(c2, convertToFloat(sums), scales)
            default: c3 = fusedMultiplyAdd(c3, convertToFloat(sums), scales)
            }
        }

        @inlinable @inline(__always)
        public var sum: SIMD8<Float> { (c0 + c1) + (c2 + c3) }
    }
#endif
