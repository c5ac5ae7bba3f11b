/// The 202 FLORES-200 language codes NLLB-200 translates between, in the exact
/// order of transformers' `FAIRSEQ_LANGUAGE_CODES` (which fixes their token ids:
/// the n-th code is `spm_size + 1 + n` in the published NLLB checkpoints), each
/// with an English name.
///
/// Codes are case-sensitive (`eng_Latn`). A wrong code is never silently mapped:
/// `validate(_:)` throws `NLLBTokenizerError.unknownLanguageCode` listing the closest
/// valid codes (case-insensitive match first, then ISO 639-1 / 639-3 prefixes,
/// English names, edit distance), so "en", "eng", "english" and "eng_latn" all
/// suggest `eng_Latn`.
public enum FloresLanguages {
    /// A FLORES-200 language: code (`ISO 639-3 _ ISO 15924 script`) and English name.
    public struct Language: Sendable, Equatable, Hashable {
        public let code: String
        public let name: String
        public init(code: String, name: String) {
            self.code = code
            self.name = name
        }
    }

    /// All 202 languages, in transformers' `FAIRSEQ_LANGUAGE_CODES` order.
    public static let all: [Language] = [
        Language(code: "ace_Arab", name: "Acehnese (Arabic script)"),
        Language(code: "ace_Latn", name: "Acehnese (Latin script)"),
        Language(code: "acm_Arab", name: "Mesopotamian Arabic"),
        Language(code: "acq_Arab", name: "Ta'izzi-Adeni Arabic"),
        Language(code: "aeb_Arab", name: "Tunisian Arabic"),
        Language(code: "afr_Latn", name: "Afrikaans"),
        Language(code: "ajp_Arab", name: "South Levantine Arabic"),
        Language(code: "aka_Latn", name: "Akan"),
        Language(code: "amh_Ethi", name: "Amharic"),
        Language(code: "apc_Arab", name: "North Levantine Arabic"),
        Language(code: "arb_Arab", name: "Modern Standard Arabic"),
        Language(code: "ars_Arab", name: "Najdi Arabic"),
        Language(code: "ary_Arab", name: "Moroccan Arabic"),
        Language(code: "arz_Arab", name: "Egyptian Arabic"),
        Language(code: "asm_Beng", name: "Assamese"),
        Language(code: "ast_Latn", name: "Asturian"),
        Language(code: "awa_Deva", name: "Awadhi"),
        Language(code: "ayr_Latn", name: "Central Aymara"),
        Language(code: "azb_Arab", name: "South Azerbaijani"),
        Language(code: "azj_Latn", name: "North Azerbaijani"),
        Language(code: "bak_Cyrl", name: "Bashkir"),
        Language(code: "bam_Latn", name: "Bambara"),
        Language(code: "ban_Latn", name: "Balinese"),
        Language(code: "bel_Cyrl", name: "Belarusian"),
        Language(code: "bem_Latn", name: "Bemba"),
        Language(code: "ben_Beng", name: "Bengali"),
        Language(code: "bho_Deva", name: "Bhojpuri"),
        Language(code: "bjn_Arab", name: "Banjar (Arabic script)"),
        Language(code: "bjn_Latn", name: "Banjar (Latin script)"),
        Language(code: "bod_Tibt", name: "Standard Tibetan"),
        Language(code: "bos_Latn", name: "Bosnian"),
        Language(code: "bug_Latn", name: "Buginese"),
        Language(code: "bul_Cyrl", name: "Bulgarian"),
        Language(code: "cat_Latn", name: "Catalan"),
        Language(code: "ceb_Latn", name: "Cebuano"),
        Language(code: "ces_Latn", name: "Czech"),
        Language(code: "cjk_Latn", name: "Chokwe"),
        Language(code: "ckb_Arab", name: "Central Kurdish"),
        Language(code: "crh_Latn", name: "Crimean Tatar"),
        Language(code: "cym_Latn", name: "Welsh"),
        Language(code: "dan_Latn", name: "Danish"),
        Language(code: "deu_Latn", name: "German"),
        Language(code: "dik_Latn", name: "Southwestern Dinka"),
        Language(code: "dyu_Latn", name: "Dyula"),
        Language(code: "dzo_Tibt", name: "Dzongkha"),
        Language(code: "ell_Grek", name: "Greek"),
        Language(code: "eng_Latn", name: "English"),
        Language(code: "epo_Latn", name: "Esperanto"),
        Language(code: "est_Latn", name: "Estonian"),
        Language(code: "eus_Latn", name: "Basque"),
        Language(code: "ewe_Latn", name: "Ewe"),
        Language(code: "fao_Latn", name: "Faroese"),
        Language(code: "pes_Arab", name: "Western Persian"),
        Language(code: "fij_Latn", name: "Fijian"),
        Language(code: "fin_Latn", name: "Finnish"),
        Language(code: "fon_Latn", name: "Fon"),
        Language(code: "fra_Latn", name: "French"),
        Language(code: "fur_Latn", name: "Friulian"),
        Language(code: "fuv_Latn", name: "Nigerian Fulfulde"),
        Language(code: "gla_Latn", name: "Scottish Gaelic"),
        Language(code: "gle_Latn", name: "Irish"),
        Language(code: "glg_Latn", name: "Galician"),
        Language(code: "grn_Latn", name: "Guarani"),
        Language(code: "guj_Gujr", name: "Gujarati"),
        Language(code: "hat_Latn", name: "Haitian Creole"),
        Language(code: "hau_Latn", name: "Hausa"),
        Language(code: "heb_Hebr", name: "Hebrew"),
        Language(code: "hin_Deva", name: "Hindi"),
        Language(code: "hne_Deva", name: "Chhattisgarhi"),
        Language(code: "hrv_Latn", name: "Croatian"),
        Language(code: "hun_Latn", name: "Hungarian"),
        Language(code: "hye_Armn", name: "Armenian"),
        Language(code: "ibo_Latn", name: "Igbo"),
        Language(code: "ilo_Latn", name: "Ilocano"),
        Language(code: "ind_Latn", name: "Indonesian"),
        Language(code: "isl_Latn", name: "Icelandic"),
        Language(code: "ita_Latn", name: "Italian"),
        Language(code: "jav_Latn", name: "Javanese"),
        Language(code: "jpn_Jpan", name: "Japanese"),
        Language(code: "kab_Latn", name: "Kabyle"),
        Language(code: "kac_Latn", name: "Jingpho"),
        Language(code: "kam_Latn", name: "Kamba"),
        Language(code: "kan_Knda", name: "Kannada"),
        Language(code: "kas_Arab", name: "Kashmiri (Arabic script)"),
        Language(code: "kas_Deva", name: "Kashmiri (Devanagari script)"),
        Language(code: "kat_Geor", name: "Georgian"),
        Language(code: "knc_Arab", name: "Central Kanuri (Arabic script)"),
        Language(code: "knc_Latn", name: "Central Kanuri (Latin script)"),
        Language(code: "kaz_Cyrl", name: "Kazakh"),
        Language(code: "kbp_Latn", name: "Kabiyè"),
        Language(code: "kea_Latn", name: "Kabuverdianu"),
        Language(code: "khm_Khmr", name: "Khmer"),
        Language(code: "kik_Latn", name: "Kikuyu"),
        Language(code: "kin_Latn", name: "Kinyarwanda"),
        Language(code: "kir_Cyrl", name: "Kyrgyz"),
        Language(code: "kmb_Latn", name: "Kimbundu"),
        Language(code: "kon_Latn", name: "Kikongo"),
        Language(code: "kor_Hang", name: "Korean"),
        Language(code: "kmr_Latn", name: "Northern Kurdish"),
        Language(code: "lao_Laoo", name: "Lao"),
        Language(code: "lvs_Latn", name: "Standard Latvian"),
        Language(code: "lij_Latn", name: "Ligurian"),
        Language(code: "lim_Latn", name: "Limburgish"),
        Language(code: "lin_Latn", name: "Lingala"),
        Language(code: "lit_Latn", name: "Lithuanian"),
        Language(code: "lmo_Latn", name: "Lombard"),
        Language(code: "ltg_Latn", name: "Latgalian"),
        Language(code: "ltz_Latn", name: "Luxembourgish"),
        Language(code: "lua_Latn", name: "Luba-Kasai"),
        Language(code: "lug_Latn", name: "Ganda"),
        Language(code: "luo_Latn", name: "Luo"),
        Language(code: "lus_Latn", name: "Mizo"),
        Language(code: "mag_Deva", name: "Magahi"),
        Language(code: "mai_Deva", name: "Maithili"),
        Language(code: "mal_Mlym", name: "Malayalam"),
        Language(code: "mar_Deva", name: "Marathi"),
        Language(code: "min_Latn", name: "Minangkabau"),
        Language(code: "mkd_Cyrl", name: "Macedonian"),
        Language(code: "plt_Latn", name: "Plateau Malagasy"),
        Language(code: "mlt_Latn", name: "Maltese"),
        Language(code: "mni_Beng", name: "Meitei (Bengali script)"),
        Language(code: "khk_Cyrl", name: "Halh Mongolian"),
        Language(code: "mos_Latn", name: "Mossi"),
        Language(code: "mri_Latn", name: "Maori"),
        Language(code: "zsm_Latn", name: "Standard Malay"),
        Language(code: "mya_Mymr", name: "Burmese"),
        Language(code: "nld_Latn", name: "Dutch"),
        Language(code: "nno_Latn", name: "Norwegian Nynorsk"),
        Language(code: "nob_Latn", name: "Norwegian Bokmål"),
        Language(code: "npi_Deva", name: "Nepali"),
        Language(code: "nso_Latn", name: "Northern Sotho"),
        Language(code: "nus_Latn", name: "Nuer"),
        Language(code: "nya_Latn", name: "Nyanja"),
        Language(code: "oci_Latn", name: "Occitan"),
        Language(code: "gaz_Latn", name: "West Central Oromo"),
        Language(code: "ory_Orya", name: "Odia"),
        Language(code: "pag_Latn", name: "Pangasinan"),
        Language(code: "pan_Guru", name: "Eastern Panjabi"),
        Language(code: "pap_Latn", name: "Papiamento"),
        Language(code: "pol_Latn", name: "Polish"),
        Language(code: "por_Latn", name: "Portuguese"),
        Language(code: "prs_Arab", name: "Dari"),
        Language(code: "pbt_Arab", name: "Southern Pashto"),
        Language(code: "quy_Latn", name: "Ayacucho Quechua"),
        Language(code: "ron_Latn", name: "Romanian"),
        Language(code: "run_Latn", name: "Rundi"),
        Language(code: "rus_Cyrl", name: "Russian"),
        Language(code: "sag_Latn", name: "Sango"),
        Language(code: "san_Deva", name: "Sanskrit"),
        Language(code: "sat_Beng", name: "Santali"),
        Language(code: "scn_Latn", name: "Sicilian"),
        Language(code: "shn_Mymr", name: "Shan"),
        Language(code: "sin_Sinh", name: "Sinhala"),
        Language(code: "slk_Latn", name: "Slovak"),
        Language(code: "slv_Latn", name: "Slovenian"),
        Language(code: "smo_Latn", name: "Samoan"),
        Language(code: "sna_Latn", name: "Shona"),
        Language(code: "snd_Arab", name: "Sindhi"),
        Language(code: "som_Latn", name: "Somali"),
        Language(code: "sot_Latn", name: "Southern Sotho"),
        Language(code: "spa_Latn", name: "Spanish"),
        Language(code: "als_Latn", name: "Tosk Albanian"),
        Language(code: "srd_Latn", name: "Sardinian"),
        Language(code: "srp_Cyrl", name: "Serbian"),
        Language(code: "ssw_Latn", name: "Swati"),
        Language(code: "sun_Latn", name: "Sundanese"),
        Language(code: "swe_Latn", name: "Swedish"),
        Language(code: "swh_Latn", name: "Swahili"),
        Language(code: "szl_Latn", name: "Silesian"),
        Language(code: "tam_Taml", name: "Tamil"),
        Language(code: "tat_Cyrl", name: "Tatar"),
        Language(code: "tel_Telu", name: "Telugu"),
        Language(code: "tgk_Cyrl", name: "Tajik"),
        Language(code: "tgl_Latn", name: "Tagalog"),
        Language(code: "tha_Thai", name: "Thai"),
        Language(code: "tir_Ethi", name: "Tigrinya"),
        Language(code: "taq_Latn", name: "Tamasheq (Latin script)"),
        Language(code: "taq_Tfng", name: "Tamasheq (Tifinagh script)"),
        Language(code: "tpi_Latn", name: "Tok Pisin"),
        Language(code: "tsn_Latn", name: "Tswana"),
        Language(code: "tso_Latn", name: "Tsonga"),
        Language(code: "tuk_Latn", name: "Turkmen"),
        Language(code: "tum_Latn", name: "Tumbuka"),
        Language(code: "tur_Latn", name: "Turkish"),
        Language(code: "twi_Latn", name: "Twi"),
        Language(code: "tzm_Tfng", name: "Central Atlas Tamazight"),
        Language(code: "uig_Arab", name: "Uyghur"),
        Language(code: "ukr_Cyrl", name: "Ukrainian"),
        Language(code: "umb_Latn", name: "Umbundu"),
        Language(code: "urd_Arab", name: "Urdu"),
        Language(code: "uzn_Latn", name: "Northern Uzbek"),
        Language(code: "vec_Latn", name: "Venetian"),
        Language(code: "vie_Latn", name: "Vietnamese"),
        Language(code: "war_Latn", name: "Waray"),
        Language(code: "wol_Latn", name: "Wolof"),
        Language(code: "xho_Latn", name: "Xhosa"),
        Language(code: "ydd_Hebr", name: "Eastern Yiddish"),
        Language(code: "yor_Latn", name: "Yoruba"),
        Language(code: "yue_Hant", name: "Yue Chinese"),
        Language(code: "zho_Hans", name: "Chinese (Simplified)"),
        Language(code: "zho_Hant", name: "Chinese (Traditional)"),
        Language(code: "zul_Latn", name: "Zulu"),
    ]

