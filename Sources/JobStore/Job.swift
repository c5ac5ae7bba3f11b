import Foundation
import HTTPServer

/// A job's public identifier: `job_` followed by 26 lowercase Crockford base32 characters that
/// encode 128 random bits.
///
/// Ids are unguessable on purpose: `GET /v1/jobs/{id}` has no other access control, so knowing
/// an id is what entitles a client to the job's result.
public struct JobID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    static let prefix = "job_"
    /// Crockford's alphabet: no i, l, o, u, so ids survive being read aloud or retyped.
    static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)
    static let encodedLength = 26  // ceil(128 / 5)

    /// Accepts only well-formed ids, so the HTTP layer can reject junk before touching the database.
    public init?(rawValue: String) {
        guard rawValue.hasPrefix(Self.prefix) else { return nil }
        let body = rawValue.utf8.dropFirst(Self.prefix.utf8.count)
        guard body.count == Self.encodedLength, body.allSatisfy({ Self.alphabet.contains($0) }) else { return nil }
        self.rawValue = rawValue
    }

    /// For values read back from our own database, which were validated when they were made.
    init(trusted rawValue: String) { self.rawValue = rawValue }

    /// A fresh id from the system's cryptographic random source.
    public static func random() -> JobID {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        var characters: [UInt8] = []
        characters.reserveCapacity(encodedLength)
        // 26 five-bit groups cover 130 bits: the top two of the first group are always zero.
        for index in (0..<encodedLength).reversed() {
            let shift = index * 5
            var group: UInt64
            if shift >= 64 {
                group = high >> UInt64(shift - 64)
            } else {
                group = low >> UInt64(shift)
                if shift > 59 { group |= high << UInt64(64 - shift) }
            }
            characters.append(alphabet[Int(group & 0x1F)])
        }
        return JobID(trusted: prefix + String(decoding: characters, as: UTF8.self))
    }

    public var description: String { rawValue }
}

/// Where a job is in its life. `succeeded`, `failed` and `cancelled` are final.
public enum JobStatus: String, Sendable, Codable, CaseIterable {
    case queued
    case running
    case succeeded
    case failed
    case cancelled

    public var isFinished: Bool {
        switch self {
        case .queued, .running: return false
        case .succeeded, .failed, .cancelled: return true
        }
    }
}

/// A snapshot of one job as stored (plus, while it runs, the text generated so far).
public struct Job: Sendable, Equatable {
    public let id: JobID
    /// The kind of work ("generate", "translate", "story"...). Opaque to the store; the runner
    /// uses it to pick a worker pool.
    public let type: String
    /// The request's parameters, opaque bytes (JSON in practice) handed to the executor as given.
    public let params: Data
    public let idempotencyKey: String?
    public var status: JobStatus
    /// How many times a worker has started this job without giving it back cleanly. A job that
    /// keeps taking the process down with it fails after `JobStore.Configuration.maxAttempts`.
    public var attempts: Int
    /// Set by `cancel` on a running job; the worker sees it and stops.
    public var cancelRequested: Bool
    /// The executor's output (opaque JSON) once `status == .succeeded`.
    public var result: Data?
    /// Why the job failed, once `status == .failed`.
    public var errorMessage: String?
    /// The text generated so far while `status == .running` in this process, else nil.
    ///
    /// Kept in memory only: a job interrupted by a restart runs again from scratch, so persisting
    /// partial text would cost a write per few tokens and buy nothing.
    public var partialText: String?
    public let createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
}

/// What `JobStore.submit` did: created a new job, or found the one already submitted under
/// the same idempotency key.
public struct Submission: Sendable, Equatable {
    public let job: Job
    /// False when an earlier submit with the same idempotency key created `job`.
    public let created: Bool
}
