/// Formats server-sent events (the WHATWG `text/event-stream` format) onto a
/// `ResponseBodyWriter`. Each `send` is one write: one event on the wire.
public struct ServerSentEventWriter: Sendable {
    /// The underlying writer, for its `disconnect` signal or raw writes.
    public let writer: ResponseBodyWriter

    public init(writer: ResponseBodyWriter) {
        self.writer = writer
    }

    /// The request's disconnect signal.
    public var disconnect: DisconnectSignal { writer.disconnect }

    /// Sends `event:` / `id:` / `data:` lines and the blank line that ends the event.
    /// Multi-line data becomes one `data:` line per line, as the format requires.
    /// Returns false when the client is gone.
    @discardableResult
    public func send(data: String, event: String? = nil, id: String? = nil) -> Bool {
        writer.write(Self.format(data: data, event: event, id: id))
    }

    /// Sends a comment line (`: text`), which clients ignore: a keep-alive ping
    /// that also detects a vanished client during long silences.
    @discardableResult
    public func comment(_ text: String = "") -> Bool {
        writer.write(": " + Self.singleLine(text) + "\n\n")
    }

    static func format(data: String, event: String?, id: String?) -> String {
        var out = ""
        if let event { out += "event: " + singleLine(event) + "\n" }
        if let id { out += "id: " + singleLine(id) + "\n" }
        let normalized = data.replacingCRLF()
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            out += "data: " + line + "\n"
        }
        return out + "\n"
    }

    /// Field values other than data must not contain line breaks (they would start a new field).
    private static func singleLine(_ text: String) -> String {
        String(text.unicodeScalars.map { $0 == "\r" || $0 == "\n" || $0 == "\0" ? " " : Character($0) })
    }
}

extension String {
    /// CRLF and lone CR become LF, the three line endings the SSE format knows.
    fileprivate func replacingCRLF() -> String {
        guard unicodeScalars.contains("\r") else { return self }
        var out = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in unicodeScalars {
            if scalar == "\r" {
                out.append("\n")
                previousWasCR = true
            } else {
                if !(scalar == "\n" && previousWasCR) { out.append(scalar) }
                previousWasCR = false
            }
        }
        return String(out)
    }
}
