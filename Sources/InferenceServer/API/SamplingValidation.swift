import Foundation
import HTTPServer

/// Range checks shared by the OpenAI-compatible and native request types. Each failure is
/// a 400 naming the field; values are checked as Doubles before becoming Floats, so 1e300
/// cannot turn into infinity unnoticed.
enum SamplingValidation {
    static func number(
        _ value: Double?, _ field: String, in range: ClosedRange<Double>,
        excludingLower: Bool = false
    ) throws -> Float? {
        guard let value else { return nil }
        guard value.isFinite, range.contains(value), !(excludingLower && value == range.lowerBound) else {
            let lower = excludingLower ? "(\(format(range.lowerBound))" : "[\(format(range.lowerBound))"
            throw APIErrors.invalid(
                field,
                "must be a number in \(lower), \(format(range.upperBound))], got "
                    + "\(format(value)).")
        }
        return Float(value)
    }

    static func integer(_ value: Int?, _ field: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value else { return nil }
        guard range.contains(value) else {
            throw APIErrors.invalid(
                field,
                "must be an integer in [\(range.lowerBound), \(range.upperBound)], got "
                    + "\(value).")
        }
        return value
    }

    /// Stop strings: at most `maxCount`, each non-empty and at most `maxBytes` of UTF-8.
    static func stops(_ stop: StopInput?, maxCount: Int, maxBytes: Int) throws -> [String] {
        guard let strings = stop?.strings else { return [] }
        guard strings.count <= maxCount else {
            throw APIErrors.invalid("stop", "at most \(maxCount) stop strings are allowed, got \(strings.count).")
        }
        for (index, text) in strings.enumerated() {
            if text.isEmpty { throw APIErrors.invalid("stop[\(index)]", "stop strings must not be empty.") }
            if text.utf8.count > maxBytes {
                throw APIErrors.invalid("stop[\(index)]", "stop strings are limited to \(maxBytes) bytes of UTF-8.")
            }
        }
        return strings
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
