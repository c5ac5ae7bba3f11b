import Foundation
import GPT2
import Generation
import ModelFactory
import NLLB
import Tokenizer
import XCTest

/// The registry keyed by config.json's model_type: typed errors for what it cannot read, and
/// every registered architecture loading its tiny fixture as transformers runs it.
final class ArchitectureRegistryTests: XCTestCase {
    let registry = ArchitectureRegistry.standard

    func testRegistersGPT2AndM2M100WithTheirCapabilities() throws {
        XCTAssertEqual(registry.modelTypes, ["gpt2", "m2m_100"])
        XCTAssertEqual(try registry.architecture(for: "gpt2").capability, .causalGeneration)
        XCTAssertEqual(try registry.architecture(for: "m2m_100").capability, .translation)
    }

    func testUnknownModelTypeIsATypedErrorListingTheKnownOnes() throws {
        let folder = try FactoryFixtures.folder(withConfig: #"{"model_type": "llama", "hidden_size": 64}"#)
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertThrowsError(try registry.architecture(of: folder)) { error in
            XCTAssertEqual(
                error as? ModelFactoryError,
                .unsupportedModelType("llama", path: folder.path, supported: ["gpt2", "m2m_100"]))
            XCTAssertTrue(
                "\(error)".contains("model_type 'llama' is not supported (supported: gpt2, m2m_100)"), "\(error)")
        }
        XCTAssertThrowsError(try registry.load(directory: folder)) { error in
            XCTAssertEqual(
                (error as? ModelFactoryError).map { if case .unsupportedModelType = $0 { true } else { false } }, true)
        }
    }

    func testFoldersWithoutAModelTypeAreTypedErrors() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("factory-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let array = try FactoryFixtures.folder(withConfig: "[1, 2]")
        let untyped = try FactoryFixtures.folder(withConfig: #"{"n_layer": 2}"#)
        defer { for folder in [empty, array, untyped] { try? FileManager.default.removeItem(at: folder) } }
        func config(_ folder: URL) -> String { folder.appendingPathComponent("config.json").path }
        XCTAssertThrowsError(try registry.architecture(of: empty)) {
            XCTAssertEqual($0 as? ModelFactoryError, .configNotFound(path: config(empty)))
        }
        XCTAssertThrowsError(try registry.architecture(of: array)) {
            XCTAssertEqual($0 as? ModelFactoryError, .configNotAnObject(path: config(array)))
        }
        XCTAssertThrowsError(try registry.architecture(of: untyped)) {
            XCTAssertEqual($0 as? ModelFactoryError, .missingModelType(path: config(untyped)))
        }
    }

    func testAFolderOfTheOtherCapabilityNamesTheTypesThatFit() throws {
        let gpt2 = FactoryFixtures.folder("GPT2/tiny")
        XCTAssertThrowsError(try registry.architecture(of: gpt2, with: .translation)) { error in
            XCTAssertEqual(
                error as? ModelFactoryError,
                .wrongCapability(
                    path: gpt2.path, modelType: "gpt2", has: .causalGeneration,
                    needed: .translation, typesWithNeeded: ["m2m_100"]))
        }
        XCTAssertEqual(try registry.architecture(of: gpt2, with: .causalGeneration).modelType, "gpt2")
    }

    /// Each registered model_type loads its tiny fixture, and the loaded model gives transformers' ids.
    func testEveryRegisteredTypeLoadsItsTinyFixture() throws {
        for architecture in registry.architectures {
            let folder = try XCTUnwrap(
                FactoryFixtures.tinyFolderByModelType[architecture.modelType],
                "no tiny fixture for the registered model_type \(architecture.modelType)")
            XCTAssertEqual(try registry.architecture(of: folder).modelType, architecture.modelType)
            let loaded = try registry.load(directory: folder)
            XCTAssertEqual(loaded.capability, architecture.capability)
            switch loaded {
            case .causalGeneration(let pipeline):
                try assertGreedyIDsMatchTheReference(
                    pipeline,
                    reference: folder.deletingLastPathComponent()
                        .appendingPathComponent("tiny.reference.json"))
                XCTAssertEqual(pipeline.architecture, architecture.modelType)
            case .translation(let pipeline):
                try assertTranslationsMatchTheReference(
                    pipeline,
                    reference: folder.deletingLastPathComponent()
                        .appendingPathComponent("tiny.reference.json"))
            }
        }
    }

    private func assertGreedyIDsMatchTheReference(_ pipeline: any CausalLanguagePipeline, reference: URL) throws {
        struct Prompt: Decodable {
            let ids: [Int]
            let greedy: [Int]
        }
        struct File: Decodable {
            let greedy_max_new_tokens: Int
            let prompts: [Prompt]
        }
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: reference))
        var parameters = GenerationParameters()
        parameters.maxNewTokens = file.greedy_max_new_tokens
        let generator = TextGenerator(model: pipeline.languageModel, tokenizer: pipeline.textTokenizer)
        for prompt in file.prompts {
            XCTAssertEqual(
                try generator.generate(promptIDs: prompt.ids, parameters: parameters).generatedIDs, prompt.greedy)
        }
    }

    private func assertTranslationsMatchTheReference(_ pipeline: NLLBPipeline, reference: URL) throws {
        struct TextCase: Decodable {
            let text: String
            let target: String
            let num_beams: Int
            let output_ids: [Int]
        }
        struct File: Decodable { let text_cases: [TextCase] }
        let cases = try JSONDecoder().decode(File.self, from: Data(contentsOf: reference)).text_cases
        XCTAssertFalse(cases.isEmpty)
        for c in cases {
            var options = NLLBPipeline.Options(target: c.target)
            options.beams = c.num_beams
            let result = try pipeline.translate([c.text], options: options)
            XCTAssertEqual(result.translations[0].sentences.map(\.outputIDs), [c.output_ids], c.text)
        }
    }

    func testConfigReaderAndTokenizerComeFromTheArchitecture() throws {
        let gpt2 = FactoryFixtures.folder("GPT2/tiny")
        let nllb = FactoryFixtures.folder("NLLB/tiny")
        let gpt2Summary = try registry.architecture(of: gpt2).readConfig(directory: gpt2)
        XCTAssertEqual(gpt2Summary.fields["n_layer"], "2")
        XCTAssertEqual(gpt2Summary.contextLength, 64)
        XCTAssertEqual(gpt2Summary.kvCacheBytesPerSequence, 2 * 2 * 64 * 48 * 4)
        XCTAssertTrue(try registry.architecture(of: gpt2).loadTokenizer(directory: gpt2) is ByteLevelBPETokenizer)
        XCTAssertEqual(try registry.architecture(of: nllb).readConfig(directory: nllb).modelType, "m2m_100")
        XCTAssertTrue(try registry.architecture(of: nllb).loadTokenizer(directory: nllb) is NLLBTokenizer)
    }
}
