import HTTPServer

/// The job database schema, versioned with `PRAGMA user_version`.
///
/// To change the schema, append a migration: never edit a shipped one, because databases in the
/// field have already run it. Each migration runs in the same transaction as the
/// `user_version` bump, so a crash mid-migration leaves the previous version intact.
enum JobSchema {
    /// Written to `PRAGMA application_id` ("OCTJ") so a job database is recognisable as ours.
    static let applicationID: Int32 = 0x4F43_544A

    static let migrations: [(version: Int, sql: String)] = [
        (
            1,
            """
            CREATE TABLE jobs (
                -- The rowid doubles as the FIFO order. A re-queued job keeps its place, so work
                -- interrupted by a restart runs before anything submitted later.
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                type TEXT NOT NULL,
                params BLOB NOT NULL,
                -- NULL for jobs submitted without a key (UNIQUE allows any number of NULLs).
                idempotency_key TEXT UNIQUE,
                status TEXT NOT NULL
                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
                attempts INTEGER NOT NULL DEFAULT 0,
                cancel_requested INTEGER NOT NULL DEFAULT 0,
                result BLOB,
                error TEXT,
                -- Milliseconds since 1970.
                created_at INTEGER NOT NULL,
                started_at INTEGER,
                finished_at INTEGER
            );
            -- Workers claim the oldest queued job of their type. The partial index only holds the
            -- queue itself, so it stays tiny however many finished jobs are kept.
            CREATE INDEX jobs_queue ON jobs (type, seq) WHERE status = 'queued';
            CREATE INDEX jobs_status ON jobs (status, seq);
            -- The TTL sweep deletes the oldest finished jobs.
            CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
            """
        )
    ]

    static var latestVersion: Int { migrations.last?.version ?? 0 }
}
