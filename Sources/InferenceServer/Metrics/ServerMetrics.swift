import Foundation
import HTTPServer

/// Every number `GET /metrics` exposes, recorded by the middleware (requests) and the
/// executors (tokens, latencies, batches, queues). Thread-safe; recording is a lock and
/// a few additions.
///
/// Sendable by hand: every counter is read and written under the metrics lock.
public final class ServerMetrics: @unchecked Sendable {
    private struct RequestKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private struct ModelSeries {
        var promptTokens: UInt64 = 0
        var generatedTokens: UInt64 = 0
        var cancelled: UInt64 = 0
        var timedOut: UInt64 = 0
        var completed: UInt64 = 0
        var queueDepth = 0
        var activeSequences = 0
        var timeToFirstToken = Histogram(bounds: Histogram.latencySeconds)
        var tokenLatency = Histogram(bounds: Histogram.latencySeconds)
        var batchSize = Histogram(bounds: Histogram.batchSizes)
    }

    private let lock = NSLock()
    private var requests: [RequestKey: UInt64] = [:]
    private var models: [String: ModelSeries] = [:]

    public init() {}

    // MARK: Recording

    /// One HTTP request answered; `route` is the matched pattern (`/v1/jobs/{id}`), never
    /// the raw path, so ids do not explode the label set.
    public func recordRequest(route: String, method: String, status: Int) {
        update { $0.requests[RequestKey(route: route, method: method, status: status), default: 0] += 1 }
    }

    public func recordBatch(model: String, size: Int) {
        updateModel(model) { $0.batchSize.observe(Double(size)) }
    }

    public func recordQueue(model: String, depth: Int, active: Int) {
        updateModel(model) {
            $0.queueDepth = depth
            $0.activeSequences = active
        }
    }

    public func recordAdmission(model: String, promptTokens: Int) {
        updateModel(model) { $0.promptTokens += UInt64(max(0, promptTokens)) }
    }

    public func recordFirstToken(model: String, seconds: Double) {
        updateModel(model) {
            $0.timeToFirstToken.observe(seconds)
            $0.generatedTokens += 1
        }
    }

    /// A token after the first, `seconds` after the previous one of the same sequence.
    public func recordNextToken(model: String, seconds: Double) {
        updateModel(model) {
            $0.tokenLatency.observe(seconds)
            $0.generatedTokens += 1
        }
    }

    public func recordFinished(model: String, cancelled: Bool) {
        updateModel(model) {
            if cancelled { $0.cancelled += 1 } else { $0.completed += 1 }
        }
    }

    /// Tokens generated for one translated sentence (decoder start excluded).
    public func recordGeneratedTokens(model: String, count: Int) {
        updateModel(model) { $0.generatedTokens += UInt64(max(0, count)) }
    }

    /// Creates `model`'s series at zero, so a loaded model shows up before its first request.
    public func register(model: String) {
        updateModel(model) { _ in }
    }

    public func recordTimeout(model: String) {
        updateModel(model) { $0.timedOut += 1 }
    }

    // MARK: Reading (tests, /metrics)

    /// Requests counted for a route, any method, optionally one status.
    public func requestCount(route: String, status: Int? = nil) -> UInt64 {
        read {
            $0.requests.filter { $0.key.route == route && (status == nil || $0.key.status == status) }.values.reduce(
                0, +)
        }
    }

    /// The largest batch size seen for `model` (an upper bucket bound), 0 if none ran.
    public func largestBatchBucket(model: String) -> Double {
        read { metrics in
            guard let histogram = metrics.models[model]?.batchSize else { return 0 }
            var largest = 0.0
            for (bound, count) in zip(histogram.bounds, histogram.counts) where count > 0 { largest = bound }
            return largest
        }
    }

    public func cancelledCount(model: String) -> UInt64 { read { $0.models[model]?.cancelled ?? 0 } }
    public func generatedTokenCount(model: String) -> UInt64 { read { $0.models[model]?.generatedTokens ?? 0 } }
    public func promptTokenCount(model: String) -> UInt64 { read { $0.models[model]?.promptTokens ?? 0 } }
    public func completedCount(model: String) -> UInt64 { read { $0.models[model]?.completed ?? 0 } }
    public func activeSequences(model: String) -> Int? { read { $0.models[model]?.activeSequences } }

    /// The Prometheus text exposition (content type `text/plain; version=0.0.4`).
    public func prometheusText() -> String {
        read { metrics in
            var out = ""
            func header(_ name: String, _ type: String, _ help: String) {
                out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            }
            header(
                "octavo_http_requests_total", "counter", "HTTP requests answered, by route pattern, method and status.")
            for (key, value) in metrics.requests.sorted(by: {
                ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status)
            }) {
                out +=
                    "octavo_http_requests_total"
                    + PrometheusText.labels([
                        ("route", key.route), ("method", key.method), ("status", String(key.status)),
                    ]) + " \(value)\n"
            }
            let names = metrics.models.keys.sorted()
            func counter(_ name: String, _ help: String, _ value: (ModelSeries) -> UInt64) {
                header(name, "counter", help)
                for model in names {
                    out += name + PrometheusText.labels([("model", model)]) + " \(value(metrics.models[model]!))\n"
                }
            }
            func gauge(_ name: String, _ help: String, _ value: (ModelSeries) -> Int) {
                header(name, "gauge", help)
                for model in names {
                    out += name + PrometheusText.labels([("model", model)]) + " \(value(metrics.models[model]!))\n"
                }
            }
            func histogram(_ name: String, _ help: String, _ value: (ModelSeries) -> Histogram) {
                header(name, "histogram", help)
                for model in names {
                    let h = value(metrics.models[model]!)
                    for (le, count) in h.cumulativeBuckets {
                        out += name + "_bucket" + PrometheusText.labels([("model", model), ("le", le)]) + " \(count)\n"
                    }
                    out += name + "_sum" + PrometheusText.labels([("model", model)]) + " \(h.sum)\n"
                    out += name + "_count" + PrometheusText.labels([("model", model)]) + " \(h.count)\n"
                }
            }
            counter("octavo_prompt_tokens_total", "Prompt tokens admitted into a batch.") { $0.promptTokens }
            counter("octavo_generated_tokens_total", "Tokens generated.") { $0.generatedTokens }
            counter("octavo_requests_completed_total", "Sequences that ran to the end.") { $0.completed }
            counter("octavo_requests_cancelled_total", "Sequences cancelled (client gone, job cancelled, shutdown).") {
                $0.cancelled
            }
            counter("octavo_requests_timed_out_total", "Sequences that hit the per-request timeout.") { $0.timedOut }
            gauge("octavo_queue_depth", "Requests waiting for a batch slot.") { $0.queueDepth }
            gauge("octavo_active_sequences", "Sequences in the running batch.") { $0.activeSequences }
            histogram("octavo_time_to_first_token_seconds", "Submission to first token.") { $0.timeToFirstToken }
            histogram("octavo_token_latency_seconds", "Time between consecutive tokens of a sequence.") {
                $0.tokenLatency
            }
            histogram(
                "octavo_batch_size",
                "Sequences per forward pass (generation) or sentences per decoder step (translation)."
            ) { $0.batchSize }
            return out
        }
    }

    private func update(_ body: (ServerMetrics) -> Void) {
        lock.lock()
        body(self)
        lock.unlock()
    }

    private func updateModel(_ model: String, _ body: (inout ModelSeries) -> Void) {
        lock.lock()
        body(&models[model, default: ModelSeries()])
        lock.unlock()
    }

    private func read<T>(_ body: (ServerMetrics) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(self)
    }
}
