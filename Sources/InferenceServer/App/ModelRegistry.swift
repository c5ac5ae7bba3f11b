import Foundation
import HTTPServer

/// The models a server holds, by name, in the order they were added; and whether loading is over.
///
/// Sendable by hand: every mutable field is read and written under `lock`.
public final class ModelRegistry: @unchecked Sendable {
    public enum Entry: Sendable {
        case generation(GenerationService)
        case translation(TranslationService)

        public var name: String {
            switch self {
            case .generation(let service): return service.name
            case .translation(let service): return service.name
            }
        }
    }

    private let lock = NSLock()
    private var entries: [Entry] = []
    private var ready = false

    public init() {}

    func add(_ entry: Entry) throws {
        lock.lock()
        defer { lock.unlock() }
        guard !entries.contains(where: { $0.name == entry.name }) else {
            throw ServerAppError.duplicateModel(entry.name)
        }
        entries.append(entry)
    }

    public var all: [Entry] {
        lock.lock()
        defer { lock.unlock() }
        return entries
    }

    public var isReady: Bool {
        lock.lock()
        defer { lock.unlock() }
        return ready
    }

    func markReady() {
        lock.lock()
        ready = true
        lock.unlock()
    }

    public func entry(named name: String) -> Entry? { all.first { $0.name == name } }

    public var generationServices: [GenerationService] {
        all.compactMap { if case .generation(let service) = $0 { return service } else { return nil } }
    }

    public var translationServices: [TranslationService] {
        all.compactMap { if case .translation(let service) = $0 { return service } else { return nil } }
    }
}
