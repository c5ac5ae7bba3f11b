import Foundation
import XCTest

@testable import InferenceServer
@testable import ServiceTestSupport

/// The plain default template, the Jinja subset a folder's template may use, and refusals.
final class ChatTemplateTests: XCTestCase {
    let conversation = [
        ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi"),
        ChatMessage(role: "assistant", content: "Hello."), ChatMessage(role: "user", content: "Story?"),
    ]

    func testPlainTemplate() throws {
        XCTAssertEqual(
            try ChatTemplate.plain.render(conversation),
            "System: Be brief.\nUser: Hi\nAssistant: Hello.\nUser: Story?\nAssistant:")
        XCTAssertEqual(try ChatTemplate.plain.render([conversation[1]], addGenerationPrompt: false), "User: Hi\n")
        XCTAssertEqual(ChatTemplate.plain.stopStrings, ["\nUser:", "\nSystem:"])
    }

    /// ChatML as transformers renders it: the expected strings are jinja2's output with
    /// transformers' settings (trim_blocks, lstrip_blocks).
    func testChatMLTemplate() throws {
        let source = """
            {% for message in messages %}
                {{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}
            {% endfor %}
            {% if add_generation_prompt %}
                {{ '<|im_start|>assistant\\n' }}
            {% endif %}
            """
        let template = try ChatTemplate(jinja: source, source: "test")
        XCTAssertEqual(
            try template.render(Array(conversation.prefix(2))),
            "    <|im_start|>system\nBe brief.<|im_end|>\n\n    <|im_start|>user\nHi<|im_end|>\n\n    "
                + "<|im_start|>assistant\n\n")
        XCTAssertEqual(
            try template.render([conversation[1]], addGenerationPrompt: false),
            "    "
                + "<|im_start|>user\nHi<|im_end|>\n\n")
    }

    func testConditionsLoopVariablesTokensAndWhitespaceControl() throws {
        let source = """
            {{- bos_token -}}
            {%- for m in messages -%}
              {%- if m.role == 'system' -%}[SYS] {{ m.content | trim }}
              {%- elif m['role'] == "user" and not loop.last -%}[U] {{ m.content }}
              {%- elif m.role != 'assistant' -%}[LAST] {{ m.content ~ '!' }}
              {%- else -%}[A] {{ m.content + eos_token }}
              {%- endif %}
            {% endfor -%}
            {# a comment #}
            {%- if add_generation_prompt %}[A]{% endif %}
            """
        let template = try ChatTemplate(jinja: source, source: "test", bosToken: "<s>", eosToken: "</s>")
        XCTAssertEqual(
            try template.render([ChatMessage(role: "system", content: "  Be brief. ")] + conversation.dropFirst()),
            "<s>[SYS] Be brief.[U] Hi[A] Hello.</s>[LAST] Story?![A]")
        let indexed = try ChatTemplate(
            jinja: "{% if messages[0]['role'] == 'system' %}S{% endif %}{{ "
                + "messages[-1].content }}",
            source: "test")
        XCTAssertEqual(try indexed.render(conversation), "SStory?")
    }

    func testUnsupportedConstructsAreRefusedByName() {
        let cases: [(String, String)] = [
            ("{% set x = 1 %}", "'{% set %}'"),
            ("{{ raise_exception('no') }}", "raise_exception"),
            ("{% for m in messages %}{{ m.content | upper }}{% endfor %}", "'upper'"),
            ("{% if tools %}x{% endif %}", "'tools'"),
            ("{% if x is defined %}{% endif %}", "'x'"),
            ("{% if add_generation_prompt is defined %}{% endif %}", "'is'"),
            ("{{ messages[1:] }}", "':'"),
            ("{% macro f() %}{% endmacro %}", "'{% macro %}'"),
            ("{{ 1 * 2 }}", "'*'"),
        ]
        for (source, construct) in cases {
            XCTAssertThrowsError(try ChatTemplate(jinja: source, source: "t.jinja")) { error in
                guard case .unsupported(let named, "t.jinja")? = error as? ChatTemplateError else {
                    return XCTFail("\(source): \(error)")
                }
                XCTAssertTrue(named.contains(construct), "\(source): \(named)")
                XCTAssertTrue("\(error)".contains("--chat-template"))
            }
        }
        for source in ["{% for m in messages %}", "{% if true %}x", "{{ 'x' ", "{% endif %}", "{{ 'unclosed }}"] {
            XCTAssertThrowsError(try ChatTemplate(jinja: source, source: "t")) { error in
                guard case .syntax? = error as? ChatTemplateError else { return XCTFail("\(source): \(error)") }
            }
        }
    }

    func testFolderTemplateLoadsFromTokenizerConfig() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "chat-template-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertEqual(try ChatTemplate.load(directory: directory).source, "plain")
        let config = directory.appendingPathComponent("tokenizer_config.json")
        try
            #"{"eos_token":{"content":"<|endoftext|>"},"chat_template":"{% for m in messages %}{{ m.content + eos_token }}{% endfor %}"}"#
            .write(to: config, atomically: true, encoding: .utf8)
        let template = try ChatTemplate.load(directory: directory)
        XCTAssertEqual(try template.render([ChatMessage(role: "user", content: "a")]), "a<|endoftext|>")
        try #"{"chat_template":"{{ messages | tojson }}"}"#.write(to: config, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ChatTemplate.load(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("tojson"), "\(error)")
        }
        let file = directory.appendingPathComponent("chat.jinja")
        try "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}".write(
            to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(
            try ChatTemplate.load(file: file, directory: nil).render([ChatMessage(role: "user", content: "a")]),
            "<user>a")
        XCTAssertThrowsError(try ChatTemplate.load(file: directory.appendingPathComponent("missing"), directory: nil))
    }
}
