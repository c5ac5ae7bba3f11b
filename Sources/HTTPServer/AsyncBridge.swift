import Foundation
import Synchronization

/// Runs `async` code from a handler, which runs on a plain connection thread.
///
///     router.post("/v1/completions") { request, context in
///         let result = try AsyncBridge.run(cancellingOn: context.disconnect) {
///             try await scheduler.submit(job)       // cancelled if the client leaves
///         }
///         return try .json(result)
///     }
///
/// Blocks the calling thread until the operation finishes. Only call it from
/// a handler (a connection thread), never from inside Swift concurrency's
/// cooperative pool, where blocking a thread can deadlock the pool.
public enum AsyncBridge {
    public static func run<Value: Sendable>(
        cancellingOn signal: DisconnectSignal? = nil,
        _ operation: @escaping @Sendable () async throws -> Value
    ) throws -> Value {
        let box = ResultBox<Value>()
        let done = DispatchSemaphore(value: 0)
        let task = Task {
            do {
                box.set(.success(try await operation()))
            } catch {
                box.set(.failure(error))
            }
            done.signal()
        }
        signal?.onDisconnect { task.cancel() }
        done.wait()
        guard let result = box.get() else { throw CancellationError() }
        return try result.get()
    }
}

private final class ResultBox<Value: Sendable>: Sendable {
    private let result = Mutex<Result<Value, Error>?>(nil)

    func set(_ value: Result<Value, Error>) {
        result.withLock { $0 = value }
    }

    func get() -> Result<Value, Error>? {
        result.withLock { $0 }
    }
}
