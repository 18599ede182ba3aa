//! Opt-out, opt-in and help keywords: whether a whole message is one (the engine acts on it
//! for every campaign before any flow runs), and whether an ordinary message mentions an
//! opt-out word (flagged to a person, never acted on).
//!
//! Messages and keywords are compared as sequences of words: runs of letters, digits and
//! combining marks, case-folded. Everything else (spaces, punctuation, emoji) only separates
//! words, so "Stop." "STOP!!" " stop 🙏" are all `STOP`, and "opt-out" is the phrase
//! "opt out".

use std::collections::HashMap;
use switchboard_model::words::{contains_phrase, words};

use serde::{Deserialize, Serialize};

/// Opt-out words every deployment honours (CTIA / carrier guidance).
const OPT_OUT: &[&str] = &["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
/// Opt-in words.
const OPT_IN: &[&str] = &["START", "UNSTOP", "YES"];
/// Help words.
const HELP: &[&str] = &["HELP", "INFO"];

/// A message that is a keyword, with the canonical (uppercase) keyword it matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Keyword {
    /// The contact asks to receive nothing more.
    OptOut(String),
    /// The contact asks to receive messages again.
    OptIn(String),
    /// The contact asks who is writing and how to stop.
    Help(String),
}

/// The answer to HELP when none is configured.
pub const DEFAULT_HELP_TEXT: &str =
    "Reply STOP to unsubscribe or START to resubscribe. Msg & data rates may apply.";
/// The confirmation of an opt-out when none is configured.
pub const DEFAULT_OPT_OUT_CONFIRMATION: &str =
    "You are unsubscribed and will receive no more messages. Reply START to resubscribe.";
/// The confirmation of an opt-in when none is configured.
pub const DEFAULT_OPT_IN_CONFIRMATION: &str =
    "You are resubscribed. Reply STOP to unsubscribe, HELP for help.";
/// Provider error codes that mean the number opted out at the carrier: Twilio 21610
/// ("attempt to send to unsubscribed recipient"), Telnyx 40300 ("blocked due to STOP").
pub const DEFAULT_PROVIDER_OPT_OUT_CODES: [&str; 2] = ["21610", "40300"];

/// The keyword lists, and the lookup built from them.
#[derive(Debug, Clone)]
pub struct KeywordSets {
    /// Normalised keyword (folded words joined by one space) → what it means. When a word is
    /// in several lists, opt-out wins, then opt-in, then help.
    by_phrase: HashMap<String, Keyword>,
    /// The opt-out keywords as folded words, for [`KeywordSets::mentions_opt_out`].
    opt_out: Vec<Vec<String>>,
}

impl Default for KeywordSets {
    fn default() -> Self {
        Self::with_extra(&[], &[], &[])
    }
}

impl KeywordSets {
    /// The default words plus configured extra ones (e.g. ARRET, ALTO, BAJA for other
    /// languages); multi-word phrases such as "opt out" are allowed. Entries without a letter
    /// or digit are ignored: no message could match them.
    pub fn with_extra(opt_out: &[String], opt_in: &[String], help: &[String]) -> Self {
        let mut sets = Self {
            by_phrase: HashMap::new(),
            opt_out: Vec::new(),
        };
        // Insertion order is precedence: the first list to claim a phrase keeps it.
        sets.add_list(OPT_OUT, opt_out, Keyword::OptOut);
        sets.add_list(OPT_IN, opt_in, Keyword::OptIn);
        sets.add_list(HELP, help, Keyword::Help);
        sets
    }

