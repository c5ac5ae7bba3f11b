import Foundation
import Generation
import HTTPServer
import JobStore

/// The inference server application: models, executors, routes, listeners, durable jobs,
/// and their lifecycle.
///
///     let app = ServerApp(configuration: configuration)
///     try app.start()                                   // listening; /health says 503 "loading"
///     try app.addGenerationModel(name: "story-small", pipeline: try GPT2Pipeline(directory: dir))
///     try app.addTranslationModel(name: "nllb", backend: nllbBackend)
///     try app.markReady()                               // /health 200; recovered jobs start running
///     ...
///     app.shutdown()                                    // on SIGINT/SIGTERM
///
/// Layers: the HTTP layer (`HTTP/`, `Router`) never sees a model; handlers (`Handlers/`)
/// decode and validate (`API/`), then submit to a model's executor (`Scheduling/`), which
/// never sees JSON; `APIErrorRenderer` renders every error in its API's shape.
///
/// Sendable by hand: every mutable field is read and written under `lock`.
public final class ServerApp: @unchecked Sendable {
    public let configuration: ServerConfiguration
    public let metrics = ServerMetrics()
    public let registry = ModelRegistry()
    /// The accepted API keys, starting with the configuration's; `replace(with:)` swaps them live.
    public let apiKeys: APIKeyRing
    let environment: ServingEnvironment
    let router: Router

    private let lock = NSLock()
    private var server: HTTPServer?
    private var openedListeners: [Listener] = []
    private var runner: JobRunner?
    private var store: (any JobStorage)?
    private var stopped = false

    public init(configuration: ServerConfiguration) {
        self.configuration = configuration
        environment = ServingEnvironment(registry: registry, metrics: metrics, configuration: configuration)
        router = Router(errorRenderer: { RequestLogMiddleware.withRequestID(APIErrorRenderer.render($0)) })
        let requestLog = configuration.requestLog ?? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        router.use(RequestLogMiddleware(format: configuration.requestLogFormat, write: requestLog))
        let keys = APIKeyRing(configuration.apiKeys)
        apiKeys = keys
        router.use(
            CORSMiddleware(
                allowedOrigins: configuration.corsOrigins, allowHeaders: Self.corsAllowHeaders,
                exposeHeaders: ["Location", "Idempotent-Replayed", "Retry-After"]))
        router.use(MetricsMiddleware(metrics: metrics))
        // DNS rebinding protection only matters when keys guard the server; /health stays open to probes.
        router.use(
            HostAllowlistMiddleware(
                allowedHosts: configuration.allowedHosts + [configuration.host],
                exemptRoutes: ["GET /health"], isActive: { !keys.isEmpty }))
        router.use(
            APIKeyMiddleware(
                keys: keys, legacyOpenOnLoopback: configuration.legacyRoutesOpenOnLoopback,
                allowedOrigins: AllowedOrigins(configuration.corsOrigins)))
        OperationalHandlers(environment: environment).register(on: router)
        OpenAIHandlers(environment: environment).register(on: router)
        OpenAIChatHandlers(environment: environment).register(on: router)
        NativeGeneration(environment: environment).register(on: router)
        NativeTranslation(environment: environment).register(on: router)
        TokenizeHandlers(environment: environment).register(on: router)
        LegacyHandlers(environment: environment).register(on: router)
        JobHandlers(environment: environment).register(on: router)
        StoryHandlers(environment: environment).register(on: router)
        PlaygroundHandlers().register(on: router)
    }

    /// The request headers the API reads, announced to CORS preflights.
    static let corsAllowHeaders = ["Authorization", "Content-Type", "Idempotency-Key"]

    /// Opens the job store (when configured) and binds the main port and every extra
    /// listener. Requests are answered at once; model routes say 503 until `markReady()`.
    @discardableResult
    public func start() throws -> [Listener] {
        lock.lock()
        defer { lock.unlock() }
        guard server == nil else { throw ServerAppError.alreadyStarted }
        if let store = try Self.openJobStore(configuration) {
            self.store = store
            environment.jobStore = store
        }
        let server = HTTPServer(configuration: configuration.http)
        do {
            openedListeners.append(
                try server.listen(host: configuration.host, port: configuration.port, responder: router))
            for extra in configuration.extraListeners {
                openedListeners.append(
                    try server.listen(
                        host: configuration.host, port: extra.port, name: extra.model,
                        responder: router))
            }
        } catch {
            server.shutdown(gracePeriod: 0)
            store?.close()
            throw error
        }
        self.server = server
        return openedListeners
    }

    /// SQLite (`--jobs-db`) or Redis (`--jobs-redis`), or nil when jobs are off.
    private static func openJobStore(_ configuration: ServerConfiguration) throws -> (any JobStorage)? {
        let log = configuration.log ?? { FileHandle.standardError.write(Data("[jobs] \($0)\n".utf8)) }
        if let path = configuration.jobsDatabasePath {
            var storeConfiguration = JobStore.Configuration()
            storeConfiguration.log = log
            return try JobStore(path: path, configuration: storeConfiguration)
        }
        guard let url = configuration.jobsRedisURL else { return nil }
        let store = try RedisJobStore(
            url: RedisURL(parsing: url),
            configuration: .init(lease: configuration.jobLease, resultTTL: configuration.jobResultTTL))
        // Not fatal: the server starts degraded and uses Redis once it is back.
        let health = store.health()
        if !health.isOK {
            log(
                "the job store is unavailable (/health says degraded until it is back): "
                    + "\(health.error ?? health.state)")
        }
        return store
    }

