import Foundation
import Generation
import HTTPServer
import InferenceServer
import JobStore
import ModelFactory
import Tensor

/// `octavo-infer serve`: the inference server, in the foreground until SIGINT/SIGTERM.
enum ServeCommand: Command {
    static let name = "serve"
    static let summary = "Serve models over HTTP (OpenAI-compatible, native, the old services' routes, jobs)"
    static let help = """
        Usage: octavo-infer serve --model NAME=DIR [--model NAME=DIR ...] [options]

        Serves every model on the main port and, with --listen, on extra ports whose compatibility
        routes (/generate_story, /translate) and requests without "model" use one model, so three
        ports can stand in for the old story and translation services. Listens first (GET /health
        answers 503 while the models load), then loads, then answers 200.

        Options:
          --model NAME=DIR             a model folder served as NAME (repeatable); GPT-2 folders are
                                       detected from config.json's model_type
          --story-variant NAME=MODE    /generate_story post-processing for a model: small, medium or
                                       auto (default: medium when the output has "### Story:")
          --host ADDRESS               address to bind (default 127.0.0.1; 0.0.0.0 for every interface)
          --port PORT                  main port (default 8080; 0 picks a free one)
          --listen PORT=NAME           an extra port whose default model is NAME (repeatable)
          --api-key KEY                require 'Authorization: Bearer KEY' (also OCTAVO_API_KEY);
                                       /health stays open, and so do /generate_story and /translate
                                       for programs on 127.0.0.1 (the old frontend sends no key), but
                                       not for web pages of other origins or requests through a proxy
          --api-key-file FILE          accepted keys, one per line (# comments); reloaded on SIGHUP
                                       (systemctl reload); with --api-key, both are accepted
          --allowed-host NAME          a name clients use to reach the server (behind a proxy or load
                                       balancer; repeatable). With keys set, requests whose Host is not
                                       localhost, an IP address, this machine's name, --host or an
                                       --allowed-host are refused with 421 (DNS rebinding)
          --cors-origin ORIGIN         let web pages from ORIGIN (https://app.example.com) call the
                                       server (repeatable; * for any). Off by default: no CORS headers,
                                       preflights refused with 403
          --max-batch N                sequences per forward pass (default: by the weights' precision,
                                       the threads and the caches; 32 for int8 GPT-2 on 2 threads)
          --max-queue N                requests waiting per model before 429 (default 64)
          --request-timeout SECONDS    per-request limit, queue time included (default 600)
          --jobs-db PATH               SQLite file for durable jobs (/v1/jobs); off without it
          --jobs-redis URL             keep durable jobs in Redis (redis://[:PASSWORD@]HOST:PORT/DB)
                                       instead, shared by every server pointed at it
          --job-lease SECONDS          with --jobs-redis: a job whose server stops renewing it this
                                       long is run again by another server (default 30)
          --job-ttl SECONDS            delete finished jobs this long after they end (default 86400)
          --grace-period SECONDS       on SIGINT/SIGTERM, time for in-flight work (default 10); a
                                       second signal stops at once; SIGHUP reloads --api-key-file (or
                                       is ignored without one)
          --max-body-bytes N           largest request body (default 1048576)
          --threads N                  compute threads (default: all cores)
          --dtype f32|f16|int8|q4      keep every model's matrices in this precision (default f32)
          --kv-cache f32|f16           keep every model's attention caches in this precision (default
                                       f32; f16 halves their memory and what batched decode reads)
          --vocabulary-map NAME=FILE   restrict translation model NAME's output to the tokens this
                                       CTranslate2 vocabulary map (vmap.txt) allows for each batch's
                                       sources (repeatable; faster, and may change translations)
          --chat-template NAME=FILE    the Jinja chat template for generation model NAME (repeatable;
                                       default: the folder's tokenizer_config.json chat_template, else
                                       plain "Role: content" lines; README: chat templates)
          --draft D                    exact speculative decoding inside the batch (greedy ids are the
                                       model's own; sampled text follows its distribution): int8, f16,
                                       ngram or ngram+int8 for every model; a model folder sharing the
                                       tokenizer for generation models (see generate). Translations:
                                       greedy one-beam sentences only
          --draft-tokens K             tokens proposed per round at first (default 4, adaptive)
          --draft-dtype D              precision of a --draft model folder (default f32)
          --log-format text|json|off   one line per request on standard error (default text)
          --config FILE                read options from a JSON file, keys named like the options
                                       ({"model": {"NAME": "DIR"}, "port": 8080, "listen": {"4019":
                                       "NAME"}, "cors-origin": [...]}); options given here override it
          --check-config               check the options and --config file (model folders, key file)
                                       without serving: prints every problem and exits 2, or exits 0

        Example (the three old services on their old ports, plus the API on 8080):
          octavo-infer serve --model story-small=models/story-small --model story-medium=models/story-medium \\
              --model nllb=models/nllb-200-distilled-600M \\
              --listen 4019=story-small --listen 4021=story-medium --listen 4020=nllb
        """
    static let spec = CommandLineArguments.Spec(
        options: [
            "host", "port", "api-key", "api-key-file", "max-batch", "max-queue", "request-timeout", "jobs-db",
            "jobs-redis", "job-lease", "job-ttl", "grace-period", "max-body-bytes", "threads", "dtype", "kv-cache",
            "config", "log-format", "draft", "draft-tokens", "draft-dtype",
        ],
        repeatable: [
            "model", "listen", "story-variant", "vocabulary-map", "cors-origin", "allowed-host", "chat-template",
        ],
        flags: ["check-config"])

