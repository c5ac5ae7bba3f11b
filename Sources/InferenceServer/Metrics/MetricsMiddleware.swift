import HTTPServer

/// Counts every answered request by matched route pattern, method and status.
struct MetricsMiddleware: HTTPMiddleware {
    let metrics: ServerMetrics

    func respond(to request: HTTPRequest, context: RequestContext, next: HTTPNext) throws -> HTTPResponse {
        // Inside a Router inner errors come back as responses, so the status is always known here.
        let response = try next(request, context)
        metrics.recordRequest(
            route: request.route ?? "unmatched", method: request.method.rawValue, status: response.status.code)
        return response
    }
}
