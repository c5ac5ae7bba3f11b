import Foundation
import HTTPServer

/// One paragraph of a story, as written and (when a language was asked for) as translated.
public struct StoryParagraph: Sendable, Equatable {
    /// 0 for the first paragraph.
    public let index: Int
    /// The paragraph as the model wrote it (the old services' words, single spaces).
    public let text: String
    /// The paragraph in the target language; nil when no translation was asked for.
    public let translation: String?
    /// Time spent translating it, in milliseconds (0 without translation).
    public let translationMilliseconds: Double
}

/// Turns a story being generated into paragraphs, translating each one while the model writes
/// the next: paragraph N's translation runs on the translator (its own executor thread) as soon
/// as N is final, and paragraphs come out in order.
///
/// The caller owns the generation loop and feeds the decoded text as it grows; the writer never
/// blocks it. Used by `POST /v1/stories`, the `story` job type and `octavo-infer story`.
///
///     let writer = StoryWriter(translate: { try translator.translate($0) })
///     for text in decodedSoFar { writer.textDidGrow(text); for p in writer.takeReady() { send(p) } }
///     writer.finish(finishedText)
///     for p in try writer.waitForRest() { send(p) }
///
/// Sendable by hand: its state is touched only on its serial `queue` or under `condition`.
public final class StoryWriter: @unchecked Sendable {
    public typealias Translate = @Sendable (String) throws -> String

    private let translate: Translate?
    private let queue = DispatchQueue(label: "octavo.story-translation")
    private let condition = NSCondition()
    private var cutter = StoryParagraphCutter()
    private var submitted = 0
    private var done: [Int: Result<StoryParagraph, Error>] = [:]
    private var delivered = 0
    private var finished = false

    /// - Parameter translate: translates one paragraph into the target language; nil keeps the
    ///   story as written.
    public init(translate: Translate?) {
        self.translate = translate
    }

    /// True once the text holds a second `Story:`: the rest of the output is not part of the
    /// story, so the caller may stop generating.
    public var storyEnded: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cutter.storyEnded
    }

    /// The decoded output so far (prompt included): paragraphs that became final are queued
    /// for translation.
    public func textDidGrow(_ text: String) {
        condition.lock()
        let paragraphs = cutter.paragraphs(final: false, in: text)
        condition.unlock()
        submit(paragraphs)
    }

    /// The finished output: the remaining paragraphs are queued.
    public func finish(_ text: String) {
        condition.lock()
        let paragraphs = cutter.paragraphs(final: true, in: text)
        finished = true
        condition.unlock()
        submit(paragraphs)
    }

    /// Paragraphs translated and not yet taken, in order; never blocks.
    public func takeReady() throws -> [StoryParagraph] {
        condition.lock()
        defer { condition.unlock() }
        return try takeLocked()
    }

    /// Waits for every paragraph after `finish` and returns those not yet taken.
    public func waitForRest() throws -> [StoryParagraph] {
        condition.lock()
        defer { condition.unlock() }
        precondition(finished, "waitForRest() before finish()")
        while delivered + done.count < submitted { condition.wait() }
        return try takeLocked()
    }

    private func takeLocked() throws -> [StoryParagraph] {
        var ready: [StoryParagraph] = []
        while let result = done.removeValue(forKey: delivered) {
            delivered += 1
            ready.append(try result.get())
        }
        return ready
    }

    private func submit(_ paragraphs: [String]) {
        guard !paragraphs.isEmpty else { return }
        condition.lock()
        let first = submitted
        submitted += paragraphs.count
        condition.unlock()
        for (offset, text) in paragraphs.enumerated() {
            let index = first + offset
            queue.async { [translate] in
                let result: Result<StoryParagraph, Error>
                if let translate {
                    let start = DispatchTime.now().uptimeNanoseconds
                    result = Result { try translate(text) }.map { translation in
                        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                        return StoryParagraph(
                            index: index, text: text, translation: translation, translationMilliseconds: elapsed)
                    }
                } else {
                    result = .success(
                        StoryParagraph(index: index, text: text, translation: nil, translationMilliseconds: 0))
                }
                self.condition.lock()
                self.done[index] = result
                self.condition.broadcast()
                self.condition.unlock()
            }
        }
    }
}
