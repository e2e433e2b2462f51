//! The lead (sapo, standfirst, chapeau) when a page sets it apart from the body: news sites put
//! the summary paragraph in its own `h2`, `p` or `div` (classes such as `sapo`, `detail-sapo`,
//! `article__sapo`, `description`, `standfirst`) between the headline and the body, where a body
//! scorer that picks one container misses it. It belongs to the article as its first paragraph.
//!
//! A lead is an element named as one by a class or id word, or an `h2` right after the headline,
//! that comes after the headline and before the body, outside the body, holds sentence-length
//! text and is not a link (other articles' summaries in lists are links). The press of Vietnam and
//! France writes the lead as the article's first paragraph (sapo, chapeau), often opening on the
//! outlet's tag ("(Dân trí) -", "BHG -"); English-language sites set a dek or standfirst apart as a
//! summary that is not part of the text. So an element named `sapo` or `chapeau`, or a lead opening
//! on an outlet tag, is a lead on any page; other lead words and the `h2` after the headline count
//! on Vietnamese and French pages only. Pure.

use ego_tree::NodeId;
use scraper::{ElementRef, Html};

/// Class or id words that name the lead paragraph itself, on any page.
const LEAD_WORDS: &[&str] = &["sapo", "chapeau", "chapo"];

/// Class or id words that name a lead or a summary: the lead on Vietnamese and French pages.
const WORDS: &[&str] = &[
    "lead",
    "summary",
    "description",
    "desc",
    "standfirst",
    "chapeau",
    "excerpt",
    "intro",
    "teaser",
    "abstract",
    "subtitle",
];

/// Shortest and longest lead, in characters.
const MIN_CHARS: usize = 40;
const MAX_CHARS: usize = 900;

