// The two x86 integer instructions the int8 kernels are built on, reached through the
// compiler's Builtin module (this target is compiled with -parse-stdlib, so it imports
// Swift by hand). Swift's SIMD types have no pairwise multiply-add, and LLVM only forms
// vpmaddwd from plain code when each product widens its own operands: a kernel that
// widens one weight vector and multiplies it by several activation rows comes out as
// vpmulld, at a quarter of the work per instruction. Named here, the instruction is what
// the kernel says. Every function is inlinable, so callers get the bare instruction.
import Swift

#if arch(x86_64)
    /// Sign-extends 16 int8 lanes to int16 (vpmovsxbw).
    @inlinable @inline(__always)
    public func widenToInt16(_ v: SIMD16<Int8>) -> SIMD16<Int16> {
        var wide = SIMD16<Int16>()
        wide._storage._value = Builtin.sext_Vec16xInt8_Vec16xInt16(v._storage._value)
        return wide
    }

    /// a[2j]·b[2j] + a[2j+1]·b[2j+1] for j in 0..<8, products and sums exact in Int32
    /// (vpmaddwd; it wraps only for the pair -32768·-32768 + -32768·-32768).
    @inlinable @inline(__always)
    public func multiplyAddAdjacentPairs(_ a: SIMD16<Int16>, _ b: SIMD16<Int16>) -> SIMD8<Int32> {
        var sums = SIMD8<Int32>()
        sums._storage._value = Builtin.int_x86_avx2_pmadd_wd(a._storage._value, b._storage._value)
        return sums
    }
#endif
