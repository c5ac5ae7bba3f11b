#!/usr/bin/env python3
"""A hub-shaped HTTP server for development checks (stdlib only; CI never runs it).

Serves folders as repositories with the routes and headers of huggingface.co, as
/work/shared/HUB.md describes them and as Tests/CLITests/FakeHub.swift serves them:

    GET  /api/models/{owner}/{name}/revision/{rev}   {"id", "sha": commit, "siblings": [{"rfilename"}]}
    HEAD|GET /{owner}/{name}/resolve/{rev}/{file}     small files: 200 + ETag (git blob sha1) + X-Repo-Commit;
                                                      LFS files: 302 to an absolute /cdn/ URL with
                                                      X-Linked-Etag (sha256), X-Linked-Size, X-Repo-Commit
    GET  /cdn/{owner}/{name}/{file}                   the bytes; Range: bytes=N- gives 206

Usage: fake_hub.py PORT owner/name=FOLDER [owner/name=FOLDER ...]
"""
import hashlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_SUFFIXES = (".safetensors", ".bin", ".model")
REPOS = {}


def commit_of(repo):
    return hashlib.sha256(f"commit of {repo}".encode()).hexdigest()[:40]


class Hub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, headers=None, body=b"", send_body=True):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and self.command != "HEAD":
            self.wfile.write(body)

    def not_found(self, code):
        self.reply(404, {"X-Error-Code": code}, code.encode())

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?")[0]
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) == 6 and parts[4] == "revision":
            repo = f"{parts[2]}/{parts[3]}"
            if repo not in REPOS:
                return self.not_found("RepoNotFound")
            if parts[5] not in ("main", commit_of(repo)):
                return self.not_found("RevisionNotFound")
            names = sorted(os.listdir(REPOS[repo]))
            body = json.dumps({"id": repo, "sha": commit_of(repo), "siblings": [{"rfilename": n} for n in names]}).encode()
            return self.reply(200, {"Content-Type": "application/json"}, body)
        if len(parts) == 5 and parts[2] == "resolve":
            repo, revision, name = f"{parts[0]}/{parts[1]}", parts[3], parts[4]
            if repo not in REPOS:
                return self.not_found("RepoNotFound")
            if revision not in ("main", commit_of(repo)):
                return self.not_found("RevisionNotFound")
            file = os.path.join(REPOS[repo], name)
            if not os.path.isfile(file):
                return self.not_found("EntryNotFound")
            data = open(file, "rb").read()
            headers = {"X-Repo-Commit": commit_of(repo)}
            if name.endswith(LFS_SUFFIXES):
                host = self.headers.get("Host")
                headers.update({"Location": f"http://{host}/cdn/{repo}/{name}",
                                "X-Linked-Etag": f'"{hashlib.sha256(data).hexdigest()}"',
                                "X-Linked-Size": str(len(data))})
                return self.reply(302, headers)
            git_sha1 = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            headers.update({"ETag": f'"{git_sha1}"', "Content-Type": "application/octet-stream"})
            return self.reply(200, headers, data)
        if len(parts) == 4 and parts[0] == "cdn":
            repo, name = f"{parts[1]}/{parts[2]}", parts[3]
            file = os.path.join(REPOS.get(repo, "/nonexistent"), name)
            if not os.path.isfile(file):
                return self.reply(404, {}, b"not found")
            data = open(file, "rb").read()
            wanted = self.headers.get("Range", "")
            if wanted.startswith("bytes=") and wanted.endswith("-") and int(wanted[6:-1]) < len(data):
                start = int(wanted[6:-1])
                return self.reply(206, {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}, data[start:])
            return self.reply(200, {"Content-Type": "application/octet-stream"}, data)
        self.reply(404, {}, b"no route")


if __name__ == "__main__":
    port = int(sys.argv[1])
    for spec in sys.argv[2:]:
        repo, folder = spec.split("=", 1)
        REPOS[repo] = folder
    ThreadingHTTPServer(("127.0.0.1", port), Hub).serve_forever()
