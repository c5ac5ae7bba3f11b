/// The character classes sentence segmentation looks at, one scalar at a time.
///
/// Kept as explicit lists rather than Unicode categories: "which marks end a
/// sentence" is a choice, and the lists make the choice reviewable.
enum SegmentationScalars {
    /// How a sentence terminator must be followed to end a sentence.
    enum TerminatorKind {
        /// Needs whitespace or the end of the paragraph after it (`.`, `!`, `?`, `।`...).
        case spaced
        /// Ends a sentence even when the next sentence follows without a space
        /// (CJK full stops and full-width marks: `。！？`).
        case unspaced
    }

    static func terminatorKind(_ scalar: Unicode.Scalar) -> TerminatorKind? {
        switch scalar.value {
        case 0x2E, 0x21, 0x3F,  // . ! ?
            0x2026,  // … horizontal ellipsis
            0x203C, 0x2047...0x2049,  // ‼ ⁇ ⁈ ⁉
            0x037E,  // ; Greek question mark
            0x0589,  // ։ Armenian full stop
            0x061F, 0x06D4,  // ؟ Arabic question mark, ۔ Arabic (Urdu) full stop
            0x0964, 0x0965,  // । ॥ Devanagari danda, double danda
            0x104B,  // ။ Myanmar section mark (full stop)
            0x1362, 0x1367,  // ። ፧ Ethiopic full stop, question mark
            0x17D4, 0x17D5:  // ។ ៕ Khmer sign khan, bariyoosan
            return .spaced
        case 0x3002, 0xFF61,  // 。 ｡ ideographic full stop (full and half width)
            0xFF01, 0xFF1F,  // ！ ？ full-width exclamation and question marks
            0xFE12, 0xFE15, 0xFE16:  // ︒ ︕ ︖ vertical forms
            return .unspaced
        default:
            return nil
        }
    }

    /// Closing quotes and brackets that stay with the sentence they close
    /// (`He said "Stop." Then` → `He said "Stop."`). Both curly double quotes
    /// count as closers because German closes with “ and Scandinavian with ».
    static func isCloser(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x22, 0x27, 0x29, 0x5D, 0x7D,  // " ' ) ] }
            0x2019, 0x201D, 0x201C, 0x2018,  // ’ ” “ ‘
            0x00BB, 0x00AB, 0x203A, 0x2039,  // » « › ‹
            0x3009, 0x300B, 0x300D, 0x300F, 0x3011,  // 〉 》 」 』 】
            0x3015, 0x3017, 0x3019, 0x301B,  // 〕 〗 〙 〛
            0xFF09, 0xFF3D, 0xFF5D, 0xFF02, 0xFF07, 0xFF63:  // ） ］ ｝ ＂ ＇ ｣
            return true
        default:
            return false
        }
    }

    /// Opening quotes and brackets skipped when looking at the first letter of
    /// the next word, or at the word before a period (`(Mr.` → `Mr`).
    static func isOpener(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x22, 0x27, 0x28, 0x5B, 0x7B,  // " ' ( [ {
            0x201C, 0x2018, 0x201E, 0x201A,  // “ ‘ „ ‚
            0x00AB, 0x00BB, 0x2039, 0x203A,  // « » ‹ ›
            0x00BF, 0x00A1,  // ¿ ¡
            0x3008, 0x300A, 0x300C, 0x300E, 0x3010,  // 〈 《 「 『 【
            0x3014, 0x3016, 0x3018, 0x301A,  // 〔 〖 〘 〚
            0xFF08, 0xFF3B, 0xFF5B, 0xFF62:  // （ ［ ｛ ｢
            return true
        default:
            return false
        }
    }

    /// Unicode White_Space (spaces, tabs, line breaks, NBSP, ideographic space...).
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }

    /// Scalars that end a line: they separate paragraphs.
    static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029:
            return true
        default:
            return false
        }
    }

    /// Scalars that attach to the previous one (combining marks, joiners,
    /// variation selectors, emoji modifiers): never cut in front of them.
    static func isGraphemeExtender(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark:
            return true
        default:
            switch scalar.value {
            case 0x200C, 0x200D, 0xFE00...0xFE0F, 0xE0100...0xE01EF, 0x1F3FB...0x1F3FF:
                return true
            default:
                return false
            }
        }
    }

    /// Where an over-long sentence is best cut after this scalar: 0 for
    /// semicolons, 1 for colons, 2 for commas (lower is better), nil otherwise.
    static func clauseRank(_ scalar: Unicode.Scalar) -> Int? {
        switch scalar.value {
        case 0x3B, 0xFF1B, 0x061B: return 0  // ; ； ؛
        case 0x3A, 0xFF1A: return 1  // : ：
        case 0x2C, 0xFF0C, 0x3001, 0x060C: return 2  // , ， 、 ،
        default: return nil
        }
    }

    /// Clause marks of scripts written without spaces: a cut may follow them
    /// directly, with no whitespace after.
    static func isUnspacedClauseMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0xFF1B, 0xFF1A, 0xFF0C, 0x3001: return true
        default: return false
        }
    }

    static func isASCIIDigit(_ scalar: Unicode.Scalar) -> Bool {
        (0x30...0x39).contains(scalar.value)
    }
}
