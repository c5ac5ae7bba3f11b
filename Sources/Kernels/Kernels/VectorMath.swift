/// Small vector primitives the other kernels are built from.
///
/// Written over unsafe pointers with 8-wide SIMD (one AVX register); the package
/// compiles this target with AVX2/FMA/F16C so `+=`/`*` lower to vector FMAs.

/// Σ a[i]·b[i] over `count` elements.
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    dotRow(a, b, count: count)
}

/// Σ a[i]·b[i] with `b` kept as fp32 or as half floats (widened as it is read): two
/// accumulators over alternate groups of eight, then the lanes, then the scalar tail. The
/// attention kernel's four-key `dot4` sums in this same order.
@inline(__always)
func dotRow<Element: CachedElement>(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Element>, count: Int) -> Float {
    var acc0 = SIMD8<Float>()
    var acc1 = SIMD8<Float>()
    let rawA = UnsafeRawPointer(a)
    @inline(__always) func load(_ i: Int) -> SIMD8<Float> {
        rawA.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
    }
    var i = 0
    while i + 16 <= count {
        acc0 += load(i) * Element.widen8(b + i)
        acc1 += load(i + 8) * Element.widen8(b + i + 8)
        i += 16
    }
    if i + 8 <= count {
        acc0 += load(i) * Element.widen8(b + i)
        i += 8
    }
    var sum = (acc0 + acc1).sum()
    while i < count {
        sum += a[i] * b[i].widened
        i += 1
    }
    return sum
}

/// y[i] += alpha·x[i] over `count` elements.
@inline(__always)
public func axpy(_ y: UnsafeMutablePointer<Float>, _ alpha: Float, _ x: UnsafePointer<Float>, count: Int) {
    let rawX = UnsafeRawPointer(x)
    let rawY = UnsafeMutableRawPointer(y)
    let a = SIMD8<Float>(repeating: alpha)
    var i = 0
    while i + 8 <= count {
        let updated =
            rawY.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) + a
            * rawX.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        rawY.storeBytes(of: updated, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        y[i] += alpha * x[i]
        i += 1
    }
}

/// out[i] += x[i] over `count` elements (residual connections, bias rows).
@inline(__always)
public func addInPlace(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    let rawX = UnsafeRawPointer(x)
    let rawOut = UnsafeMutableRawPointer(out)
    var i = 0
    while i + 8 <= count {
        let sum =
            rawOut.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            + rawX.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        rawOut.storeBytes(of: sum, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        out[i] += x[i]
        i += 1
    }
}

/// Adds the same `cols`-long bias row to each of `rows` rows.
public func addBias(_ out: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows { addInPlace(out + r * cols, bias, count: cols) }
}

/// Copies the bias into each of `rows` rows (the starting value of a GEMM with beta = 1).
public func broadcastRows(_ out: UnsafeMutablePointer<Float>, row: UnsafePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows { (out + r * cols).update(from: row, count: cols) }
}
