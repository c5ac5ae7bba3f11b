import HTTPServer

/// `GET /`: the playground page, open without the API key (it holds no data; the page sends the
/// key the user types with every API call).
struct PlaygroundHandlers {
    func register(on router: Router) {
        router.get("/") { _, _ in
            let headers: HTTPHeaders = [
                "Content-Type": "text/html; charset=utf-8",
                "Cache-Control": "no-cache",
                // Everything is inline and every call goes back to this server.
                "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
            ]
            return HTTPResponse(headers: headers, body: .bytes(Array(PlaygroundPage.html.utf8)))
        }
    }
}
