import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Blocking HTTP transfers over URLSession for the command line: a small request
/// read into memory, or a large body streamed to a file.
enum HTTPTransfer {
    /// Performs `request`; with `followRedirects: false` the first response is returned
    /// as is (the hub puts a file's digest on the redirect, not on the CDN's answer).
    static func fetch(_ request: URLRequest, timeout: TimeInterval, followRedirects: Bool = true) throws -> (
        Data, HTTPURLResponse
    ) {
        let delegate = MemoryDelegate(followRedirects: followRedirects)
        let session = URLSession(configuration: configuration(timeout), delegate: delegate, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        session.dataTask(with: request).resume()
        delegate.done.wait()
        if let error = delegate.error {
            throw HubError.network(url: request.url?.absoluteString ?? "", reason: error.localizedDescription)
        }
        guard let response = delegate.response else {
            throw HubError.network(url: request.url?.absoluteString ?? "", reason: "no response")
        }
        return (delegate.body, response)
    }

    /// Streams the body to `file`: appended when the server honours the Range (206),
    /// rewritten from the start when it sends the whole file (200, after `restarted`).
    /// `received` sees every chunk written, in order.
    static func download(
        _ request: URLRequest, to file: URL, resumingAt offset: Int64, timeout: TimeInterval,
        received: @escaping (Data) -> Void = { _ in }, restarted: @escaping () -> Void = {},
        progress: @escaping (Int64, Int64?) -> Void
    ) throws -> (status: Int, bytes: Int64) {
        if !FileManager.default.fileExists(atPath: file.path) {
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        let delegate = FileDelegate(
            handle: handle, offset: offset, received: received, restarted: restarted, progress: progress)
        let session = URLSession(configuration: configuration(timeout), delegate: delegate, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        session.dataTask(with: request).resume()
        delegate.done.wait()
        if let error = delegate.error {
            throw HubError.network(url: request.url?.absoluteString ?? "", reason: error.localizedDescription)
        }
        return (delegate.status, delegate.written)
    }

    private static func configuration(_ timeout: TimeInterval) -> URLSessionConfiguration {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        return configuration
    }
}

/// Sendable by hand: URLSession calls it on one delegate queue; the caller reads it only after `done` is
/// signalled.
private final class MemoryDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let followRedirects: Bool
    let done = DispatchSemaphore(value: 0)
    var body = Data()
    var response: HTTPURLResponse?
    var error: Error?

    init(followRedirects: Bool) { self.followRedirects = followRedirects }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        if !followRedirects { self.response = response }
        completionHandler(followRedirects ? request : nil)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        self.response = response as? HTTPURLResponse
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        body.append(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if response == nil { self.error = error }
        if response == nil, error == nil, let http = task.response as? HTTPURLResponse { response = http }
        done.signal()
    }
}

/// Sendable by hand: URLSession calls it on one delegate queue; the caller reads it only after `done` is
/// signalled.
private final class FileDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let handle: FileHandle
    let offset: Int64
    let received: (Data) -> Void
    let restarted: () -> Void
    let progress: (Int64, Int64?) -> Void
    let done = DispatchSemaphore(value: 0)
    var status = 0
    var written: Int64 = 0
    var total: Int64?
    var error: Error?
    private var lastReport = DispatchTime.now()

    init(
        handle: FileHandle, offset: Int64, received: @escaping (Data) -> Void, restarted: @escaping () -> Void,
        progress: @escaping (Int64, Int64?) -> Void
    ) {
        self.handle = handle
        self.offset = offset
        self.received = received
        self.restarted = restarted
        self.progress = progress
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        let http = response as? HTTPURLResponse
        status = http?.statusCode ?? 0
        let length = response.expectedContentLength >= 0 ? response.expectedContentLength : nil
        do {
            switch status {
            case 206:
                try handle.seek(toOffset: UInt64(offset))
                written = offset
                total = length.map { $0 + offset }
            case 200:
                // The server ignored the Range: start over.
                try handle.truncate(atOffset: 0)
                restarted()
                total = length
            default:
                completionHandler(.cancel)
                return
            }
        } catch {
            self.error = error
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        do {
            try handle.write(contentsOf: data)
            written += Int64(data.count)
            received(data)
        } catch {
            self.error = error
            dataTask.cancel()
            return
        }
        if DispatchTime.now().uptimeNanoseconds - lastReport.uptimeNanoseconds > 500_000_000 {
            lastReport = DispatchTime.now()
            progress(written, total)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        // A cancel we asked for (a non-2xx status) is reported through `status`, not as an error.
        if let error, status == 200 || status == 206 || status == 0 { self.error = self.error ?? error }
        progress(written, total)
        done.signal()
    }
}
