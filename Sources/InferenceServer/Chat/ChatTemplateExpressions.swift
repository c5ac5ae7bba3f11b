import Foundation
import HTTPServer

/// Parses one expression of the subset `ChatTemplateParser` documents. Precedence, lowest
/// first: `or`, `and`, `not`, `==`/`!=`, `+`/`~`, `|trim`, member access; `-` only makes
/// a negative integer.
struct ExpressionParser {
    private enum Token: Equatable {
        case identifier(String)
        case string(String)
        case integer(Int)
        case symbol(String)
    }

    private var tokens: [Token] = []
    private var position = 0
    private let bound: Set<String>
    private let source: String

    init(_ text: String, bound: Set<String>, source: String) throws {
        self.bound = bound
        self.source = source
        tokens = try Self.lex(text, source: source)
    }

    static func parse(_ text: String, bound: Set<String>, source: String) throws -> ChatTemplateExpression {
        var parser = try ExpressionParser(text, bound: bound, source: source)
        return try parser.parseAll()
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy(isWordCharacter)
    }

    private static func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

    mutating func parseAll() throws -> ChatTemplateExpression {
        guard !tokens.isEmpty else { throw ChatTemplateError.syntax("an empty expression", source: source) }
        let expression = try parseOr()
        if position < tokens.count { throw unsupported(tokens[position]) }
        return expression
    }

    // MARK: Lexing

