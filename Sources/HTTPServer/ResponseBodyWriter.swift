import Foundation
import Synchronization

/// Writes the body of a streaming response, as it is produced.
///
/// Given to the closure of `HTTPResponse.Body.stream`. The server frames the
/// bytes for the client (chunked coding for HTTP/1.1, raw then close for HTTP/1.0);
/// each `write` goes out at once (no buffering, `TCP_NODELAY`), which is what
/// token streaming wants.
///
/// Thread-safe: the producer may hand the writer to another thread (a model
/// scheduler) as long as the stream closure does not return before that thread
/// is done — the response ends when the closure returns, and later writes return false.
///
/// `write` returns false when the bytes could not be delivered: the client
/// disconnected, a write timed out, or the response is over. The producer
/// should stop generating then. To notice a disconnect without writing (during
/// a long prompt evaluation, say), check `disconnect.isDisconnected` or register
/// `disconnect.onDisconnect`.
///
/// Sendable by hand: every mutable field is read and written under `lock`.
public final class ResponseBodyWriter: @unchecked Sendable {
    /// The request's disconnect signal.
    public let disconnect: DisconnectSignal

    private let lock = NSLock()
    private var sink: (([UInt8]) -> Bool)?

    init(disconnect: DisconnectSignal, sink: @escaping ([UInt8]) -> Bool) {
        self.disconnect = disconnect
        self.sink = sink
    }

    /// A writer that collects what is written, for testing handlers without a socket.
    public static func collecting(into collector: BodyCollector, disconnect: DisconnectSignal = DisconnectSignal())
        -> ResponseBodyWriter
    {
        ResponseBodyWriter(disconnect: disconnect) { bytes in
            collector.append(bytes)
            return true
        }
    }

    /// Sends bytes; false when the client is gone or the response has ended.
    /// Empty writes send nothing and return whether the client is still there.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        lock.lock()
        guard let sink, !disconnect.isDisconnected else {
            lock.unlock()
            return false
        }
        let delivered = bytes.isEmpty || sink(bytes)
        if !delivered { self.sink = nil }
        lock.unlock()
        // Outside the lock: disconnect handlers may call back into this writer.
        if !delivered { disconnect.markDisconnected() }
        return delivered
    }

    /// Sends the UTF-8 bytes of `text`.
    @discardableResult
    public func write(_ text: String) -> Bool {
        write(Array(text.utf8))
    }

    /// Whether writes can still succeed, asking the socket (see `DisconnectSignal.isClientConnected`).
    public var isClientConnected: Bool {
        lock.lock()
        let open = sink != nil
        lock.unlock()
        return open && disconnect.isClientConnected
    }

    /// Ends the response: later writes return false.
    func close() {
        lock.lock()
        sink = nil
        lock.unlock()
    }
}

/// Accumulates what a `ResponseBodyWriter.collecting` writer received.
public final class BodyCollector: Sendable {
    private let storage = Mutex<[UInt8]>([])

    public init() {}

    public var bytes: [UInt8] { storage.withLock { $0 } }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    func append(_ bytes: [UInt8]) {
        storage.withLock { $0.append(contentsOf: bytes) }
    }
}
