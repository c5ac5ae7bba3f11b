import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// A real nginx (Debian's `nginx`) in front of some servers, on a free loopback port, with its
/// configuration, logs and temp files in a temporary prefix. Runs in the foreground with no
/// master process, so the test owns exactly one process.
final class NginxProcess {
    let port: Int
    let prefix: URL
    private let process = Process()

    /// The configuration the README documents for N servers behind nginx, pointed at `upstreams`.
    static func configuration(port: Int, upstreams: [Int], prefix: String) -> String {
        """
        daemon off;
        master_process off;
        worker_processes 1;
        pid \(prefix)/nginx.pid;
        error_log \(prefix)/error.log warn;
        events { worker_connections 1024; }
        http {
            access_log off;
            client_body_temp_path \(prefix)/body;
            proxy_temp_path \(prefix)/proxy;
            fastcgi_temp_path \(prefix)/fastcgi;
            uwsgi_temp_path \(prefix)/uwsgi;
            scgi_temp_path \(prefix)/scgi;
            upstream octavo {
        \(upstreams.map { "        server 127.0.0.1:\($0) max_fails=1 fail_timeout=5s;" }.joined(separator: "\n"))
                keepalive 32;
            }
            server {
                listen 127.0.0.1:\(port);
                client_max_body_size 1m;
                location / {
                    proxy_pass http://octavo;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Host $host;
                    # A server that is down is skipped; a request it already received is not
                    # replayed elsewhere (POST /v1/jobs retries carry an Idempotency-Key instead).
                    proxy_next_upstream error timeout;
                    proxy_connect_timeout 2s;
                    # Server-sent events (/v1/jobs/{id}/events, stream=true) flow as they come.
                    proxy_buffering off;
                    proxy_read_timeout 3600s;
                }
            }
        }
        """
    }

    init(upstreams: [Int]) throws {
        let binary = try findSystemBinary("nginx", package: "nginx")
        port = try freeLoopbackPort()
        prefix = FileManager.default.temporaryDirectory.appendingPathComponent("octavo-nginx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: prefix, withIntermediateDirectories: true)
        let config = prefix.appendingPathComponent("nginx.conf")
        try Self.configuration(port: port, upstreams: upstreams, prefix: prefix.path).write(
            to: config, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "-p", prefix.path, "-c", config.path, "-e", prefix.appendingPathComponent("error.log").path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date(timeIntervalSinceNow: 10)
        while Date() < deadline {
            if (try? TestClient(port: port, timeout: 1)) != nil { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTFail("nginx did not start: \(errorLog)")
        throw CocoaError(.executableLoad)
    }

    var pid: Int32 { process.processIdentifier }

    var errorLog: String {
        (try? String(contentsOf: prefix.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: prefix)
    }
}
