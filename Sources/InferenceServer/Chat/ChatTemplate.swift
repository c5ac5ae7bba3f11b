import Foundation
import HTTPServer

/// One message of a chat conversation, as the template sees it.
public struct ChatMessage: Sendable, Equatable {
    /// system, user or assistant.
    public let role: String
    public let content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Turns a conversation into the prompt text a model was trained on.
///
/// GPT-2 has no chat format of its own, so `.plain` is the default:
///
///     System: You are terse.
///     User: Hello!
///     Assistant: Hi.
///     User: Tell me a story.
///     Assistant:
///
/// one `Role: content` line per message, then `Assistant:` for the reply; generation also
/// stops at a new `\nUser:` or `\nSystem:` line, so the model cannot write the user's turn.
///
/// A model folder's own template (`chat_template` in tokenizer_config.json) or a file given
/// with `serve --chat-template NAME=FILE` is used when it keeps to the Jinja subset that
/// `ChatTemplateParser` documents; anything else is refused at load, naming the construct.
public struct ChatTemplate: Sendable {
    /// Where the template came from, for the banner and errors ("plain", a file path).
    public let source: String
    private let nodes: [ChatTemplateNode]?
    /// Stop strings added to every chat request of this template.
    public let stopStrings: [String]
    let bosToken: String
    let eosToken: String

    /// The documented default template described above.
    public static let plain = ChatTemplate(
        source: "plain", nodes: nil, stopStrings: ["\nUser:", "\nSystem:"],
        bosToken: "", eosToken: "")

    private init(
        source: String, nodes: [ChatTemplateNode]?, stopStrings: [String], bosToken: String,
        eosToken: String
    ) {
        self.source = source
        self.nodes = nodes
        self.stopStrings = stopStrings
        self.bosToken = bosToken
        self.eosToken = eosToken
    }

    /// A Jinja template; throws `ChatTemplateError` for any construct outside the subset,
    /// and renders a sample conversation once so that a template that fails on every
    /// request fails here instead.
    public init(jinja text: String, source: String, bosToken: String = "", eosToken: String = "") throws {
        let nodes = try ChatTemplateParser.parse(text, source: source)
        self.init(source: source, nodes: nodes, stopStrings: [], bosToken: bosToken, eosToken: eosToken)
        _ = try render(
            [
                ChatMessage(role: "system", content: "s"), ChatMessage(role: "user", content: "u"),
                ChatMessage(role: "assistant", content: "a"),
            ], addGenerationPrompt: true)
    }

    /// The folder's `chat_template` from tokenizer_config.json, or `.plain` when it has none.
    public static func load(directory: URL) throws -> ChatTemplate {
        let url = directory.appendingPathComponent("tokenizer_config.json")
        guard let data = try? Data(contentsOf: url),
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return .plain }
        let text: String
        if let string = object["chat_template"] as? String {
            text = string
        } else if let named = object["chat_template"] as? [[String: Any]] {
            // transformers' list form: [{"name": "default", "template": "..."}, ...]
            guard let entry = named.first(where: { $0["name"] as? String == "default" }) ?? named.first,
                let template = entry["template"] as? String
            else { return .plain }
            text = template
        } else {
            return .plain
        }
        return try ChatTemplate(
            jinja: text, source: url.path, bosToken: Self.tokenText(object["bos_token"]),
            eosToken: Self.tokenText(object["eos_token"]))
    }

    /// A template file given on the command line (`--chat-template NAME=FILE`); the folder's
    /// tokenizer_config.json still gives `bos_token` and `eos_token`.
    public static func load(file: URL, directory: URL?) throws -> ChatTemplate {
        guard let data = try? Data(contentsOf: file), let text = String(data: data, encoding: .utf8) else {
            throw ChatTemplateError.unreadable(path: file.path)
        }
        var bos = ""
        var eos = ""
        if let directory, let config = try? Data(contentsOf: directory.appendingPathComponent("tokenizer_config.json")),
            let object = (try? JSONSerialization.jsonObject(with: config)) as? [String: Any]
        {
            bos = tokenText(object["bos_token"])
            eos = tokenText(object["eos_token"])
        }
        return try ChatTemplate(jinja: text, source: file.path, bosToken: bos, eosToken: eos)
    }

    /// `bos_token` is either a string or an AddedToken object with `content`.
    private static func tokenText(_ value: Any?) -> String {
        if let string = value as? String { return string }
        if let object = value as? [String: Any], let content = object["content"] as? String { return content }
        return ""
    }

    /// The prompt for `messages`, ending with the assistant's turn when `addGenerationPrompt`.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> String {
        guard let nodes else {
            var out = ""
            for message in messages {
                out += Self.plainRole(message.role) + ": " + message.content + "\n"
            }
            if addGenerationPrompt { out += "Assistant:" }
            return out
        }
        let list = ChatTemplateValue.list(
            messages.map {
                .dictionary(["role": .string($0.role), "content": .string($0.content)])
            })
        var scope: [String: ChatTemplateValue] = [
            "messages": list, "bos_token": .string(bosToken), "eos_token": .string(eosToken),
            "add_generation_prompt": .bool(addGenerationPrompt),
        ]
        var out = ""
        try ChatTemplateRenderer.render(nodes, scope: &scope, into: &out)
        return out
    }

    private static func plainRole(_ role: String) -> String {
        role.prefix(1).uppercased() + role.dropFirst()
    }
}

/// Why a chat template cannot be used.
public enum ChatTemplateError: Error, CustomStringConvertible, Equatable {
    case unsupported(construct: String, source: String)
    case syntax(String, source: String)
    case unreadable(path: String)
    /// Raised while rendering (a message that is not a string, say).
    case render(String)

    public var description: String {
        switch self {
        case .unsupported(let construct, let source):
            return "Chat template \(source) uses \(construct), which Octavo does not support (supported: "
                + "for loops over messages, if/elif/else, ==, !=, and, or, not, +, ~, string and integer literals, "
                + "message.role/content, messages[0], messages[-1], loop.first/last/index/index0/length, "
                + "bos_token, "
                + "eos_token, add_generation_prompt, the trim filter). Give a simpler template with "
                + "--chat-template NAME=FILE."
        case .syntax(let message, let source):
            return "Chat template \(source) is not valid: \(message)."
        case .unreadable(let path):
            return "Cannot read chat template file \(path): check the path of --chat-template NAME=FILE."
        case .render(let message):
            return "The chat template failed: \(message)."
        }
    }
}
