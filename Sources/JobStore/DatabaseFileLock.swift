import Foundation
import HTTPServer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive advisory lock (`flock`) on `<database>.lock`, held for as long as a store is open.
///
/// Crash recovery treats every `running` row as abandoned by a dead process. That is only true if
/// no other live process uses the same file, so a second server on the same database must be
/// refused rather than allowed to re-run the first one's jobs. The kernel drops the lock when
/// the holder dies, including on SIGKILL, so a crashed server never blocks its successor.
/// A separate file is used because SQLite's own (fcntl) locks on the database file must not
/// be disturbed.
final class DatabaseFileLock {
    let path: String
    private var descriptor: Int32

    init(databasePath: String) throws {
        path = databasePath + ".lock"
        // O_CLOEXEC: a child process (an executor, a test helper) must not inherit and keep the lock.
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if descriptor < 0 {
            let code = errno
            let reason = "cannot create lock file \(path): \(String(cString: strerror(code)))"
            if code == EROFS || code == EACCES || code == EPERM {
                throw JobStoreError.readOnly(path: databasePath, reason: reason)
            }
            throw JobStoreError.cannotOpen(path: databasePath, reason: reason)
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            close(descriptor)
            descriptor = -1
            if code == EWOULDBLOCK { throw JobStoreError.databaseInUse(path: databasePath) }
            throw JobStoreError.cannotOpen(
                path: databasePath,
                reason: "cannot lock \(path): "
                    + "\(String(cString: strerror(code)))")
        }
    }

    deinit { release() }

    /// Releases the lock (closing the descriptor does). The lock file itself stays: deleting it
    /// would race with another process that has just opened it.
    func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }
}