    /// The listeners, main port first.
    public var listeners: [Listener] {
        lock.lock()
        defer { lock.unlock() }
        return openedListeners
    }

    /// Serves a causal language model folder (GPT-2, or any architecture the model factory loads) under `name`.
    /// Its chat template is `configuration.chatTemplateFiles[name]`, else the folder's own, else `.plain`;
    /// its story presets are `storyPresets`, else the folder's `story_presets.json`, else the standard ones.
    public func addGenerationModel(
        name: String, pipeline: any CausalLanguagePipeline, storyVariant: LegacyStoryVariant? = nil,
        storyPresets: StoryPresets? = nil, draft: GenerationDraft? = nil
    ) throws {
        let template =
            try configuration.chatTemplateFiles[name].map {
                try ChatTemplate.load(file: URL(fileURLWithPath: $0), directory: pipeline.directory)
            } ?? ChatTemplate.load(directory: pipeline.directory)
        let presets = try storyPresets ?? StoryPresets.forModelFolder(pipeline.directory)
        try registry.add(
            .generation(
                GenerationService(
                    name: name, pipeline: pipeline, storyVariant: storyVariant,
                    chatTemplate: template, storyPresets: presets,
                    configuration: generationConfiguration, metrics: metrics,
                    draft: draft)))
    }

    /// Serves an already-built generation service (tests build them around fake models).
    public func addGenerationModel(
        _ makeService: (GenerationExecutor.Configuration, ServerMetrics) -> GenerationService
    ) throws {
        try registry.add(.generation(makeService(generationConfiguration, metrics)))
    }

    /// Serves a translation model under `name`: this is where the NLLB backend plugs in.
    public func addTranslationModel(name: String, backend: TranslationBackend, draft: GenerationDraft? = nil) throws {
        let executorConfiguration = TranslationExecutor.Configuration(
            maxBatch: configuration.translationMaxBatch,
            maxQueue: configuration.maxQueue)
        try registry.add(
            .translation(
                TranslationService(
                    name: name, backend: backend, configuration: executorConfiguration,
                    metrics: metrics, draft: draft)))
    }

    private var generationConfiguration: GenerationExecutor.Configuration {
        GenerationExecutor.Configuration(maxBatch: configuration.maxBatch, maxQueue: configuration.maxQueue)
    }

    /// Every model is loaded: checks each extra listener names one, starts the job runner
    /// (which first re-queues jobs a previous process left unfinished), and turns
    /// `/health` to 200.
    public func markReady() throws {
        for extra in configuration.extraListeners where registry.entry(named: extra.model) == nil {
            throw ServerAppError.unknownListenerModel(port: extra.port, model: extra.model)
        }
        lock.lock()
        let store = self.store
        lock.unlock()
        if let store {
            let log = configuration.log ?? { FileHandle.standardError.write(Data("[jobs] \($0)\n".utf8)) }
            let generationWorkers = max(1, configuration.maxBatch)
            let runnerConfiguration = JobRunner.Configuration(
                concurrency: [
                    JobKind.generate.rawValue: generationWorkers, JobKind.story.rawValue: generationWorkers,
                    JobKind.translate.rawValue: max(1, configuration.translationMaxBatch),
                ],
                resultTTL: configuration.jobResultTTL, log: log)
            let generationModels = registry.generationServices.map(\.name)
            (store as? RedisJobStore)?.setServedModels(byType: [
                JobKind.generate.rawValue: generationModels, JobKind.story.rawValue: generationModels,
                JobKind.translate.rawValue: registry.translationServices.map(\.name),
            ])
            let worker = JobWorker(environment: environment)
            let runner = JobRunner(store: store, configuration: runnerConfiguration) { job, progress, cancellation in
                try worker.run(job, progress: progress, cancellation: cancellation)
            }
            try runner.start()
            lock.lock()
            self.runner = runner
            lock.unlock()
        }
        registry.markReady()
    }

    /// Stops accepting, lets HTTP requests and running jobs finish for up to `gracePeriod`
    /// (default: the configuration's), cancels what is left (unfinished jobs go back to the
    /// queue for the next start), stops the executors and closes the job store. Idempotent: a
    /// second call reports nothing.
    @discardableResult
    public func shutdown(gracePeriod: TimeInterval? = nil) -> ShutdownReport {
        lock.lock()
        guard !stopped else {
            lock.unlock()
            return ShutdownReport()
        }
        stopped = true
        let server = self.server
        let runner = self.runner
        let store = self.store
        lock.unlock()

        let grace = gracePeriod ?? configuration.shutdownGracePeriod
        environment.markStopping()
        // HTTP requests and jobs drain in parallel: both need the executors, still running.
        let group = DispatchGroup()
        let report = ShutdownReport.Box()
        let stops: [@Sendable () -> Void] = [
            { report.set(http: server?.shutdown(gracePeriod: grace)) },
            { report.set(jobs: runner?.stop(gracePeriod: grace)) },
        ]
        for stop in stops {
            group.enter()
            Thread {
                stop()
                group.leave()
            }.start()
        }
        group.wait()
        for entry in registry.all {
            switch entry {
            case .generation(let service): service.executor.shutdown(gracePeriod: 1)
            case .translation(let service): service.executor.shutdown(gracePeriod: 1)
            }
        }
        if runner == nil { store?.close() }
        return report.value
    }
}