    static func run(_ commandLine: CommandLineArguments) throws {
        let (arguments, fileProblems) = try ServeConfigFile.merged(commandLine, spec: spec)
        if arguments.has("check-config") { return try ServeConfigCheck.run(arguments, fileProblems: fileProblems) }
        if !fileProblems.isEmpty { throw CLIError.usage(ServeConfigFile.Problems(lines: fileProblems).list) }
        let models = try modelSpecs(arguments)
        let variants = try storyVariants(arguments, models: models)
        let vocabularyMaps = try vocabularyMaps(arguments, models: models)
        var configuration = try serverConfiguration(arguments, modelNames: models.map(\.name))
        try GenerateCommand.applyThreads(arguments)
        let draft = try draftRequest(arguments, models: models)
        let precision = try GenerateCommand.precisionOption(arguments)
        let cachePrecision = try GenerateCommand.cachePrecisionOption(arguments)
        if !arguments.has("max-batch"),
            let batch = ServeBatchDefault.maxBatch(models: models, precision: precision, cachePrecision: cachePrecision)
        {
            configuration.maxBatch = batch
        }
        try applyLogAndChatOptions(arguments, models: models, to: &configuration)
        configuration.log = { line in FileHandle.standardError.write(Data("octavo-infer serve: \(line)\n".utf8)) }
        MappedFileFault.install()

        let app = ServerApp(configuration: configuration)
        let listeners: [Listener]
        do {
            listeners = try app.start()
        } catch {
            throw CLIError.runtime("cannot start: \(error)")
        }
        // Signals are handled from the start, so an interrupted load still closes the job store.
        let signals = StopSignals(
            onSecondSignal: { number in
                say(
                    "second \(number == SIGINT ? "SIGINT" : "SIGTERM"): stopping now; running jobs run again (next "
                        + "start, or another server after the lease)")
            }, onHangUp: apiKeyReloader(arguments, keys: app.apiKeys))
        for (index, listener) in listeners.enumerated() {
            let scope = index == 0 ? "all models" : (listener.name ?? "")
            say("listening on http://\(listener.host):\(listener.port) (\(scope))")
        }

        let loading = Thread {
            do {
                for model in models {
                    try load(
                        model, variant: variants[model.name], vocabularyMap: vocabularyMaps[model.name],
                        precision: precision, cachePrecision: cachePrecision, draft: draft, into: app)
                }
                try app.markReady()
                for line in banner(
                    version: version, app: app, models: models, precision: precision,
                    listeners: listeners, configuration: app.configuration)
                { say(line) }
                say("ready")
            } catch {
                FileHandle.standardError.write(Data("octavo-infer serve: \(error)\n".utf8))
                app.shutdown(gracePeriod: 0)
                exit(1)
            }
        }
        loading.stackSize = 8 << 20
        loading.start()

        withExtendedLifetime(signals) {
            let name = signals.waitForStop()
            say(
                "\(name): shutting down (grace period \(Int(configuration.shutdownGracePeriod)) s; a second signal "
                    + "stops at once)")
            let report = app.shutdown()
            say("stopped: \(report.summary)")
        }
    }

