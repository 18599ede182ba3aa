//! SMS segment counting: which encoding a message body will be sent with, and
//! how many SMS parts it will be billed and delivered as.
//!
//! An SMS carries at most 140 octets of user data. Carriers pick the encoding
//! of a body the same way every handset does:
//!
//! * **GSM-7** (the default alphabet of GSM 03.38 / 3GPP TS 23.038) packs
//!   characters into 7-bit septets, so 160 fit in one SMS. Characters from the
//!   extension table (`€`, `{`, `^`, ...) are sent as an escape septet followed
//!   by the character, so they cost two septets.
//! * **UCS-2** is used as soon as a single character is outside the GSM-7
//!   alphabet (a curly apostrophe pasted from a word processor is enough). It
//!   costs 16 bits per UTF-16 code unit, so only 70 units fit in one SMS, and a
//!   character outside the Basic Multilingual Plane (most emoji) takes two.
//!
//! A longer body is sent as a concatenated SMS: every part starts with a User
//! Data Header (UDH) carrying the concatenation information element, which
//! eats 6 of the 140 octets. That leaves 153 septets or 67 UCS-2 units per
//! part. Handsets reassemble the parts character by character, so an escape
//! sequence or a UTF-16 surrogate pair is never split across two parts; the
//! unused unit at the end of the earlier part is wasted, which this module
//! accounts for.
//!
//! Operators are billed per part, and a single stray character can more than
//! double the count, which is why [`SegmentInfo`] also reports the characters
//! that forced UCS-2.

use serde::Serialize;

/// The maximum body length accepted, in characters (Twilio and most providers
/// refuse longer).
pub const MAX_MESSAGE_CHARS: usize = 1600;

/// Septets in a single, unconcatenated GSM-7 SMS: 140 octets * 8 / 7.
const GSM7_SINGLE: usize = 160;
/// Septets per part of a concatenated GSM-7 SMS: the 6-octet (48-bit) UDH is
/// padded to a septet boundary, 7 septets, leaving 160 - 7 = 153.
const GSM7_PER_PART: usize = 153;
/// UTF-16 code units in a single, unconcatenated UCS-2 SMS: 140 octets / 2.
const UCS2_SINGLE: usize = 70;
/// UTF-16 code units per part of a concatenated UCS-2 SMS: (140 - 6) / 2.
const UCS2_PER_PART: usize = 67;
/// How many offending characters to report: enough to point an operator at
/// the problem without echoing back a whole non-Latin message.
const MAX_REPORTED_NON_GSM: usize = 5;

/// Character encoding an SMS body will be sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// The GSM 03.38 default alphabet, 7 bits per character.
    Gsm7,
    /// UCS-2 (in practice UTF-16), 16 bits per code unit.
    Ucs2,
}

/// How a message body is split into SMS segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentInfo {
    /// Encoding the body will be sent with.
    pub encoding: Encoding,
    /// Number of SMS segments (parts) the body is sent as; an empty body is
    /// still one message.
    pub segments: u32,
    /// Length in encoding units: septets for GSM-7 (extension characters
    /// count 2), UTF-16 code units for UCS-2.
    pub units: u32,
    /// Length in Unicode scalar values (`char`s), which is what
    /// [`MAX_MESSAGE_CHARS`] limits.
    pub chars: u32,
    /// Characters that forced UCS-2, in order of first appearance,
    /// deduplicated, at most 5, so an operator can replace them (e.g. `’` or
    /// `😀`). Empty for GSM-7.
    pub non_gsm_chars: Vec<char>,
}

