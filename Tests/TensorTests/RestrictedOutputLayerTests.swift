import Kernels
import XCTest

@testable import Tensor

/// A restricted output layer gives the selected outputs exactly as the full layer computes
/// them and -infinity everywhere else, in every precision and at every row count the kernels
/// treat differently (one row, a few, a batch past `fewRowsLimit`).
final class RestrictedOutputLayerTests: XCTestCase {
    var generator = SystemRandomNumberGenerator()
    func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -1...1, using: &generator) } }

    let inFeatures = 96, outFeatures = 301
    /// The first and last outputs, neighbours, and gaps of every size.
    let outputs = [0, 1, 2, 7, 64, 65, 150, 299, 300]

    func layers() -> [(String, Linear)] {
        let w = FloatBuffer(count: inFeatures * outFeatures)
        let bias = FloatBuffer(count: outFeatures)
        w.mutablePointer.update(from: random(inFeatures * outFeatures), count: inFeatures * outFeatures)
        bias.mutablePointer.update(from: random(outFeatures), count: outFeatures)
        func linear(_ layout: WeightLayout, _ precision: WeightPrecision, bias: FloatBuffer?) -> Linear {
            Linear(
                weight: w, bias: bias, inFeatures: inFeatures, outFeatures: outFeatures, layout: layout,
                precision: precision)
        }
        return [
            ("f32 [out, in]", linear(.outputMajor, .f32, bias: nil)),
            ("f32 [in, out] with bias", linear(.inputMajor, .f32, bias: bias)),
            ("f16", linear(.outputMajor, .f16, bias: nil)),
            ("int8 with bias", linear(.outputMajor, .int8, bias: bias)),
        ]
    }

    func testSelectedOutputsMatchTheFullLayerAndTheRestAreMinusInfinity() throws {
        for (name, layer) in layers() {
            let restricted = try RestrictedOutputLayer(layer, outputs: outputs)
            for rows in [1, 3, 9, 20] {
                let input = random(rows * inFeatures)
                var full = [Float](repeating: .nan, count: rows * outFeatures)
                var out = [Float](repeating: .nan, count: rows * outFeatures)
                layer(out: &full, input: input, rows: rows)
                restricted(out: &out, input: input, rows: rows)
                for r in 0..<rows {
                    for o in 0..<outFeatures {
                        let got = out[r * outFeatures + o]
                        let want = full[r * outFeatures + o]
                        if outputs.contains(o) {
                            // A row's dot product does not depend on which other rows share the call.
                            XCTAssertEqual(
                                got, want, accuracy: 1e-5 * max(1, abs(want)),
                                "\(name), \(rows) rows: "
                                    + "row \(r), output \(o)")
                        } else {
                            XCTAssertEqual(
                                got, -.infinity,
                                "\(name), \(rows) rows: row \(r), output \(o) is not "
                                    + "selected")
                        }
                    }
                }
            }
        }
    }

    func testInt8SelectionIsBitExact() throws {
        let layer = layers()[3].1
        let restricted = try RestrictedOutputLayer(layer, outputs: outputs)
        let input = random(5 * inFeatures)
        var full = [Float](repeating: 0, count: 5 * outFeatures)
        var out = full
        layer(out: &full, input: input, rows: 5)
        restricted(out: &out, input: input, rows: 5)
        for r in 0..<5 {
            for o in outputs {
                XCTAssertEqual(out[r * outFeatures + o], full[r * outFeatures + o], "row \(r), output \(o)")
            }
        }
    }

    func testEveryOutputSelectedIsTheFullLayer() throws {
        let layer = layers()[0].1
        let restricted = try RestrictedOutputLayer(layer, outputs: Array(0..<outFeatures))
        let input = random(2 * inFeatures)
        var full = [Float](repeating: 0, count: 2 * outFeatures)
        var out = full
        layer(out: &full, input: input, rows: 2)
        restricted(out: &out, input: input, rows: 2)
        XCTAssertEqual(out, full)
        XCTAssertEqual(restricted.weightBytes, layer.weightBytes)
    }

    func testOutputsOutsideTheLayerOrOutOfOrderAreTypedErrors() {
        let layer = layers()[0].1
        for outputs in [[0, outFeatures], [-1, 2], [3, 1], [2, 2]] {
            XCTAssertThrowsError(try RestrictedOutputLayer(layer, outputs: outputs), "\(outputs)") { error in
                guard case TensorError.invalidOutputs = error else { return XCTFail("\(error)") }
            }
        }
    }
}
