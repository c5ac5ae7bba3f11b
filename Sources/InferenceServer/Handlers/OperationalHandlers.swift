import Foundation
import HTTPServer
import JobStore

/// `GET /health` and `GET /metrics`.
struct OperationalHandlers {
    let environment: ServingEnvironment

    struct Health: Encodable {
        /// loading, ok, degraded (the job store is unreachable: synchronous routes work, jobs
        /// cannot be submitted) or stopping.
        let status: String
        let models: [Model]
        /// The durable job store, when jobs are on.
        let jobs: JobStorageHealth?

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
        let jobs = environment.jobStore?.health()
        var status = environment.isStopping ? "stopping" : (environment.registry.isReady ? "ok" : "loading")
        if status == "ok", let jobs, !jobs.isOK { status = "degraded" }
        // Degraded stays 200: the synchronous routes still work, so a load balancer keeps the server.
        let healthy = status == "ok" || status == "degraded"
        var response = HTTPResponse.json(
            bytes: try APIJSON.encode(Health(status: status, models: models, jobs: jobs)),
            status: healthy ? .ok : .serviceUnavailable)
        if !healthy { response.headers.set("Retry-After", "2") }
        return response
    }
}