/// Whether `c` is in the GSM 03.38 basic character set (one septet).
///
/// Listed in code order (0x00..=0x7F) so it can be checked against the table
/// in 3GPP TS 23.038 §6.2.1. The Greek capitals are written as escapes because
/// several of them have Latin or symbol look-alikes (e.g. Ω vs the Ohm sign).
fn is_gsm7_basic(c: char) -> bool {
    matches!(
        c,
        // 0x00..=0x0F
        '@' | '£' | '$' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | '\n' | 'Ø' | 'ø' | '\r'
            | 'Å' | 'å'
            // 0x10..=0x1F; 0x1B is the escape to the extension table, not a
            // character, so nothing maps to it.
            | '\u{0394}' // Δ
            | '_'
            | '\u{03A6}' // Φ
            | '\u{0393}' // Γ
            | '\u{039B}' // Λ
            | '\u{03A9}' // Ω
            | '\u{03A0}' // Π
            | '\u{03A8}' // Ψ
            | '\u{03A3}' // Σ
            | '\u{0398}' // Θ
            | '\u{039E}' // Ξ
            | 'Æ' | 'æ' | 'ß' | 'É'
            // 0x20..=0x3F: ASCII, except that 0x24 is '¤' rather than '$'.
            | ' ' | '!' | '"' | '#' | '¤' | '%' | '&' | '\'' | '(' | ')' | '*' | '+' | ','
            | '-' | '.' | '/' | '0'..='9' | ':' | ';' | '<' | '=' | '>' | '?'
            // 0x40..=0x5F
            | '¡' | 'A'..='Z' | 'Ä' | 'Ö' | 'Ñ' | 'Ü' | '§'
            // 0x60..=0x7F
            | '¿' | 'a'..='z' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à'
    )
}

/// Whether `c` is in the GSM 03.38 extension table (escape + character, two
/// septets). Only the default extension table is listed: the national
/// language shift tables must be announced in each message's UDH, so a
/// provider cannot be assumed to use them.
fn is_gsm7_extension(c: char) -> bool {
    matches!(
        c,
        '\u{000C}' | '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€'
    )
}

/// Whether `c` can be sent in GSM-7, from either the basic character set or
/// the extension table.
pub fn is_gsm7_char(c: char) -> bool {
    is_gsm7_basic(c) || is_gsm7_extension(c)
}

/// Septets `c` costs in GSM-7: `Some(1)` for the basic character set,
/// `Some(2)` for the extension table (escape + character), `None` if `c`
/// cannot be sent in GSM-7 at all.
pub fn gsm7_septets(c: char) -> Option<u32> {
    if is_gsm7_basic(c) {
        Some(1)
    } else if is_gsm7_extension(c) {
        Some(2)
    } else {
        None
    }
}

/// Encoding `text` will be sent with: GSM-7 if every character is in the GSM-7
/// alphabet, UCS-2 otherwise.
pub fn encoding_of(text: &str) -> Encoding {
    if text.chars().all(is_gsm7_char) {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    }
}

/// Encoding, length and number of SMS segments of `text`.
///
/// Does not enforce [`MAX_MESSAGE_CHARS`]; callers compare `chars` against it
/// so that they can report the length alongside the error.
pub fn segment_info(text: &str) -> SegmentInfo {
    let chars = text.chars().count();
    match encoding_of(text) {
        Encoding::Gsm7 => {
            // Every char is GSM-7 here, so `filter_map` drops nothing.
            let costs = || text.chars().filter_map(gsm7_septets).map(widen);
            let units = costs().sum();
            SegmentInfo {
                encoding: Encoding::Gsm7,
                segments: saturate(pack(costs(), units, GSM7_SINGLE, GSM7_PER_PART)),
                units: saturate(units),
                chars: saturate(chars),
                non_gsm_chars: Vec::new(),
            }
        }
        Encoding::Ucs2 => {
            let costs = || text.chars().map(char::len_utf16);
            let units = costs().sum();
            SegmentInfo {
                encoding: Encoding::Ucs2,
                segments: saturate(pack(costs(), units, UCS2_SINGLE, UCS2_PER_PART)),
                units: saturate(units),
                chars: saturate(chars),
                non_gsm_chars: non_gsm_chars(text),
            }
        }
    }
}

/// Number of parts needed for characters costing `costs` units each (`total`
/// in all), never splitting a character across parts.
///
/// Greedy packing is what senders do and is optimal here: characters must stay
/// in order, so the only choice is where each part ends, and ending a part
/// early never lets a later one hold more.
fn pack(costs: impl Iterator<Item = usize>, total: usize, single: usize, per_part: usize) -> usize {
    if total <= single {
        return 1;
    }
    let mut parts = 1;
    let mut used = 0;
    for cost in costs {
        if used + cost > per_part {
            parts += 1;
            used = 0;
        }
        used += cost;
    }
    parts
}

