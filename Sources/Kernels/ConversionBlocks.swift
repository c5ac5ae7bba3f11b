/// Runs `convert` over a matrix's output rows, in blocks of about 16 MiB of floats when the
/// rows are contiguous in the source ([out, in]) and `rowsDone` wants to hear of each block
/// (to give the block's source pages back once it is converted), in one call otherwise.
/// NLLB-200's 1 GiB embedding, quantized for the output layer, then never has more than
/// one block of its floats resident.
func forEachConversionBlock(
    rows: Int, columns: Int, layout: WeightLayout, rowsDone: ((Range<Int>) -> Void)?, blockBytes: Int = 16 << 20,
    _ convert: (Range<Int>) -> Void
) {
    guard let rowsDone, layout == .outputMajor else {
        convert(0..<rows)
        rowsDone?(0..<rows)
        return
    }
    let blockRows = max(1, blockBytes / max(1, columns * 4))
    var start = 0
    while start < rows {
        let end = min(rows, start + blockRows)
        convert(start..<end)
        rowsDone(start..<end)
        start = end
    }
}
