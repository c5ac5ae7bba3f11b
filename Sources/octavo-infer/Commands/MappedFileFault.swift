#if canImport(Glibc)
    import Glibc
#endif

/// A clear last word for SIGBUS. Model weights are memory-mapped: when a file the server has
/// mapped is truncated (`cp new.safetensors model.safetensors` truncates it in place), the next
/// read of a vanished page raises SIGBUS and the process dies with only "Bus error". The
/// handler says why and how to replace models safely, then lets the signal end the process as
/// before (its status still says SIGBUS; a supervisor restarts it with the new files).
enum MappedFileFault {
    static func install() {
        signal(SIGBUS, reportBusError)
    }
}

private func reportBusError(_ number: Int32) {
    // Only async-signal-safe calls here: write, signal, raise.
    let message: StaticString = """
        octavo-infer serve: SIGBUS: a memory-mapped file was truncated while in use, most likely a model's \
        weights (model.safetensors) overwritten in place. Replace a model folder by moving a complete new folder \
        into place (mv) and restarting, never by writing into files the server has open. Exiting.

        """
    _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
    signal(number, SIG_DFL)
    raise(number)
}