/// The first few distinct characters of `text` that are not GSM-7.
fn non_gsm_chars(text: &str) -> Vec<char> {
    let mut found = Vec::with_capacity(MAX_REPORTED_NON_GSM);
    for c in text.chars().filter(|&c| !is_gsm7_char(c)) {
        if !found.contains(&c) {
            found.push(c);
            if found.len() == MAX_REPORTED_NON_GSM {
                break;
            }
        }
    }
    found
}

/// Septet counts are 1 or 2, so this never truncates; it only exists because
/// `usize: From<u32>` is not implemented on 16-bit targets.
fn widen(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Counts only exceed `u32` for bodies of gigabytes, far past
/// [`MAX_MESSAGE_CHARS`]; saturating keeps the function total without making
/// every caller handle an error that cannot happen for a real message.
fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(text: &str) -> SegmentInfo {
        segment_info(text)
    }

    /// `(encoding, segments, units, chars)`, to keep the assertions short.
    fn summary(text: &str) -> (Encoding, u32, u32, u32) {
        let i = segment_info(text);
        (i.encoding, i.segments, i.units, i.chars)
    }

    #[test]
    fn empty_body_is_one_gsm7_segment() {
        assert_eq!(
            info(""),
            SegmentInfo {
                encoding: Encoding::Gsm7,
                segments: 1,
                units: 0,
                chars: 0,
                non_gsm_chars: vec![],
            }
        );
    }

    #[test]
    fn plain_ascii() {
        // "Hello, world!" = 13 basic chars * 1 septet = 13 <= 160 -> 1 segment.
        assert_eq!(summary("Hello, world!"), (Encoding::Gsm7, 1, 13, 13));
    }

    #[test]
    fn gsm7_single_segment_boundary() {
        // 160 septets <= 160 -> 1 segment.
        assert_eq!(summary(&"a".repeat(160)), (Encoding::Gsm7, 1, 160, 160));
        // 161 > 160 -> multipart; ceil(161 / 153) = 2.
        assert_eq!(summary(&"a".repeat(161)), (Encoding::Gsm7, 2, 161, 161));
    }

    #[test]
    fn gsm7_multipart_boundary() {
        // 306 = 2 * 153 -> 2 segments.
        assert_eq!(summary(&"a".repeat(306)).1, 2);
        // 307 = 2 * 153 + 1 -> 3 segments.
        assert_eq!(summary(&"a".repeat(307)).1, 3);
    }

    #[test]
    fn extension_chars_cost_two_septets() {
        for c in ['€', '{', '}', '^', '[', ']', '~', '|', '\\', '\u{000C}'] {
            assert_eq!(gsm7_septets(c), Some(2), "{c:?}");
            // 1 char * 2 septets = 2 septets.
            assert_eq!(summary(&c.to_string()), (Encoding::Gsm7, 1, 2, 1), "{c:?}");
        }
        for c in ['a', 'Z', '0', '@', '\n', '\r', ' ', 'é', '\u{0394}'] {
            assert_eq!(gsm7_septets(c), Some(1), "{c:?}");
        }
        for c in ['’', 'á', '😀', '\u{1B}', '\t', '`'] {
            assert_eq!(gsm7_septets(c), None, "{c:?}");
        }
    }

    #[test]
    fn euro_signs_fill_segments_by_septets() {
        // 80 '€' * 2 = 160 septets <= 160 -> 1 segment.
        assert_eq!(summary(&"€".repeat(80)), (Encoding::Gsm7, 1, 160, 80));
        // 81 '€' * 2 = 162 septets > 160 -> multipart. Each part holds
        // floor(153 / 2) = 76 '€' (152 septets): 76 + 5 -> 2 segments.
        assert_eq!(summary(&"€".repeat(81)), (Encoding::Gsm7, 2, 162, 81));
    }

    #[test]
    fn mixed_basic_and_extension() {
        // "{x}" = 2 + 1 + 2 = 5 septets, 3 chars.
        assert_eq!(summary("{x}"), (Encoding::Gsm7, 1, 5, 3));
        // "Price: 5€ ^_^" = 10 basic ("Price:", 2 spaces, '5', '_') * 1
        // + '€' * 2 + 2 '^' * 2 = 10 + 2 + 4 = 16 septets, 13 chars.
        assert_eq!(summary("Price: 5€ ^_^"), (Encoding::Gsm7, 1, 16, 13));
    }

    #[test]
    fn escape_pair_straddling_boundary_moves_to_next_segment() {
        // 152 'a' + '€' + 7 'a' = 152 + 2 + 7 = 161 septets > 160 -> multipart.
        // Part 1: 152 'a' (the '€' needs 2, only 1 left); part 2: '€' + 7 'a'
        // = 9 -> 2 segments.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(7));
        assert_eq!(summary(&text), (Encoding::Gsm7, 2, 161, 160));
    }

    #[test]
    fn escape_pair_straddling_boundary_adds_a_segment() {
        // 152 'a' + '€' + 152 'a' = 152 + 2 + 152 = 306 septets, which would be
        // exactly 2 * 153 if the pair could be split.
        // Part 1: 152 'a' (1 septet wasted); part 2: '€' + 151 'a' = 153;
        // part 3: 1 'a' -> 3 segments.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(summary(&text), (Encoding::Gsm7, 3, 306, 305));
        // Without the '€' straddling: '€' first, then 304 'a' = 306 septets.
        // Part 1: '€' + 151 'a' = 153; part 2: 153 'a' -> 2 segments.
        let text = format!("€{}", "a".repeat(304));
        assert_eq!(summary(&text), (Encoding::Gsm7, 2, 306, 305));
    }

    /// The dashboard's reply box counts segments in JavaScript
    /// (`engine/daemon/dashboard/js/segments.js`); both are checked against one fixture (the
    /// browser tests check the JavaScript side).
    #[test]
    fn agrees_with_the_fixture_the_dashboard_is_checked_against() {
        let fixture: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/browser/fixtures/segments.json"
        ))
        .expect("the fixture is JSON");
        let cases = fixture.as_array().expect("a list of cases");
        assert!(cases.len() >= 10);
        for case in cases {
            let text = case["text"].as_str().expect("text");
            let info = segment_info(text);
            let encoding = match info.encoding {
                Encoding::Gsm7 => "gsm7",
                Encoding::Ucs2 => "ucs2",
            };
            assert_eq!(encoding, case["encoding"], "{text:?}");
            assert_eq!(u64::from(info.segments), case["segments"], "{text:?}");
            assert_eq!(u64::from(info.units), case["units"], "{text:?}");
        }
    }

    #[test]
    fn many_euro_signs_waste_a_septet_per_segment() {
        // 153 '€' * 2 = 306 septets; 76 '€' per part (152 septets):
        // ceil(153 / 76) = 3 segments, not 306 / 153 = 2.
        assert_eq!(summary(&"€".repeat(153)), (Encoding::Gsm7, 3, 306, 153));
    }

    #[test]
    fn accented_latin() {
        // é, ñ, Ä are in the basic set: 3 septets.
        assert_eq!(summary("éñÄ"), (Encoding::Gsm7, 1, 3, 3));
        assert!(is_gsm7_char('é') && is_gsm7_char('ñ') && is_gsm7_char('Ä'));
        // á, ê, ő are not: 1 UTF-16 unit each.
        for c in ['á', 'ê', 'ő'] {
            assert!(!is_gsm7_char(c), "{c:?}");
            let i = info(&format!("Caf{c}"));
            assert_eq!(
                (i.encoding, i.segments, i.units, i.chars),
                (Encoding::Ucs2, 1, 4, 4)
            );
            assert_eq!(i.non_gsm_chars, vec![c]);
        }
    }

    #[test]
    fn curly_apostrophe_forces_ucs2_and_is_reported() {
        // "It’s" = 4 BMP chars = 4 UTF-16 units.
        let i = info("It’s");
        assert_eq!(
            (i.encoding, i.segments, i.units, i.chars),
            (Encoding::Ucs2, 1, 4, 4)
        );
        assert_eq!(i.non_gsm_chars, vec!['’']);
        // The straight apostrophe is GSM-7.
        assert_eq!(encoding_of("It's"), Encoding::Gsm7);
    }

    #[test]
    fn one_stray_char_switches_the_whole_body() {
        // 100 'a' alone: 100 septets -> 1 GSM-7 segment.
        assert_eq!(summary(&"a".repeat(100)).1, 1);
        // 100 'a' + '’' = 101 UTF-16 units > 70 -> ceil(101 / 67) = 2.
        let text = format!("{}’", "a".repeat(100));
        assert_eq!(summary(&text), (Encoding::Ucs2, 2, 101, 101));
        // Extension chars cost 1 unit, not 2, once the body is UCS-2:
        // '€' + '’' = 2 units.
        assert_eq!(summary("€’"), (Encoding::Ucs2, 1, 2, 2));
    }

    #[test]
    fn emoji_is_two_utf16_units() {
        // U+1F600 is outside the BMP: one surrogate pair = 2 units, 1 char.
        let i = info("😀");
        assert_eq!(
            (i.encoding, i.segments, i.units, i.chars),
            (Encoding::Ucs2, 1, 2, 1)
        );
        assert_eq!(i.non_gsm_chars, vec!['😀']);
    }

    #[test]
    fn ucs2_single_segment_boundary() {
        // 70 'ê' = 70 units <= 70 -> 1 segment.
        assert_eq!(summary(&"ê".repeat(70)), (Encoding::Ucs2, 1, 70, 70));
        // 71 units > 70 -> ceil(71 / 67) = 2.
        assert_eq!(summary(&"ê".repeat(71)), (Encoding::Ucs2, 2, 71, 71));
    }

    #[test]
    fn ucs2_multipart_boundary() {
        // 134 = 2 * 67 -> 2 segments.
        assert_eq!(summary(&"ê".repeat(134)).1, 2);
        // 135 = 2 * 67 + 1 -> 3 segments.
        assert_eq!(summary(&"ê".repeat(135)).1, 3);
    }

    #[test]
    fn emoji_fill_segments_by_code_units() {
        // 35 emoji * 2 = 70 units <= 70 -> 1 segment.
        assert_eq!(summary(&"😀".repeat(35)), (Encoding::Ucs2, 1, 70, 35));
        // 36 emoji * 2 = 72 units > 70 -> multipart; floor(67 / 2) = 33 emoji
        // per part: 33 + 3 -> 2 segments.
        assert_eq!(summary(&"😀".repeat(36)), (Encoding::Ucs2, 2, 72, 36));
    }

    #[test]
    fn surrogate_pair_straddling_boundary_moves_to_next_segment() {
        // 66 'ê' + '😀' = 66 + 2 = 68 units <= 70 -> still 1 segment: the
        // 67-unit limit only applies once the body is multipart.
        let text = format!("{}😀", "ê".repeat(66));
        assert_eq!(summary(&text), (Encoding::Ucs2, 1, 68, 67));
        // 66 'ê' + '😀' + 3 'ê' = 66 + 2 + 3 = 71 units > 70 -> multipart.
        // Part 1: 66 'ê' (the pair needs 2, only 1 left); part 2: '😀' + 3 'ê'
        // = 5 -> 2 segments.
        let text = format!("{}😀{}", "ê".repeat(66), "ê".repeat(3));
        assert_eq!(summary(&text), (Encoding::Ucs2, 2, 71, 70));
    }

    #[test]
    fn surrogate_pair_straddling_boundary_adds_a_segment() {
        // 66 'ê' + '😀' + 66 'ê' = 66 + 2 + 66 = 134 units, which would be
        // exactly 2 * 67 if the pair could be split.
        // Part 1: 66 'ê' (1 unit wasted); part 2: '😀' + 65 'ê' = 67;
        // part 3: 1 'ê' -> 3 segments.
        let text = format!("{}😀{}", "ê".repeat(66), "ê".repeat(66));
        assert_eq!(summary(&text), (Encoding::Ucs2, 3, 134, 133));
        // Same 134 units with the pair first: '😀' + 65 'ê' = 67, then 67 'ê'
        // -> 2 segments.
        let text = format!("😀{}", "ê".repeat(132));
        assert_eq!(summary(&text), (Encoding::Ucs2, 2, 134, 133));
    }

    #[test]
    fn many_emoji_waste_a_unit_per_segment() {
        // 67 emoji * 2 = 134 units; 33 emoji per part (66 units):
        // ceil(67 / 33) = 3 segments, not 134 / 67 = 2.
        assert_eq!(summary(&"😀".repeat(67)), (Encoding::Ucs2, 3, 134, 67));
    }

    #[test]
    fn cjk() {
        // 4 BMP chars = 4 units <= 70 -> 1 segment.
        let i = info("你好世界");
        assert_eq!(
            (i.encoding, i.segments, i.units, i.chars),
            (Encoding::Ucs2, 1, 4, 4)
        );
        assert_eq!(i.non_gsm_chars, vec!['你', '好', '世', '界']);
    }

    #[test]
    fn chars_versus_units_for_emoji_sequences() {
        // Thumbs up U+1F44D + skin tone U+1F3FD: 2 chars, 2 * 2 = 4 units.
        assert_eq!(summary("👍🏽"), (Encoding::Ucs2, 1, 4, 2));
        // Family: man + ZWJ + woman + ZWJ + girl = 5 chars; the three emoji are
        // surrogate pairs and the ZWJs (U+200D) are BMP: 3 * 2 + 2 = 8 units.
        assert_eq!(
            summary("\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}"),
            (Encoding::Ucs2, 1, 8, 5)
        );
    }

    #[test]
    fn chars_counts_unicode_scalars() {
        assert_eq!(MAX_MESSAGE_CHARS, 1600);
        // Precomposed 'é' is 1 char (2 UTF-8 bytes), and GSM-7.
        assert_eq!("é".len(), 2);
        assert_eq!(summary("é"), (Encoding::Gsm7, 1, 1, 1));
        // 'e' + combining acute U+0301 renders the same but is 2 chars, and the
        // combining mark is not GSM-7: 2 units.
        assert_eq!(summary("e\u{301}"), (Encoding::Ucs2, 1, 2, 2));
        // '€' is 3 UTF-8 bytes, 2 septets, 1 char.
        assert_eq!(summary("€"), (Encoding::Gsm7, 1, 2, 1));
        // MAX_MESSAGE_CHARS 'a' = 1600 septets; ceil(1600 / 153) = 11.
        let i = info(&"a".repeat(MAX_MESSAGE_CHARS));
        assert_eq!((i.chars, i.segments), (1600, 11));
    }

    #[test]
    fn non_gsm_chars_are_deduplicated_and_capped() {
        // Order of first appearance, '’' once, GSM chars skipped, 5 at most.
        let i = info("’’ a á ê b ő ű œ ");
        assert_eq!(i.non_gsm_chars, vec!['’', 'á', 'ê', 'ő', 'ű']);
        assert!(info("plain").non_gsm_chars.is_empty());
    }

    #[test]
    fn escape_code_is_not_a_character() {
        assert!(!is_gsm7_char('\u{1B}'));
        assert_eq!(encoding_of("\u{1B}"), Encoding::Ucs2);
    }

    #[test]
    fn table_sizes_match_3gpp_23_038() {
        let all = || (0..=0x10FFFF_u32).filter_map(char::from_u32);
        // 128 code points minus the escape at 0x1B.
        assert_eq!(all().filter(|&c| gsm7_septets(c) == Some(1)).count(), 127);
        // Form feed, ^ { } \ [ ~ ] | €.
        assert_eq!(all().filter(|&c| gsm7_septets(c) == Some(2)).count(), 10);
        assert_eq!(all().filter(|&c| is_gsm7_char(c)).count(), 137);
    }

    #[test]
    fn encoding_of_matches_segment_info() {
        for text in ["", "abc", "€", "’", "😀", "你好", "{}[]~|^\\"] {
            assert_eq!(encoding_of(text), info(text).encoding, "{text:?}");
        }
    }

    #[test]
    fn serializes_with_snake_case_encoding() {
        assert_eq!(
            serde_json::to_value(Encoding::Gsm7).ok(),
            Some(serde_json::json!("gsm7"))
        );
        assert_eq!(
            serde_json::to_value(info("it’s")).ok(),
            Some(serde_json::json!({
                "encoding": "ucs2",
                "segments": 1,
                "units": 4,
                "chars": 4,
                "non_gsm_chars": ["’"],
            }))
        );
    }
}
