//! Name features: bigrams of consecutive capitalised words, folded ("Lê Văn Dũng" → "van dung"
//! once the run's leading stopword is dropped), which machine translation copies without
//! diacritics. Pure.

use super::fingerprint::Class;
use super::normalize::{fold, is_letter};

/// Words that start a sentence or a title in fr/en/vi and so are capitalised without being names.
/// Compared after folding, so Vietnamese "Lê" (a surname) drops at a run's start in both languages
/// alike and the remaining words still match.
const RUN_STOPWORDS: &[&str] = &[
    "le",
    "la",
    "les",
    "l",
    "l'",
    "the",
    "a",
    "an",
    "un",
    "une",
    "des",
    "du",
    "de",
    "d",
    "en",
    "dans",
    "selon",
    "lors",
    "ce",
    "cet",
    "cette",
    "ces",
    "il",
    "elle",
    "ils",
    "elles",
    "in",
    "on",
    "at",
    "for",
    "of",
    "to",
    "by",
    "et",
    "and",
    "cac",
    "nhung",
    "cua",
    "tai",
    "theo",
    "trong",
    "voi",
    "sang",
    "chieu",
    "toi",
    "ong",
    "ba",
    "mr",
    "mrs",
    "ms",
    "m",
    "mme",
    "camarade",
    "camarades",
    "comrade",
    "comrades",
    "au",
    "aux",
    "par",
    "pour",
    "sur",
    "avec",
    // German, Spanish, Portuguese, Italian, Dutch and Malay articles and prepositions that open a
    // sentence. Words that fold to a Vietnamese name syllable ("van", "do", "da", "den", "dan")
    // stay out: dropping them would cut names.
    "der",
    "die",
    "das",
    "dem",
    "ein",
    "eine",
    "im",
    "el",
    "los",
    "las",
    "del",
    "al",
    "os",
    "il",
    "lo",
    "gli",
    "nel",
    "della",
    "het",
    "een",
    "op",
    "pada",
    "yang",
];

/// Bigrams of consecutive capitalised words ("Le Van Dung" → "van dung" after the run's leading
/// stopword): names and places, which machine translation copies without diacritics.
pub(super) fn names(text: &str, emit: &mut dyn FnMut(Class, &str, usize)) {
    // The run's folded words, each with the byte where it starts.
    let mut run: Vec<(String, usize)> = Vec::new();
    let mut pair = String::new();
    let mut flush = |run: &mut Vec<(String, usize)>, emit: &mut dyn FnMut(Class, &str, usize)| {
        let start = run.iter().take_while(|w| RUN_STOPWORDS.contains(&w.0.as_str())).count();
        let words = &run[start..];
        for w in words.windows(2) {
            pair.clear();
            pair.push_str(&w[0].0);
            pair.push(' ');
            pair.push_str(&w[1].0);
            emit(Class::Name, &pair, w[0].1);
        }
        run.clear();
    };
    // A hand scan over words (letters, marks, inner apostrophes and hyphens), tracking whether
    // only spaces separate a word from the previous one.
    let is_word = is_letter;
    let mut rest = text;
    let mut joined = false;
    while !rest.is_empty() {
        let Some(start) = rest.find(is_word) else { break };
        let gap = &rest[..start];
        if !gap.chars().all(|c| c == ' ' || c == '\u{00A0}') {
            joined = false;
        }
        let tail = &rest[start..];
        let at = text.len() - tail.len();
        let len = tail
            .find(|c: char| !(is_word(c) || c == '\'' || c == '’' || c == '-'))
            .unwrap_or(tail.len());
        let w = &tail[..len];
        rest = &tail[len..];
        let capitalised = w.chars().next().is_some_and(char::is_uppercase);
        let acronym = w.chars().filter(|&c| is_letter(c)).count() >= 2 && w.chars().all(|c| !c.is_lowercase());
        if !joined || !capitalised || acronym {
            flush(&mut run, emit);
        }
        if capitalised && !acronym {
            run.push((fold(w), at));
        }
        joined = true;
    }
    flush(&mut run, emit);
}
