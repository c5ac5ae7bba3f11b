import Foundation
import HTTPServer

/// The events side of `RedisJobStore`: following a job's events stream for a subscriber.
extension RedisJobStore {
    /// Follows a job's events stream into `buffer` until the final event, a cancel or close.
    func follow(_ id: JobID, from start: String, into buffer: EventBuffer) {
        defer {
            lock.lock()
            followers[ObjectIdentifier(buffer)] = nil
            lock.unlock()
        }
        var last = start
        let block = 1000
        while !buffer.isEnded && !closedFlag {
            do {
                let reply = try client.send(
                    ["XREAD", "COUNT", "256", "BLOCK", String(block), "STREAMS", eventsKey(id), last]
                        .map { Data($0.utf8) }, extraTimeout: Double(block) / 1000)
                guard let entries = reply.array?.first?.array?.last else {
                    // Nothing new: end if the job is gone (expired) so the thread does not linger.
                    if try client.send("EXISTS", jobKey(id)).integer == 0 { buffer.end() }
                    continue
                }
                for (entryID, event) in Self.decodeEvents(entries) {
                    last = entryID
                    buffer.push(event)
                }
            } catch {
                Thread.sleep(forTimeInterval: 0.5)  // Redis away: keep the client waiting, retry
            }
        }
    }

    /// The text of the job's current run, from its events since the last `started`.
    func runningText(of id: JobID) throws -> String {
        if let lease = activeLease(id) { return lease.text }
        let events = Self.decodeEvents(try client.send("XRANGE", eventsKey(id), "-", "+"))
        var text = ""
        for (_, event) in events {
            switch event {
            case .started, .queued: text = ""
            case .token(let delta): text += delta
            default: break
            }
        }
        return text
    }

    /// What a new subscriber sees first: the current run (its `started` and the text so far), or
    /// `queued`, or the final event.
    static func replay(job: Job, events: [JobEvent]) -> [JobEvent] {
        if job.status.isFinished {
            switch job.status {
            case .succeeded: return [.done(result: job.result ?? Data())]
            case .failed: return [.failed(message: job.errorMessage ?? "failed")]
            default: return [.cancelled]
            }
        }
        var replay: [JobEvent] = []
        var text = ""
        var paragraphs: [JobEvent] = []
        for event in events {
            switch event {
            case .queued, .started:
                replay = [event]
                text = ""
                paragraphs = []
            case .token(let delta): text += delta
            case .paragraph: paragraphs.append(event)
            default: replay = [event]
            }
        }
        if replay.isEmpty { replay = [job.status == .running ? .started(attempt: job.attempts) : .queued] }
        replay += paragraphs
        if !text.isEmpty { replay.append(.token(text)) }
        return replay
    }

    static func decodeEvents(_ reply: RedisValue) -> [(String, JobEvent)] {
        (reply.array ?? []).compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let entryID = parts[0].string,
                let fields = parts[1].fieldMap, let name = fields["e"].map({ String(decoding: $0, as: UTF8.self) })
            else { return nil }
            let data = fields["d"] ?? Data()
            let text = String(decoding: data, as: UTF8.self)
            switch name {
            case "queued": return (entryID, .queued)
            case "started": return (entryID, .started(attempt: Int(text) ?? 1))
            case "token": return (entryID, .token(text))
            case "paragraph": return (entryID, .paragraph(data))
            case "done": return (entryID, .done(result: data))
            case "failed": return (entryID, .failed(message: text))
            case "cancelled": return (entryID, .cancelled)
            default: return nil
            }
        }
    }
}