/// How strongly the element's class or id names a lead: 2 for the lead paragraph itself, 1 for a
/// lead or summary, 0 for neither.
fn lead_words(el: ElementRef<'_>) -> u8 {
    let v = el.value();
    let words = v
        .attr("class")
        .into_iter()
        .chain(v.attr("id"))
        .flat_map(|s| s.split(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase);
    let mut best = 0;
    for w in words {
        if LEAD_WORDS.iter().any(|l| w == *l || w.ends_with(l)) {
            return 2;
        }
        if WORDS.contains(&w.as_str()) {
            best = 1;
        }
    }
    best
}

/// Whether the text opens on an outlet's tag and a dash: "(Dân trí) -", "(NLĐO) –", "BHG -",
/// "(Chinhphu.vn) -", "TTXVN -".
fn opens_on_outlet_tag(t: &str) -> bool {
    let Some(dash) = t
        .char_indices()
        .take(32)
        .find(|(_, c)| matches!(c, '-' | '–' | '—'))
        .map(|(i, _)| i)
    else {
        return false;
    };
    let tag = t[..dash].trim();
    let inner = tag.strip_prefix('(').and_then(|x| x.strip_suffix(')'));
    match inner {
        Some(name) => {
            !name.is_empty() && name.chars().count() <= 24 && name.chars().next().is_some_and(char::is_uppercase)
        }
        None => {
            // Unbracketed, the tag is an acronym: "BHG", "TTXVN".
            (2..=8).contains(&tag.chars().count()) && tag.chars().all(|c| c.is_uppercase())
        }
    }
}

fn text(el: ElementRef<'_>) -> String {
    el.text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `el` sits in page furniture: a list item, navigation, an aside or a footer, or a link.
fn in_furniture(el: ElementRef<'_>) -> bool {
    std::iter::once(el)
        .chain(el.ancestors().filter_map(ElementRef::wrap))
        .any(|a| matches!(a.value().name(), "a" | "li" | "nav" | "aside" | "footer" | "marquee"))
}

fn link_share(el: ElementRef<'_>, len: usize) -> f32 {
    let linked: usize = el
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|d| d.value().name() == "a")
        .map(|a| text(a).chars().count())
        .sum();
    linked as f32 / len.max(1) as f32
}

/// The lead's text, if the page sets one apart before `body` (the first body container) and after
/// `headline` (the `h1`, when there is one).
pub fn find(
    doc: &Html,
    body: Option<NodeId>,
    headline: Option<NodeId>,
    title: Option<&str>,
    lead_culture: bool,
) -> Option<String> {
    let body = body?;
    // Document order, walked once: a lead lies between the headline and the body.
    let mut after_headline = headline.is_none();
    let mut best: Option<String> = None;
    let mut prev_was_headline = false;
    for node in doc.tree.root().descendants() {
        if node.id() == body {
            break;
        }
        let Some(el) = ElementRef::wrap(node) else { continue };
        if Some(node.id()) == headline {
            after_headline = true;
            prev_was_headline = true;
            continue;
        }
        if !after_headline {
            continue;
        }
        let tag = el.value().name();
        let follows_headline = prev_was_headline && tag == "h2";
        // An element with no text (a like button, an empty ad slot) does not part the headline
        // from an h2 after it.
        if (matches!(tag, "div" | "p" | "h2" | "h3" | "span" | "section" | "header")
            && el.text().any(|t| !t.trim().is_empty()))
            || follows_headline
        {
            prev_was_headline = false;
        }
        let words = lead_words(el);
        if !(words > 0 || follows_headline) || !matches!(tag, "p" | "div" | "h2" | "h3" | "span" | "strong" | "b") {
            continue;
        }
        if el.ancestors().any(|a| a.id() == body) || in_furniture(el) {
            continue;
        }
        let t = text(el);
        let len = t.chars().count();
        if !(MIN_CHARS..=MAX_CHARS).contains(&len) || link_share(el, len) > 0.3 || title == Some(t.as_str()) {
            continue;
        }
        if words < 2 && !lead_culture && !opens_on_outlet_tag(&t) {
            continue;
        }
        best = Some(t);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Selector;

    fn lead_of(page: &str) -> Option<String> {
        let doc = Html::parse_document(page);
        let body = doc.select(&Selector::parse("div.body").unwrap()).next().map(|e| e.id());
        let h1 = doc.select(&Selector::parse("h1").unwrap()).next().map(|e| e.id());
        find(&doc, body, h1, Some("Tiêu đề"), true)
    }

    #[test]
    fn an_english_dek_is_not_the_lead_but_a_tagged_lead_is() {
        let doc = |page: &str| Html::parse_document(page);
        let at = |d: &Html, s: &str| d.select(&Selector::parse(s).unwrap()).next().map(|e| e.id());
        let dek = doc(
            r#"<h1>Headline</h1><h2 class="dek">There is an impeachment lesson hiding in the failure to produce results.</h2><div class="body"><p>Body.</p></div>"#,
        );
        assert_eq!(find(&dek, at(&dek, "div.body"), at(&dek, "h1"), None, false), None);
        let tagged = doc(
            r#"<h1>Headline</h1><p class="summary">(VNA) - Police in the province seized 14 cakes of heroin on the morning of March 7.</p><div class="body"><p>Body.</p></div>"#,
        );
        assert!(find(&tagged, at(&tagged, "div.body"), at(&tagged, "h1"), None, false).is_some());
        assert!(opens_on_outlet_tag("(Dân trí) - Sáng 7/3"));
        assert!(opens_on_outlet_tag("BHG - Ngày 27/12"));
        assert!(!opens_on_outlet_tag(
            "Twenty teams have punched tickets - for next summer"
        ));
    }

    #[test]
    fn a_sapo_between_headline_and_body_is_the_lead() {
        for page in [
            r#"<h1>Tiêu đề</h1><h2 class="detail-sapo">(Dân trí) - Sáng 7/3, Công an tỉnh đã bắt giữ hai đối tượng vận chuyển 14 bánh heroin.</h2><div class="body"><p>Thân bài.</p></div>"#,
            r#"<h1>Tiêu đề</h1><div class="article__sapo"><p>(NLĐO) - Sáng 7/3, Công an tỉnh đã bắt giữ hai đối tượng vận chuyển 14 bánh heroin.</p></div><div class="body"><p>Thân bài.</p></div>"#,
            r#"<h1>Tiêu đề</h1><h2>Sáng 7/3, Công an tỉnh đã bắt giữ hai đối tượng vận chuyển 14 bánh heroin qua biên giới.</h2><div class="body"><p>Thân bài.</p></div>"#,
            // A like button between them.
            r#"<h1>Tiêu đề</h1><div id="like-facebook"><iframe src="/like"></iframe></div><h2 class="fon33">Sáng 7/3, Công an tỉnh đã bắt giữ hai đối tượng vận chuyển 14 bánh heroin qua biên giới.</h2><div class="body"><p>Thân bài.</p></div>"#,
        ] {
            let lead = lead_of(page).unwrap_or_else(|| panic!("no lead in {page}"));
            assert!(lead.contains("14 bánh heroin"), "{lead}");
        }
    }

    #[test]
    fn other_articles_summaries_and_short_labels_are_not_leads() {
        for page in [
            // A summary of another article in a list of links.
            r#"<h1>Tiêu đề</h1><ul><li><p class="sapo"><a href="/x">Một bài khác về chủ đề khác, đủ dài để trông như một đoạn dẫn.</a></p></li></ul><div class="body"><p>Thân bài.</p></div>"#,
            // Before the headline: page furniture.
            r#"<div class="description">Trang tin tức tổng hợp của tỉnh, cập nhật tin mới nhất mỗi ngày.</div><h1>Tiêu đề</h1><div class="body"><p>Thân bài.</p></div>"#,
            // Too short to be a lead.
            r#"<h1>Tiêu đề</h1><div class="sapo">Thời sự</div><div class="body"><p>Thân bài.</p></div>"#,
        ] {
            assert_eq!(lead_of(page), None, "{page}");
        }
    }
}