    private static func lex(_ text: String, source: String) throws -> [Token] {
        var tokens: [Token] = []
        let characters = Array(text)
        var i = 0
        while i < characters.count {
            let c = characters[i]
            if c.isWhitespace {
                i += 1
            } else if c.isLetter || c == "_" {
                var j = i
                while j < characters.count, isWordCharacter(characters[j]) { j += 1 }
                tokens.append(.identifier(String(characters[i..<j])))
                i = j
            } else if c.isASCII, c.isNumber {
                var j = i
                while j < characters.count, characters[j].isASCII, characters[j].isNumber { j += 1 }
                guard let value = Int(String(characters[i..<j])) else {
                    throw ChatTemplateError.syntax(
                        "the number \(String(characters[i..<j])) is too large",
                        source: source)
                }
                tokens.append(.integer(value))
                i = j
            } else if c == "'" || c == "\"" {
                var j = i + 1
                var value = ""
                while j < characters.count, characters[j] != c {
                    if characters[j] == "\\", j + 1 < characters.count {
                        j += 1
                        switch characters[j] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        default: value.append(characters[j])
                        }
                    } else {
                        value.append(characters[j])
                    }
                    j += 1
                }
                guard j < characters.count else {
                    throw ChatTemplateError.syntax("a string is never closed", source: source)
                }
                tokens.append(.string(value))
                i = j + 1
            } else {
                let two = i + 1 < characters.count ? String(characters[i...i + 1]) : ""
                if ["==", "!="].contains(two) {
                    tokens.append(.symbol(two))
                    i += 2
                } else if "()[].|+~-".contains(c) {
                    tokens.append(.symbol(String(c)))
                    i += 1
                } else {
                    let symbol = ["<=", ">=", "**", "//"].contains(two) ? two : String(c)
                    throw ChatTemplateError.unsupported(construct: "the operator '\(symbol)'", source: source)
                }
            }
        }
        return tokens
    }

    // MARK: Grammar

    private func unsupported(_ token: Token) -> ChatTemplateError {
        switch token {
        case .identifier(let name): return .unsupported(construct: "'\(name)'", source: source)
        case .symbol(let s): return .unsupported(construct: "'\(s)' here", source: source)
        case .string(let s): return .unsupported(construct: "the string '\(s)' here", source: source)
        case .integer(let i): return .unsupported(construct: "the number \(i) here", source: source)
        }
    }

    private func syntax(_ message: String) -> ChatTemplateError { .syntax(message, source: source) }
    private func refused(_ construct: String) -> ChatTemplateError {
        .unsupported(construct: construct, source: source)
    }

    private var peek: Token? { position < tokens.count ? tokens[position] : nil }

    private mutating func take(_ token: Token) -> Bool {
        guard peek == token else { return false }
        position += 1
        return true
    }

    private mutating func expect(_ token: Token) throws {
        guard take(token) else {
            if let peek { throw unsupported(peek) }
            throw ChatTemplateError.syntax("an expression ends too early", source: source)
        }
    }

    private mutating func parseOr() throws -> ChatTemplateExpression {
        var left = try parseAnd()
        while take(.identifier("or")) { left = .or(left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws -> ChatTemplateExpression {
        var left = try parseNot()
        while take(.identifier("and")) { left = .and(left, try parseNot()) }
        return left
    }

    private mutating func parseNot() throws -> ChatTemplateExpression {
        if take(.identifier("not")) { return .not(try parseNot()) }
        return try parseComparison()
    }

    private mutating func parseComparison() throws -> ChatTemplateExpression {
        let left = try parseConcat()
        if take(.symbol("==")) { return .equal(left, try parseConcat(), negated: false) }
        if take(.symbol("!=")) { return .equal(left, try parseConcat(), negated: true) }
        return left
    }

    private mutating func parseConcat() throws -> ChatTemplateExpression {
        var left = try parseFiltered()
        while take(.symbol("+")) || take(.symbol("~")) { left = .concat(left, try parseFiltered()) }
        return left
    }

    private mutating func parseFiltered() throws -> ChatTemplateExpression {
        var value = try parsePostfix()
        while take(.symbol("|")) {
            guard case .identifier(let name)? = peek else { throw syntax("'|' without a filter name") }
            guard name == "trim" else { throw refused("the filter '\(name)'") }
            position += 1
            value = .trim(value)
        }
        return value
    }

    private mutating func parsePostfix() throws -> ChatTemplateExpression {
        var value = try parsePrimary()
        while true {
            if take(.symbol(".")) {
                guard case .identifier(let name)? = peek else { throw syntax("'.' without a name") }
                position += 1
                value = .member(value, .literal(.string(name)))
            } else if take(.symbol("[")) {
                let key = try parseOr()
                try expect(.symbol("]"))
                value = .member(value, key)
            } else if peek == .symbol("(") {
                throw ChatTemplateError.unsupported(construct: "function calls", source: source)
            } else {
                return value
            }
        }
    }

    private mutating func parsePrimary() throws -> ChatTemplateExpression {
        guard let token = peek else { throw ChatTemplateError.syntax("an expression ends too early", source: source) }
        position += 1
        switch token {
        case .string(let s): return .literal(.string(s))
        case .integer(let i): return .literal(.int(i))
        case .symbol("-"):
            // Only a negative integer (`messages[-1]`): there is no arithmetic.
            guard case .integer(let i)? = peek else { throw refused("the operator '-'") }
            position += 1
            return .literal(.int(-i))
        case .symbol("("):
            let inner = try parseOr()
            try expect(.symbol(")"))
            return inner
        case .identifier(let name):
            switch name {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            default:
                if peek == .symbol("(") {
                    throw ChatTemplateError.unsupported(construct: "the function call '\(name)(...)'", source: source)
                }
                guard bound.contains(name) else {
                    throw ChatTemplateError.unsupported(construct: "the variable '\(name)'", source: source)
                }
                return .variable(name)
            }
        default:
            throw unsupported(token)
        }
    }
}

/// Renders parsed nodes; pure string building, nothing from the template is executed.
enum ChatTemplateRenderer {
    typealias Scope = [String: ChatTemplateValue]

    static func render(_ nodes: [ChatTemplateNode], scope: inout Scope, into out: inout String) throws {
        for node in nodes {
            switch node {
            case .text(let text):
                out += text
            case .output(let expression):
                out += try evaluate(expression, scope).text
            case .loop(let variable, let over, let body):
                guard case .list(let items) = try evaluate(over, scope) else {
                    throw ChatTemplateError.render("a for loop runs over something that is not a list")
                }
                let saved = (scope[variable], scope["loop"])
                for (index, item) in items.enumerated() {
                    scope[variable] = item
                    scope["loop"] = .dictionary([
                        "index": .int(index + 1), "index0": .int(index), "first": .bool(index == 0),
                        "last": .bool(index == items.count - 1), "length": .int(items.count),
                    ])
                    try render(body, scope: &scope, into: &out)
                }
                scope[variable] = saved.0
                scope["loop"] = saved.1
            case .branches(let branches, let otherwise):
                var taken = false
                for branch in branches where try evaluate(branch.condition, scope).isTrue {
                    try render(branch.body, scope: &scope, into: &out)
                    taken = true
                    break
                }
                if !taken { try render(otherwise, scope: &scope, into: &out) }
            }
        }
    }

    static func evaluate(_ expression: ChatTemplateExpression, _ scope: Scope) throws -> ChatTemplateValue {
        switch expression {
        case .literal(let value): return value
        case .variable(let name): return scope[name] ?? .undefined
        case .member(let base, let key):
            let container = try evaluate(base, scope)
            let key = try evaluate(key, scope)
            switch (container, key) {
            case (.dictionary(let d), .string(let k)): return d[k] ?? .undefined
            case (.list(let l), .int(let i)):
                let index = i < 0 ? l.count + i : i
                return l.indices.contains(index) ? l[index] : .undefined
            default: return .undefined
            }
        case .not(let inner): return .bool(!(try evaluate(inner, scope).isTrue))
        case .and(let a, let b): return .bool(try evaluate(a, scope).isTrue && evaluate(b, scope).isTrue)
        case .or(let a, let b): return .bool(try evaluate(a, scope).isTrue || evaluate(b, scope).isTrue)
        case .equal(let a, let b, let negated): return .bool((try evaluate(a, scope) == evaluate(b, scope)) != negated)
        case .concat(let a, let b): return .string(try evaluate(a, scope).text + evaluate(b, scope).text)
        case .trim(let inner):
            return .string(try evaluate(inner, scope).text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}
