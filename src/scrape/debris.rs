//! Genre debris: lines that scrapers of Vietnamese provincial news (and of the aggregators that
//! translate it) leave in article text. Comment counters, lone "Source" / "Lien source" labels,
//! photo captions ("… Ảnh: M.T", "… - Photo : AT", caption lines ending in " |"), share/print/font
//! widgets and related-article headings are dropped; a "Source : https://…" line becomes the
//! record's `original_url`.
//!
//! A line is judged on its own. Labelled bylines ("Actualités et photos : Kim Tien") are kept for
//! `byline`, even though they mention photos.

use std::sync::LazyLock;

use regex::Regex;

use super::byline;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Keep,
    Drop,
    /// A source attribution naming the original page.
    Source(String),
}

struct Patterns {
    source_url: Regex,
    label: Regex,
    counter: Regex,
    caption: Regex,
    widget: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let re = |s: &str| Regex::new(s).expect("debris pattern compiles");
    Patterns {
        source_url: re(
            r"(?i)^(?:source|sources|nguồn|nguồn tin|lien source|lien d'origine|link gốc|original|original source|source link)\s*:?\s*<?(https?://[^\s<>]+)>?$",
        ),
        label: re(
            r"(?i)^(?:source|sources|nguồn|lien source|link gốc|xem nguồn|lien d'origine|original source|source link|read more|lire la suite|xem thêm|tin liên quan|tin cùng chuyên mục|articles connexes|related articles|related news|related|lire aussi|à lire aussi|voir aussi|share|partager|chia sẻ|print|imprimer|in bài|font size|cỡ chữ|taille de police|back to top|retour en haut)\s*:?$",
        ),
        counter: re(
            r"(?i)^(?:comments?|commentaires?|bình luận|ý kiến|views?|lượt xem|vues?|likes?|j'aime|thích)\s*[:(]?\s*\d+\s*\)?$",
        ),
        caption: re(
            r"(?i)(?:^|[\s.\-–—(|])(?:ảnh|photo|photos|ảnh minh họa|ảnh minh hoạ|ảnh tư liệu|photo d'illustration|illustration|crédit photo|credit|image|clip|video)\s*:\s*[^!?:;]{1,40}\)?\.?$",
        ),
        widget: re(r"(?i)^(?:a\s*[+-]?\s*){2,3}$"),
    }
});

/// Longest line that can be a photo caption; longer ones are paragraphs quoting a credit.
const MAX_CAPTION_CHARS: usize = 400;

pub fn classify(line: &str) -> Line {
    let line = line.trim();
    let p = &*PATTERNS;
    if line.is_empty() {
        return Line::Drop;
    }
    if let Some(c) = p.source_url.captures(line) {
        return Line::Source(c[1].trim_end_matches(['.', ',', ')']).to_string());
    }
    if p.label.is_match(line) || p.counter.is_match(line) || p.widget.is_match(line) {
        return Line::Drop;
    }
    if byline::is_labelled(line) {
        return Line::Keep;
    }
    if line.ends_with('|') {
        return Line::Drop;
    }
    if line.chars().count() <= MAX_CAPTION_CHARS && p.caption.is_match(line) {
        return Line::Drop;
    }
    Line::Keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_genre_debris() {
        let drop = [
            "Comment (0)",
            "Comments (12)",
            "Bình luận (0)",
            "Source",
            "Lien source",
            "Nguồn:",
            "Phó Bí thư Thường trực Tỉnh ủy Lê Văn Dũng phát biểu chỉ đạo tại hội nghị. Ảnh: M.T",
            "Các đại biểu tham dự hội nghị. Ảnh: M.T",
            "Aperçu de la conférence - Photo : AT",
            "Scène de conférence. |",
            "Le président du Comité populaire provincial, Nguyen Van Son, a pris la parole lors de la conférence. |",
            "Chia sẻ",
            "A A A",
            "Tin liên quan",
        ];
        for l in drop {
            assert_eq!(classify(l), Line::Drop, "{l}");
        }
        let keep = [
            "Actualités et photos : Kim Tien",
            "Dieu Thuy-Anh Tuan",
            "Les forces se sont coordonnées pour organiser 611 mobilisations de masse.",
            "Sources proches du dossier ont confirmé l'information.",
            "Le photographe a pris la photo de groupe devant le siège, puis les délégués sont partis.",
        ];
        for l in keep {
            assert_eq!(classify(l), Line::Keep, "{l}");
        }
        assert_eq!(
            classify("Source : https://baoquangtri.vn/cum-thi-dua-so-7-190065.htm"),
            Line::Source("https://baoquangtri.vn/cum-thi-dua-so-7-190065.htm".into())
        );
        assert_eq!(
            classify("Nguồn: https://baoquangnam.vn/a.html"),
            Line::Source("https://baoquangnam.vn/a.html".into())
        );
    }
}
