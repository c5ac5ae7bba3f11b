import Foundation
import GPT2

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
public final class ServerApp: @unchecked Sendable {
    public let configuration: ServerConfiguration
    public let metrics = ServerMetrics()
    public let registry = ModelRegistry()
    let environment: ServingEnvironment
    let router: Router

    private let lock = NSLock()
    private var server: HTTPServer?
    private var openedListeners: [Listener] = []
    private var runner: JobRunner?
    private var store: JobStore?
    private var stopped = false

    public init(configuration: ServerConfiguration) {
        self.configuration = configuration
        environment = ServingEnvironment(registry: registry, metrics: metrics, configuration: configuration)
        router = Router(errorRenderer: { RequestLogMiddleware.withRequestID(APIErrorRenderer.render($0)) })
        let requestLog = configuration.requestLog ?? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        router.use(RequestLogMiddleware(format: configuration.requestLogFormat, write: requestLog))
        router.use(CORSMiddleware())
        router.use(MetricsMiddleware(metrics: metrics))
        router.use(APIKeyMiddleware(apiKeys: configuration.apiKeys,
                                    legacyOpenOnLoopback: configuration.legacyRoutesOpenOnLoopback))
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

    /// Opens the job store (when configured) and binds the main port and every extra
    /// listener. Requests are answered at once; model routes say 503 until `markReady()`.
    @discardableResult
    public func start() throws -> [Listener] {
        lock.lock()
        defer { lock.unlock() }
        guard server == nil else { throw ServerAppError.alreadyStarted }
        if let path = configuration.jobsDatabasePath {
            let store = try JobStore(path: path)
            self.store = store
            environment.jobStore = store
        }
        let server = HTTPServer(configuration: configuration.http)
        do {
            openedListeners.append(try server.listen(host: configuration.host, port: configuration.port, responder: router))
            for extra in configuration.extraListeners {
                openedListeners.append(try server.listen(host: configuration.host, port: extra.port, name: extra.model,
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

    /// The listeners, main port first.
    public var listeners: [Listener] {
        lock.lock()
        defer { lock.unlock() }
        return openedListeners
    }

    /// Serves a GPT-2 folder under `name`.
    /// Its chat template is `configuration.chatTemplateFiles[name]`, else the folder's own, else `.plain`;
    /// its story presets are `storyPresets`, else the folder's `story_presets.json`, else the standard ones.
    public func addGenerationModel(name: String, pipeline: GPT2Pipeline, storyVariant: LegacyStoryVariant? = nil,
                                   storyPresets: StoryPresets? = nil) throws {
        let template = try configuration.chatTemplateFiles[name].map {
            try ChatTemplate.load(file: URL(fileURLWithPath: $0), directory: pipeline.directory)
        } ?? ChatTemplate.load(directory: pipeline.directory)
        let presets = try storyPresets ?? StoryPresets.forModelFolder(pipeline.directory)
        try registry.add(.generation(GenerationService(name: name, pipeline: pipeline, storyVariant: storyVariant,
                                                       chatTemplate: template, storyPresets: presets,
                                                       configuration: generationConfiguration, metrics: metrics)))
    }

    /// Serves an already-built generation service (tests build them around fake models).
    public func addGenerationModel(_ makeService: (GenerationExecutor.Configuration, ServerMetrics) -> GenerationService) throws {
        try registry.add(.generation(makeService(generationConfiguration, metrics)))
    }

    /// Serves a translation model under `name`: this is where the NLLB backend plugs in.
    public func addTranslationModel(name: String, backend: TranslationBackend) throws {
        let executorConfiguration = TranslationExecutor.Configuration(maxBatch: configuration.translationMaxBatch,
                                                                      maxQueue: configuration.maxQueue)
        try registry.add(.translation(TranslationService(name: name, backend: backend, configuration: executorConfiguration,
                                                         metrics: metrics)))
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
                concurrency: [JobKind.generate.rawValue: generationWorkers, JobKind.story.rawValue: generationWorkers,
                              JobKind.translate.rawValue: max(1, configuration.translationMaxBatch)],
                resultTTL: configuration.jobResultTTL, log: log)
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
        let server = self.server, runner = self.runner, store = self.store
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