    struct ModelSpec {
        let name: String
        let directory: URL
    }

    static func modelSpecs(_ arguments: CommandLineArguments) throws -> [ModelSpec] {
        let values = arguments.strings("model")
        guard !values.isEmpty else { throw CLIError.usage("give at least one --model NAME=DIR") }
        var specs: [ModelSpec] = []
        for value in values {
            guard let (name, path) = splitPair(value), !name.isEmpty, !path.isEmpty else {
                throw CLIError.usage("--model expects NAME=DIR, got '\(value)'")
            }
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:/".contains($0) }) else {
                throw CLIError.usage("--model name '\(name)' may only use letters, digits and - _ . : /")
            }
            guard !specs.contains(where: { $0.name == name }) else {
                throw CLIError.usage("two --model options are named '\(name)'")
            }
            specs.append(ModelSpec(name: name, directory: try ModelResolver(arguments).resolve(path)))
        }
        return specs
    }

    static func storyVariants(_ arguments: CommandLineArguments, models: [ModelSpec]) throws -> [String:
        LegacyStoryVariant]
    {
        var variants: [String: LegacyStoryVariant] = [:]
        for value in arguments.strings("story-variant") {
            guard let (name, mode) = splitPair(value) else {
                throw CLIError.usage("--story-variant expects NAME=small|medium|auto")
            }
            guard models.contains(where: { $0.name == name }) else {
                throw CLIError.usage("--story-variant names no model: '\(name)'")
            }
            if mode == "auto" { continue }
            guard let variant = LegacyStoryVariant(rawValue: mode) else {
                throw CLIError.usage("--story-variant expects small, medium or auto, got '\(mode)'")
            }
            variants[name] = variant
        }
        return variants
    }

    /// --vocabulary-map NAME=FILE, checked against the models (the files are read at load).
    static func vocabularyMaps(_ arguments: CommandLineArguments, models: [ModelSpec]) throws -> [String: URL] {
        var maps: [String: URL] = [:]
        for value in arguments.strings("vocabulary-map") {
            guard let (name, path) = splitPair(value), !path.isEmpty else {
                throw CLIError.usage("--vocabulary-map expects NAME=FILE, got '\(value)'")
            }
            guard models.contains(where: { $0.name == name }) else {
                throw CLIError.usage("--vocabulary-map \(value): no --model is named '\(name)'")
            }
            guard maps[name] == nil else { throw CLIError.usage("two --vocabulary-map options name '\(name)'") }
            maps[name] = URL(fileURLWithPath: path)
        }
        return maps
    }

    /// The server's configuration from the options; a usage error lists every bad option.
    static func serverConfiguration(_ arguments: CommandLineArguments, modelNames: [String]) throws
        -> ServerConfiguration
    {
        let (configuration, problems) = checkedServerConfiguration(arguments, modelNames: modelNames)
        guard problems.count <= 1 else {
            throw CLIError.usage("\(problems.count) problems:\n" + problems.map { "  - \($0)" }.joined(separator: "\n"))
        }
        if let problem = problems.first { throw problem }
        return configuration
    }

    /// The configuration, and every option that could not be used (those keep their defaults).
    static func checkedServerConfiguration(_ arguments: CommandLineArguments, modelNames: [String]) -> (
        ServerConfiguration, [Error]
    ) {
        var c = ServerConfiguration()
        var problems: [Error] = []
        func check(_ step: () throws -> Void) {
            do { try step() } catch { problems.append(error) }
        }
        if let host = arguments.string("host") { c.host = host }
        check {
            if let port = try arguments.int("port") {
                guard (0...65535).contains(port) else { throw CLIError.usage("--port must be between 0 and 65535") }
                c.port = port
            }
        }
        for value in arguments.strings("listen") {
            check {
                guard let (portText, model) = splitPair(value), let port = Int(portText), (1...65535).contains(port)
                else {
                    throw CLIError.usage(
                        "--listen expects PORT=NAME with a port between 1 and 65535, got "
                            + "'\(value)'")
                }
                guard modelNames.contains(model) else {
                    throw CLIError.usage("--listen \(value): no --model is named '\(model)'")
                }
                guard port != c.port, !c.extraListeners.contains(where: { $0.port == port }) else {
                    throw CLIError.usage("--listen \(value): port \(port) is used twice")
                }
                c.extraListeners.append((port: port, model: model))
            }
        }
        check { c.apiKeys = try apiKeys(arguments) }
        check { c.corsOrigins = try corsOrigins(arguments) }
        check { c.allowedHosts = try allowedHosts(arguments) }
        check {
            if let n = try arguments.int("max-batch") {
                guard (1...256).contains(n) else { throw CLIError.usage("--max-batch must be between 1 and 256") }
                c.maxBatch = n
                c.translationMaxBatch = n
            }
        }
        check {
            if let n = try arguments.int("max-queue") {
                guard (0...100_000).contains(n) else {
                    throw CLIError.usage("--max-queue must be between 0 and 100000")
                }
                c.maxQueue = n
            }
        }
        check {
            if let seconds = try arguments.float("request-timeout") {
                guard seconds > 0 else { throw CLIError.usage("--request-timeout must be positive") }
                c.requestTimeout = TimeInterval(seconds)
            }
        }
        c.jobsDatabasePath = arguments.string("jobs-db")
        c.jobsRedisURL = arguments.string("jobs-redis")
        check {
            if c.jobsDatabasePath != nil && c.jobsRedisURL != nil {
                throw CLIError.usage("--jobs-db and --jobs-redis both name a job store: give one")
            }
            if let url = c.jobsRedisURL {
                do { _ = try RedisURL(parsing: url) } catch { throw CLIError.usage(String(describing: error)) }
            }
        }
        check {
            if let seconds = try arguments.float("job-lease") {
                guard c.jobsRedisURL != nil else { throw CLIError.usage("--job-lease needs --jobs-redis") }
                guard seconds >= 1 else { throw CLIError.usage("--job-lease must be at least 1 second") }
                c.jobLease = TimeInterval(seconds)
            }
        }
        check {
            if let seconds = try arguments.float("job-ttl") {
                guard seconds > 0 else { throw CLIError.usage("--job-ttl must be positive") }
                c.jobResultTTL = TimeInterval(seconds)
            }
        }
        check {
            if let seconds = try arguments.float("grace-period") {
                guard seconds >= 0 else { throw CLIError.usage("--grace-period must be >= 0") }
                c.shutdownGracePeriod = TimeInterval(seconds)
                c.http.shutdownGracePeriod = TimeInterval(seconds)
            }
        }
        check {
            if let bytes = try arguments.int("max-body-bytes") {
                guard (1024...(1 << 30)).contains(bytes) else {
                    throw CLIError.usage("--max-body-bytes must be between 1024 and 1073741824")
                }
                c.http.maxBodyBytes = bytes
            }
        }
        return (c, problems)
    }

    /// Loads one folder by its architecture (config.json's model_type) and adds it to the app;
    /// with `draft` where the model can take it.
    static func load(
        _ spec: ModelSpec, variant: LegacyStoryVariant?, vocabularyMap: URL?, precision: WeightPrecision,
        cachePrecision: KVCachePrecision, draft draftRequest: DraftRequest? = nil,
        into app: ServerApp
    ) throws {
        let start = Date()
        notePyTorchWeights(in: spec.directory)
        let architecture = try ModelFolder.architecture(of: spec.directory)
        switch architecture.capability {
        case .causalGeneration:
            if vocabularyMap != nil {
                throw CLIError.usage(
                    "--vocabulary-map \(spec.name)=...: '\(spec.name)' is a "
                        + "\(architecture.displayName) model; "
                        + "vocabulary maps restrict translation models")
            }
            let pipeline: any CausalLanguagePipeline
            do {
                pipeline = try ModelFolder.loadCausal(
                    spec.directory,
                    options: ModelLoadOptions(
                        precision: precision,
                        cachePrecision: cachePrecision))
            } catch {
                throw CLIError.runtime("cannot load model '\(spec.name)' from \(spec.directory.path): \(error)")
            }
            let draft = try draftRequest.map { try servedDraft($0, spec: spec, pipeline: pipeline) }
            try app.addGenerationModel(name: spec.name, pipeline: pipeline, storyVariant: variant, draft: draft)
            let millions = Double(pipeline.parameterCount) / 1e6
            let drafted = draft.map { ", draft \($0.label)" } ?? ""
            say(
                "loaded \(spec.name): \(architecture.modelType), \(String(format: "%.1f", millions))M parameters, "
                    + "\(pipeline.languageModel.maxPositions) positions\(drafted), in \(milliseconds(since: start)) "
                    + "ms, "
                    + "from \(spec.directory.path)")
        case .translation:
            let backend = try ServeModelLoader.translationBackend(
                directory: spec.directory,
                options: ModelLoadOptions(
                    precision: precision, cachePrecision: cachePrecision, vocabularyMap: vocabularyMap))
            let draft = try draftRequest.flatMap { request in
                try request.loadTranslation(target: spec.directory).map {
                    GenerationDraft(label: request.label, draftTokens: request.draftTokens, makeDraft: $0)
                }
            }
            try app.addTranslationModel(name: spec.name, backend: backend, draft: draft)
            let drafted = draft.map { ", draft \($0.label)" } ?? ""
            say(
                "loaded \(spec.name): \(architecture.modelType) translation, \(backend.languages.count) languages"
                    + "\(drafted), in \(milliseconds(since: start)) ms, from \(spec.directory.path)")
        }
    }

    /// `--draft`, checked before the server binds its port: its values, its folder, and that
    /// some served model can take it (a model folder drafts only for generation models).
    static func draftRequest(_ arguments: CommandLineArguments, models: [ModelSpec]) throws -> DraftRequest? {
        guard let request = try DraftRequest.parse(arguments) else { return nil }
        let generates = try models.contains {
            try ModelFolder.architecture(of: $0.directory).capability == .causalGeneration
        }
        guard generates || request.fitsTranslation else {
            throw CLIError.usage(
                "--draft \(request.label): a model folder drafts for generation models, and every served model "
                    + "translates (translation models take int8, f16, ngram, ngram+int8 or ngram+f16)")
        }
        return request
    }

    /// The `--draft` for a served causal model, loaded and checked against it (vocabulary,
    /// verify passes) before the first request.
    static func servedDraft(_ request: DraftRequest, spec: ModelSpec, pipeline: any CausalLanguagePipeline)
        throws -> GenerationDraft
    {
        let option = try request.load(target: spec.directory)
        do {
            _ = try option.decoder(target: pipeline.languageModel, tokenizer: pipeline.textTokenizer)
        } catch let error as CLIError {
            throw CLIError.usage("--draft \(option.label) for model '\(spec.name)': \(error)")
        }
        return GenerationDraft(label: option.label, draftTokens: option.draftTokens, makeDraft: option.makeDraft)
    }

    private static func milliseconds(since start: Date) -> Int { Int(Date().timeIntervalSince(start) * 1000) }

    private static func splitPair(_ value: String) -> (String, String)? {
        guard let equals = value.firstIndex(of: "=") else { return nil }
        return (String(value[..<equals]), String(value[value.index(after: equals)...]))
    }

    /// One line on stdout at once (a supervisor or a test reads it live).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data("octavo-infer serve: \(line)\n".utf8))
    }
}
