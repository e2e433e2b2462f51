//! Trailing bylines: "Actualités et photos : Kim Tien", "Bài và ảnh: Minh Anh", or a bare line of
//! names such as "Dieu Thuy-Anh Tuan" (two reporters, "Diệu Thùy" and "Anh Tuấn", as Vietnamese
//! papers join them). They move from the body to `authors`; nothing else in the text is touched.

use std::sync::LazyLock;

use regex::Regex;

static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:actualités? et photos?|texte et photos?|texte|textes|photos?|bài và ảnh|bài, ảnh|bài - ảnh|tin và ảnh|tin, ảnh|tin - ảnh|bài|tin|ảnh|story and photos|text and photos|words and photos|reported by|written by|auteurs?|authors?|tác giả|phóng viên|reporter|by|par)\s*:\s*(.{2,80})$",
    )
    .expect("byline pattern compiles")
});

static BY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:By|Par)\s+(\p{Lu}.{1,60})$").expect("by pattern compiles"));

/// Most lines at the end of an article that can be bylines (names, then "text and photos").
const MAX_BYLINE_LINES: usize = 2;

pub fn is_labelled(line: &str) -> bool {
    LABELLED.is_match(line.trim())
}

/// Removes trailing byline lines from `lines` and returns the names they held, in order.
pub fn take_trailing(lines: &mut Vec<String>) -> Vec<String> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    for _ in 0..MAX_BYLINE_LINES {
        // Keep at least one line of body.
        if lines.len() < 2 {
            break;
        }
        let Some(last) = lines.last() else { break };
        let last = last.trim();
        let names = if let Some(c) = LABELLED.captures(last).or_else(|| BY.captures(last)) {
            split_names(&c[1])
        } else if is_name_line(last) {
            split_names(last)
        } else {
            break;
        };
        if names.is_empty() {
            break;
        }
        groups.push(names);
        lines.pop();
    }
    groups.into_iter().rev().flatten().collect()
}

/// A short line of capitalised words with no sentence punctuation or digits.
fn is_name_line(line: &str) -> bool {
    if line.chars().count() > 60 || line.chars().any(|c| c.is_ascii_digit() || ".!?;:,«»\"()[]".contains(c)) {
        return false;
    }
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == '-' || c == '–')
        .filter(|w| !w.is_empty())
        .collect();
    (2..=8).contains(&words.len()) && words.iter().all(|w| w.chars().next().is_some_and(char::is_uppercase))
}

fn word_count(s: &str) -> usize {
    s.split_whitespace().count()
}

/// "Kim Tien" → ["Kim Tien"]; "Dieu Thuy-Anh Tuan" → ["Dieu Thuy", "Anh Tuan"];
/// "Jean-Pierre Martin" stays one name (a hyphen splits only between multi-word names).
fn split_names(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let s = s.trim().trim_end_matches('.');
    for part in s
        .split([',', ';', '&', '/'])
        .flat_map(|p| p.split(" et "))
        .flat_map(|p| p.split(" và "))
        .flat_map(|p| p.split(" and "))
    {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let pieces: Vec<&str> = part.split(['-', '–']).map(str::trim).collect();
        if pieces.len() > 1 && pieces.iter().all(|p| word_count(p) >= 2) {
            out.extend(pieces.into_iter().map(str::to_string));
        } else {
            out.push(part.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(lines: &[&str]) -> (Vec<String>, Vec<String>) {
        let mut v: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        let authors = take_trailing(&mut v);
        (v, authors)
    }

    #[test]
    fn moves_trailing_bylines_to_authors() {
        let (body, authors) = take(&["Un paragraphe.", "Actualités et photos : Kim Tien"]);
        assert_eq!(body, vec!["Un paragraphe."]);
        assert_eq!(authors, vec!["Kim Tien"]);

        let (_, authors) = take(&["Un paragraphe.", "Dieu Thuy-Anh Tuan"]);
        assert_eq!(authors, vec!["Dieu Thuy", "Anh Tuan"]);

        let (_, authors) = take(&["A paragraph.", "By Jean-Pierre Martin"]);
        assert_eq!(authors, vec!["Jean-Pierre Martin"]);

        let (_, authors) = take(&["Đoạn văn.", "Bài và ảnh: Minh Anh, Quốc Tuấn"]);
        assert_eq!(authors, vec!["Minh Anh", "Quốc Tuấn"]);
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let (body, authors) = take(&["Un paragraphe.", "Le taux d'enquête est supérieur à 80 %."]);
        assert_eq!(body.len(), 2);
        assert!(authors.is_empty());
        // A lone line is the body, never a byline.
        let (body, authors) = take(&["Kim Tien"]);
        assert_eq!(body, vec!["Kim Tien"]);
        assert!(authors.is_empty());
    }
}
