//! Whole-word matching, one definition for the checker and the engine: a text splits into
//! case-folded words (letters and digits, with the combining marks of decomposed accents), and
//! a phrase matches where its words occur consecutively. Trigger keywords and opt-out words
//! are matched this way.

/// Letters and digits, and the combining marks of decomposed accented letters ("e" + U+0302).
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Unicode full case folding as far as the standard library reaches: upper- then lowercasing
/// maps ß to "ss" and ﬁ to "fi", and both cases of any letter to the same text.
pub fn fold(word: &str) -> String {
    word.to_uppercase().to_lowercase()
}

/// The case-folded words of a text, in order.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !is_word_char(c))
        .filter(|word| !word.is_empty())
        .map(fold)
        .collect()
}

/// Whether `phrase` (folded words) occurs in `words` as consecutive whole words.
pub fn contains_phrase(words: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && words.windows(phrase.len()).any(|window| window == phrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn words_split_on_anything_but_letters_and_digits() {
        assert_eq!(words("How much?!"), strings(&["how", "much"]));
        assert_eq!(
            words("don't—stop 4ever"),
            strings(&["don", "t", "stop", "4ever"])
        );
        assert!(contains_phrase(
            &words("so how much is it"),
            &words("HOW MUCH")
        ));
        assert!(!contains_phrase(
            &words("how is it, much?"),
            &words("how much")
        ));
        assert!(!contains_phrase(&words("anything"), &[]));
    }
}
