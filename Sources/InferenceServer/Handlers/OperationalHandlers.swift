import Foundation

/// `GET /health` and `GET /metrics`.
struct OperationalHandlers {
    let environment: ServingEnvironment

    struct Health: Encodable {
        /// loading, ok or stopping.
        let status: String
        let models: [Model]
        /// The job store (with --jobs-db): "ok" or "failing" with the error and what to do.
        let jobs: Jobs?

        struct Jobs: Encodable {
            let status: String
            let error: String?
            /// What the store repaired on its own while serving (a deleted file restored).
            let repairs: [String]?
        }

        struct Model: Encodable {
            let name: String
            /// generation or translation.
            let kind: String
            let queue_depth: Int
        }
    }

    func register(on router: Router) {
        router.get("/health") { _, _ in try getHealth() }
        router.get("/metrics") { _, _ in
            .text(environment.metrics.prometheusText(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }

    /// 503 while loading or stopping (load balancers take the instance out), 200 when ready.
    func getHealth() throws -> HTTPResponse {
        let models = environment.registry.all.map { entry -> Health.Model in
            switch entry {
            case .generation(let service):
                return Health.Model(name: service.name, kind: "generation", queue_depth: service.executor.queueDepth)
            case .translation(let service):
                return Health.Model(name: service.name, kind: "translation", queue_depth: service.executor.queueDepth)
            }
        }
        let status = environment.isStopping ? "stopping" : (environment.registry.isReady ? "ok" : "loading")
        // A failing job store leaves the synchronous routes working: reported, still 200.
        let jobs = environment.jobStore.map { store -> Health.Jobs in
            let health = store.health()
            return Health.Jobs(status: health.failure == nil ? "ok" : "failing", error: health.failure.map { "\($0)" },
                               repairs: health.repairs.isEmpty ? nil : health.repairs)
        }
        var response = HTTPResponse.json(bytes: try APIJSON.encode(Health(status: status, models: models, jobs: jobs)),
                                         status: status == "ok" ? .ok : .serviceUnavailable)
        if status != "ok" { response.headers.set("Retry-After", "2") }
        return response
    }
}
