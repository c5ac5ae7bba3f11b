import Foundation
import HTTPServer
import JobStore

/// What handlers share: the models, the metrics, the limits, the job store, and whether
/// the server is ready. Handlers reach models only through their services' executors.
///
/// Sendable by hand: every mutable field is read and written under `lock`.
final class ServingEnvironment: @unchecked Sendable {
    let registry: ModelRegistry
    let metrics: ServerMetrics
    let configuration: ServerConfiguration
    private let lock = NSLock()
    private var store: (any JobStorage)?
    private var stopping = false

    init(registry: ModelRegistry, metrics: ServerMetrics, configuration: ServerConfiguration) {
        self.registry = registry
        self.metrics = metrics
        self.configuration = configuration
    }

    var jobStore: (any JobStorage)? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return store
        }
        set {
            lock.lock()
            store = newValue
            lock.unlock()
        }
    }

    var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    func markStopping() {
        lock.lock()
        stopping = true
        lock.unlock()
    }

    /// 503 with Retry-After while the models load. While the server stops, requests that reach a
    /// handler are still served: they arrived before the listeners closed (in flight), and the
    /// executors run until the drain ends; `/health` already says "stopping".
    func requireReady() throws {
        guard registry.isReady else {
            throw HTTPError.retryLater(
                .serviceUnavailable, "The models are still loading; retry shortly.", afterSeconds: 2,
                code: "model_loading")
        }
    }

    /// The generation model named `name`, else the listener's model, else the first one.
    /// Job workers pass `checkReady: false`: a job claimed during shutdown must not fail for it.
    func generationService(named name: String?, listener: String?, checkReady: Bool = true) throws -> GenerationService
    {
        if checkReady { try requireReady() }
        if let name {
            switch registry.entry(named: name) {
            case .generation(let service)?: return service
            case .translation?:
                throw APIErrors.invalid(
                    "model", "'\(name)' is a translation model; use /v1/translate or another model.")
            case nil:
                throw APIErrors.modelNotFound(name, available: registry.generationServices.map(\.name))
            }
        }
        if let listener, case .generation(let service)? = registry.entry(named: listener) { return service }
        guard let first = registry.generationServices.first else {
            throw HTTPError(.notFound, "No text-generation model is loaded on this server.", code: "model_not_found")
        }
        return first
    }

    /// The translation model named `name`, else the listener's model, else the first one.
    func translationService(named name: String?, listener: String?, checkReady: Bool = true) throws
        -> TranslationService
    {
        if checkReady { try requireReady() }
        if let name {
            switch registry.entry(named: name) {
            case .translation(let service)?: return service
            case .generation?:
                throw APIErrors.invalid("model", "'\(name)' is a text-generation model, not a translation model.")
            case nil:
                throw APIErrors.modelNotFound(name, available: registry.translationServices.map(\.name))
            }
        }
        if let listener, case .translation(let service)? = registry.entry(named: listener) { return service }
        guard let first = registry.translationServices.first else {
            throw HTTPError(.notFound, "No translation model is loaded on this server.", code: "model_not_found")
        }
        return first
    }
}