    fn add_list(&mut self, defaults: &[&str], extra: &[String], kind: fn(String) -> Keyword) {
        let words = defaults
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str));
        for word in words {
            self.add(word, kind);
        }
    }

    fn add(&mut self, keyword: &str, kind: fn(String) -> Keyword) {
        let folded = words(keyword);
        if folded.is_empty() {
            return;
        }
        let phrase = folded.join(" ");
        if self.by_phrase.contains_key(&phrase) {
            return;
        }
        let canonical = keyword
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase();
        let keyword = kind(canonical);
        if matches!(keyword, Keyword::OptOut(_)) {
            self.opt_out.push(folded);
        }
        self.by_phrase.insert(phrase, keyword);
    }

    /// The keyword when the whole message is one: case-insensitive (Unicode case folding),
    /// surrounding punctuation, whitespace and emoji ignored. `None` for anything else,
    /// including a keyword inside a sentence.
    pub fn classify(&self, text: &str) -> Option<Keyword> {
        let words = words(text);
        if words.is_empty() {
            return None;
        }
        self.by_phrase.get(&words.join(" ")).cloned()
    }

    /// Whether a message that is not itself a keyword mentions an opt-out word or phrase as
    /// whole words ("please stop calling me at work", not "unstoppable"). For flagging the
    /// message to a person, never for suppressing the number: `false` when the whole message
    /// is a keyword, which [`KeywordSets::classify`] answers.
    pub fn mentions_opt_out(&self, text: &str) -> bool {
        let words = words(text);
        if self.by_phrase.contains_key(&words.join(" ")) {
            return false;
        }
        self.opt_out
            .iter()
            .any(|phrase| contains_phrase(&words, phrase))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn opt_out(word: &str) -> Option<Keyword> {
        Some(Keyword::OptOut(word.into()))
    }

    #[test]
    fn classifies_the_default_words() {
        let sets = KeywordSets::default();
        for word in OPT_OUT {
            assert_eq!(sets.classify(word), opt_out(word));
        }
        assert_eq!(sets.classify("start"), Some(Keyword::OptIn("START".into())));
        assert_eq!(
            sets.classify("Unstop"),
            Some(Keyword::OptIn("UNSTOP".into()))
        );
        assert_eq!(sets.classify("yes"), Some(Keyword::OptIn("YES".into())));
        assert_eq!(sets.classify("HELP"), Some(Keyword::Help("HELP".into())));
        assert_eq!(sets.classify("info?"), Some(Keyword::Help("INFO".into())));
    }

    #[test]
    fn ignores_case_whitespace_punctuation_and_emoji_around_the_word() {
        let sets = KeywordSets::default();
        for text in [
            "Stop.",
            "STOP!!",
            " stop ",
            "\tStOp\n",
            "¡stop!",
            "stop 🙏",
            "🛑STOP🛑",
            "(stop)",
            "\"Stop\"",
            "stop…",
        ] {
            assert_eq!(sets.classify(text), opt_out("STOP"), "{text:?}");
        }
    }

    #[test]
    fn anything_but_a_whole_keyword_is_none() {
        let sets = KeywordSets::default();
        for text in [
            "",
            "  ",
            "!!!",
            "🙏",
            "stop it",
            "please stop",
            "stop stop",
            "unstoppable",
            "stopp",
            "s.t.o.p",
            "thanks",
        ] {
            assert_eq!(sets.classify(text), None, "{text:?}");
        }
    }

    #[test]
    fn configured_words_and_phrases_in_other_languages() {
        let sets = KeywordSets::with_extra(
            &strings(&["ARRÊT", "alto", "Baja", "opt out", "  remove   me "]),
            &strings(&["ALTA"]),
            &strings(&["AIDE", "AYUDA"]),
        );
        assert_eq!(sets.classify("Arrêt"), opt_out("ARRÊT"));
        assert_eq!(sets.classify("arrêt !"), opt_out("ARRÊT"));
        assert_eq!(sets.classify("ALTO"), opt_out("ALTO"));
        assert_eq!(sets.classify("¿baja?"), opt_out("BAJA"));
        assert_eq!(sets.classify("Opt out"), opt_out("OPT OUT"));
        assert_eq!(sets.classify("opt-out"), opt_out("OPT OUT"));
        assert_eq!(sets.classify("OPT  OUT."), opt_out("OPT OUT"));
        assert_eq!(sets.classify("remove me"), opt_out("REMOVE ME"));
        assert_eq!(sets.classify("alta"), Some(Keyword::OptIn("ALTA".into())));
        assert_eq!(sets.classify("Ayuda"), Some(Keyword::Help("AYUDA".into())));
        // The defaults stay.
        assert_eq!(sets.classify("stop"), opt_out("STOP"));
        // Not configured: accents matter.
        assert_eq!(sets.classify("arret"), None);
    }

    #[test]
    fn unicode_case_folding() {
        let sets = KeywordSets::with_extra(&strings(&["STRASSE", "ΤΈΛΟΣ"]), &[], &[]);
        assert_eq!(sets.classify("straße"), opt_out("STRASSE"));
        assert_eq!(sets.classify("τέλος"), opt_out("ΤΈΛΟΣ"));
        assert_eq!(sets.classify("ΤΕΛΟΣ"), None);
        // A decomposed accent is part of the word, not a separator.
        let sets = KeywordSets::with_extra(&strings(&["ARRE\u{0302}T"]), &[], &[]);
        assert_eq!(sets.classify("arre\u{0302}t."), opt_out("ARRE\u{0302}T"));
    }

    #[test]
    fn opt_out_wins_over_the_other_lists() {
        let sets = KeywordSets::with_extra(&strings(&["yes", "Help"]), &strings(&["info"]), &[]);
        assert_eq!(sets.classify("YES"), opt_out("YES"));
        assert_eq!(sets.classify("help"), opt_out("HELP"));
        assert_eq!(sets.classify("info"), Some(Keyword::OptIn("INFO".into())));
        assert!(sets.mentions_opt_out("I said yes to the offer"));
    }

    #[test]
    fn empty_configured_entries_are_ignored() {
        let sets = KeywordSets::with_extra(&strings(&["", "  ", "!!", "🙏"]), &[], &[]);
        assert_eq!(sets.classify("!!"), None);
        assert_eq!(sets.classify("🙏"), None);
        assert!(!sets.mentions_opt_out("!! 🙏"));
    }

    #[test]
    fn mentions_opt_out_as_whole_words_only() {
        let sets = KeywordSets::with_extra(&strings(&["opt out"]), &[], &[]);
        assert!(sets.mentions_opt_out("please stop calling me at work"));
        assert!(sets.mentions_opt_out("Stop! Wrong number"));
        assert!(sets.mentions_opt_out("how do I UNSUBSCRIBE?"));
        assert!(sets.mentions_opt_out("I want to opt-out of this"));
        assert!(!sets.mentions_opt_out("unstoppable deals!"));
        assert!(!sets.mentions_opt_out("the bus stopped"));
        assert!(!sets.mentions_opt_out("opt in please, I'm out"));
        assert!(!sets.mentions_opt_out("thanks, see you"));
        assert!(!sets.mentions_opt_out(""));
        // A keyword message is classified, not flagged.
        assert!(!sets.mentions_opt_out("STOP"));
        assert!(!sets.mentions_opt_out("opt out"));
    }
}