    /// The 202 codes, in token-id order.
    public static let codes: [String] = all.map(\.code)

    private static let nameByCode: [String: String] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0.name) })

    /// The English name of a code (`eng_Latn` -> "English"), nil for an unknown code.
    public static func name(of code: String) -> String? { nameByCode[code] }

    /// Whether `code` is one of the 202 codes (case-sensitive).
    public static func isValid(_ code: String) -> Bool { nameByCode[code] != nil }

    /// Returns `code` when valid, else throws `NLLBTokenizerError.unknownLanguageCode`
    /// with suggestions.
    @discardableResult
    public static func validate(_ code: String, among candidates: [String] = codes) throws -> String {
        if candidates.contains(code) { return code }
        throw NLLBTokenizerError.unknownLanguageCode(code, suggestions: suggestions(for: code, among: candidates))
    }

    /// ISO 639-1 two-letter codes of widely used languages, to their NLLB code.
    static let twoLetterCodes: [String: [String]] = [
        "af": ["afr_Latn"], "am": ["amh_Ethi"], "ar": ["arb_Arab"], "az": ["azj_Latn", "azb_Arab"], "be": ["bel_Cyrl"],
        "bg": ["bul_Cyrl"], "bn": ["ben_Beng"], "bo": ["bod_Tibt"], "bs": ["bos_Latn"], "ca": ["cat_Latn"],
        "cs": ["ces_Latn"], "cy": ["cym_Latn"], "da": ["dan_Latn"], "de": ["deu_Latn"], "el": ["ell_Grek"],
        "en": ["eng_Latn"], "eo": ["epo_Latn"], "es": ["spa_Latn"], "et": ["est_Latn"], "eu": ["eus_Latn"],
        "fa": ["pes_Arab", "prs_Arab"], "fi": ["fin_Latn"], "fo": ["fao_Latn"], "fr": ["fra_Latn"], "ga": ["gle_Latn"],
        "gd": ["gla_Latn"], "gl": ["glg_Latn"], "gu": ["guj_Gujr"], "ha": ["hau_Latn"], "he": ["heb_Hebr"],
        "hi": ["hin_Deva"], "hr": ["hrv_Latn"], "ht": ["hat_Latn"], "hu": ["hun_Latn"], "hy": ["hye_Armn"],
        "id": ["ind_Latn"], "ig": ["ibo_Latn"], "is": ["isl_Latn"], "it": ["ita_Latn"], "ja": ["jpn_Jpan"],
        "jv": ["jav_Latn"], "ka": ["kat_Geor"], "kk": ["kaz_Cyrl"], "km": ["khm_Khmr"], "kn": ["kan_Knda"],
        "ko": ["kor_Hang"], "ku": ["kmr_Latn", "ckb_Arab"], "ky": ["kir_Cyrl"], "lb": ["ltz_Latn"], "lo": ["lao_Laoo"],
        "lt": ["lit_Latn"], "lv": ["lvs_Latn"], "mg": ["plt_Latn"], "mi": ["mri_Latn"], "mk": ["mkd_Cyrl"],
        "ml": ["mal_Mlym"], "mn": ["khk_Cyrl"], "mr": ["mar_Deva"], "ms": ["zsm_Latn"], "mt": ["mlt_Latn"],
        "my": ["mya_Mymr"], "nb": ["nob_Latn"], "ne": ["npi_Deva"], "nl": ["nld_Latn"], "nn": ["nno_Latn"],
        "no": ["nob_Latn", "nno_Latn"], "ny": ["nya_Latn"], "oc": ["oci_Latn"], "om": ["gaz_Latn"], "or": ["ory_Orya"],
        "pa": ["pan_Guru"], "pl": ["pol_Latn"], "ps": ["pbt_Arab"], "pt": ["por_Latn"], "qu": ["quy_Latn"],
        "ro": ["ron_Latn"], "ru": ["rus_Cyrl"], "rw": ["kin_Latn"], "sa": ["san_Deva"], "sd": ["snd_Arab"],
        "si": ["sin_Sinh"], "sk": ["slk_Latn"], "sl": ["slv_Latn"], "sm": ["smo_Latn"], "sn": ["sna_Latn"],
        "so": ["som_Latn"], "sq": ["als_Latn"], "sr": ["srp_Cyrl"], "st": ["sot_Latn"], "su": ["sun_Latn"],
        "sv": ["swe_Latn"], "sw": ["swh_Latn"], "ta": ["tam_Taml"], "te": ["tel_Telu"], "tg": ["tgk_Cyrl"],
        "th": ["tha_Thai"], "ti": ["tir_Ethi"], "tk": ["tuk_Latn"], "tl": ["tgl_Latn"], "tn": ["tsn_Latn"],
        "tr": ["tur_Latn"], "ts": ["tso_Latn"], "tt": ["tat_Cyrl"], "ug": ["uig_Arab"], "uk": ["ukr_Cyrl"],
        "ur": ["urd_Arab"], "uz": ["uzn_Latn"], "vi": ["vie_Latn"], "wo": ["wol_Latn"], "xh": ["xho_Latn"],
        "yi": ["ydd_Hebr"], "yo": ["yor_Latn"], "zh": ["zho_Hans", "zho_Hant"], "zu": ["zul_Latn"],
    ]

    /// The closest codes to `input` among `candidates`, best first (at most `limit`).
    ///
    /// Ranking: same code ignoring case; ISO 639-1 code ("en"); same language part
    /// ("eng", "zho"); English name ("english", "chinese"); then edit distance.
    public static func suggestions(for input: String, among candidates: [String] = codes, limit: Int = 5) -> [String] {
        let query = input.trimmingCharacters(in: .whitespaces).lowercased()
            .replacingOccurrences(of: "-", with: "_")
        guard !query.isEmpty else { return Array(candidates.prefix(0)) }
        var ranked: [(rank: Int, distance: Int, order: Int, code: String)] = []
        let queryLanguage = query.split(separator: "_").first.map(String.init) ?? query
        let twoLetter = twoLetterCodes[query] ?? twoLetterCodes[queryLanguage] ?? []
        for (order, code) in candidates.enumerated() {
            let lower = code.lowercased()
            let language = lower.split(separator: "_").first.map(String.init) ?? lower
            let name = (nameByCode[code] ?? "").lowercased()
            var rank = Int.max
            if lower == query {
                rank = 0
            } else if let i = twoLetter.firstIndex(of: code) {
                rank = 1 + i
            } else if language == queryLanguage && queryLanguage.count >= 2 {
                rank = 3
            } else if query.count >= 3 && !name.isEmpty && (name == query || name.hasPrefix(query)) {
                rank = 4
            } else if query.count >= 3 && !name.isEmpty && (name.contains(" \(query)") || name.contains("(\(query)")) {
                rank = 5
            } else if query.count >= 2 && lower.hasPrefix(query) {
                rank = 6
            }
            let distance = min(
                editDistance(query, lower), editDistance(queryLanguage, language) + (query.contains("_") ? 1 : 0))
            if rank == Int.max {
                let allowed = max(1, min(3, query.count / 3))
                guard distance <= allowed else { continue }
                rank = 7
            }
            ranked.append((rank, distance, order, code))
        }
        ranked.sort { ($0.rank, $0.distance, $0.order) < ($1.rank, $1.distance, $1.order) }
        return Array(ranked.prefix(max(0, limit)).map(\.code))
    }

    /// Levenshtein distance over Unicode scalars.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
