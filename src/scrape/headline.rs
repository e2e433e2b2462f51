//! The headline: which of the page's headings is the article's, checked against the title the
//! page declares (its metadata title, else `<title>`), with the site's name cut.

use std::sync::LazyLock;

use scraper::{ElementRef, Html, Selector};

use super::html::{nonempty, sel, text_of};

struct Selectors {
    h1: Selector,
    h2: Selector,
    h3: Selector,
    title: Selector,
    declared: Vec<Selector>,
}

static SELECTORS: LazyLock<Selectors> = LazyLock::new(|| Selectors {
    h1: sel("h1"),
    h2: sel("h2"),
    h3: sel("h3"),
    title: sel("title"),
    // The publisher's declared titles, the first present wins: Open Graph (the one news sites
    // keep right: it is what a shared link shows), Dublin Core, Twitter card, Parse.ly,
    // `<meta name=title>`; a `property` may hold several space-separated names.
    declared: [
        r#"meta[property~="og:title"]"#,
        r#"meta[name="og:title"]"#,
        r#"meta[property~="dc:title"]"#,
        r#"meta[name="dc.title" i], meta[name="dcterms.title" i]"#,
        r#"meta[property~="twitter:title"]"#,
        r#"meta[name="twitter:title"]"#,
        r#"meta[name="parsely-title"]"#,
        r#"meta[name="title"]"#,
    ]
    .into_iter()
    .map(sel)
    .collect(),
});

/// Words of a title, folded for comparison.
fn title_words(t: &str) -> Vec<String> {
    t.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// `<title>` or `og:title` without the site's name: "Headline - Zing News | Xã hội" → "Headline".
/// The part cut is after the first separator (" | ", " - ", " – ", " — ", " :: ", " _ ") and must
/// be shorter than what stays, which keeps at least three words.
fn without_site(t: &str) -> String {
    let t = t.trim();
    let cut = [" | ", " - ", " – ", " — ", " :: ", " _ ", " » "]
        .iter()
        .filter_map(|sep| t.find(sep))
        .min();
    match cut {
        Some(i) if title_words(&t[..i]).len() >= 3 && t[i..].chars().count() < t[..i].chars().count() => {
            t[..i].trim().to_string()
        }
        _ => t.to_string(),
    }
}

/// The words of the site's name that `without_site` cuts from a title ("Báo Cần Thơ" of
/// "Headline - Báo Cần Thơ"), if it cuts any.
fn site_words(t: &str) -> Option<Vec<String>> {
    let kept = without_site(t);
    let rest = t.trim()[kept.len()..].trim_start_matches(|c: char| !c.is_alphanumeric());
    let words = title_words(rest);
    (!words.is_empty()).then_some(words)
}

/// The leading parts of a declared title at each separator, of three words or more
/// ("Headline - Photos | Site slogan - Brand" → "Headline", "Headline - Photos", ...).
fn title_heads(t: &str) -> Vec<Vec<String>> {
    let t = t.trim();
    let mut cuts: Vec<usize> = [" | ", " - ", " – ", " — ", " :: ", " _ ", " » "]
        .iter()
        .flat_map(|sep| t.match_indices(sep).map(|(i, _)| i))
        .collect();
    cuts.sort_unstable();
    cuts.into_iter()
        .map(|i| title_words(&t[..i]))
        .filter(|w| w.len() >= 3)
        .collect()
}

/// The metadata title (see `headline`), first present of the declared kinds.
fn declared_meta_title(doc: &Html) -> Option<String> {
    SELECTORS.declared.iter().find_map(|s| {
        doc.select(s).find_map(|m| {
            m.value()
                .attr("content")
                .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
                .and_then(nonempty)
        })
    })
}

/// The headline: a heading (`h1`, `h2`, `h3`) whose words are exactly the declared title's
/// leading part, whatever follows it; else an `h1` (else an `h2`) that agrees with the page's
/// declared title (its metadata title: `og:title`, Dublin Core, Twitter card, Parse.ly, else
/// `<title>`, without the site's name), which a breadcrumb or the site's logo in a heading does
/// not; else the metadata title without the site's name; else `<title>` without the site's name
/// when that leaves a title (three words or more), since a heading that disagrees with it is more
/// often a section's or a sidebar's than the article's; else the first `h1` unless it reads as
/// furniture (a breadcrumb, one or two words). A heading with the same words as the declared
/// title is given as declared: the heading's text carries its markup's typography (a
/// non-breaking space, a line break, curly quotes a template added), the metadata what the
/// newsroom typed.
pub fn headline(doc: &Html, ld_headline: Option<&str>) -> Option<(String, &'static str)> {
    let s = &*SELECTORS;
    let og = declared_meta_title(doc);
    let page_title = doc.select(&s.title).next().map(text_of).and_then(nonempty);
    let headings =
        |sel: &Selector| -> Vec<String> { doc.select(sel).take(8).map(heading_text).filter_map(nonempty).collect() };
    // The article's declared JSON-LD headline, when a heading has its words or the page's
    // declared title says the same (without the site's name): then two of the page's own
    // statements agree on it. Alone it proves little: some sites put a description there.
    if let Some(ld) = ld_headline.map(|t| without_site(&t.split_whitespace().collect::<Vec<_>>().join(" ")))
        && title_words(&ld).len() >= 3
    {
        let want = title_words(&ld);
        let in_heading = [&s.h1, &s.h2, &s.h3]
            .into_iter()
            .any(|sel| headings(sel).iter().any(|h| title_words(h) == want));
        let declared = [og.as_deref(), page_title.as_deref()]
            .into_iter()
            .flatten()
            .any(|t| title_words(&without_site(t)) == want);
        if in_heading || declared {
            return Some((ld, "JSON-LD headline agreeing with a heading or the declared title"));
        }
    }
    // The heading as found, or the declared title when its words are the heading's.
    let as_declared = |h: String| -> String {
        let words = title_words(&h);
        [og.as_deref(), page_title.as_deref()]
            .into_iter()
            .flatten()
            .flat_map(|t| [without_site(t), t.trim().to_string()])
            .find(|t| {
                title_words(t) == words && (t.chars().any(char::is_lowercase) || !h.chars().any(char::is_lowercase))
            })
            .unwrap_or(h)
    };
    let h1s = headings(&s.h1);
    if let Some(t) = og.as_deref().or(page_title.as_deref()) {
        let heads = title_heads(t);
        if !heads.is_empty() {
            for sel in [&s.h1, &s.h2, &s.h3] {
                let found = headings(sel).into_iter().find(|h| heads.contains(&title_words(h)));
                if let Some(h) = found {
                    return Some((as_declared(h), "heading equal to the declared title's first part"));
                }
            }
        }
    }
    let declared = og.as_deref().or(page_title.as_deref()).map(without_site);
    // A heading that is the site's name the declared titles end with is the logo, even when it
    // shares words with the headline (a provincial paper writing about its province).
    let site: Vec<Vec<String>> = [og.as_deref(), page_title.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(site_words)
        .collect();
    if let Some(declared) = &declared {
        let want = title_words(declared);
        // The heading whose words the declared title holds best (at least half of the
        // heading's, two or more): an h1, else an h2.
        let agreeing = |hs: &[String]| {
            hs.iter()
                .map(|h| (h, title_words(h)))
                .filter(|(_, words)| !site.contains(words))
                .map(|(h, words)| {
                    let shared = words.iter().filter(|w| want.contains(w)).count();
                    (h, shared, words.len())
                })
                .filter(|(_, shared, n)| *shared * 2 >= *n && *shared >= 2.min(*n) && *shared > 0)
                .max_by_key(|(_, shared, _)| *shared)
                .map(|(h, _, _)| h.clone())
        };
        if let Some(best) = agreeing(&h1s) {
            return Some((as_declared(best), "h1 agreeing with the declared title"));
        }
        let h2s = headings(&s.h2);
        // An h2 must hold most of the declared title: h2s are also section and box titles.
        let want_n = want.len();
        if let Some(best) = agreeing(&h2s).filter(|h| title_words(h).len() * 3 >= want_n * 2) {
            return Some((as_declared(best), "h2 agreeing with the declared title"));
        }
    }
    if let Some(og) = og {
        return Some((without_site(&og), "the metadata title"));
    }
    if let Some(t) = page_title.as_deref().map(without_site)
        && title_words(&t).len() >= 3
    {
        return Some((t, "<title> without the site name"));
    }
    let furniture = |h: &str| title_words(h).len() <= 2 || h.contains(['>', '»', '›']);
    match h1s.into_iter().next() {
        Some(h) if !furniture(&h) || page_title.is_none() => Some((h, "first h1")),
        _ => page_title.map(|t| (without_site(&t), "<title> without the site name")),
    }
}

/// A heading's text as it reads: its text nodes joined as they stand (inline markup adds no
/// space: "<em>Metroid</em>, One"), whitespace collapsed, and a trailing permalink mark ("¶",
/// "#", "§", "🔗") dropped.
fn heading_text(el: ElementRef<'_>) -> String {
    let raw: String = el.text().collect();
    let t = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    t.trim_end_matches(|c: char| matches!(c, '¶' | '#' | '§' | '🔗') || c.is_whitespace())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headline_is_the_h1_that_agrees_with_the_declared_title() {
        let t = |html: &str| headline(&Html::parse_document(html), None).map(|(t, _)| t);
        assert_eq!(
            t(r#"<title>Cần Thơ khánh thành cầu mới - Báo Cần Thơ</title><h1>THỜI SỰ > Cần Thơ</h1><h1>Cần Thơ khánh thành cầu mới</h1>"#)
                .as_deref(),
            Some("Cần Thơ khánh thành cầu mới")
        );
        // The paper's name in an h1 shares words with a headline about its province.
        assert_eq!(
            t(r#"<title>Cần Thơ khánh thành cầu mới - Báo Cần Thơ</title><h1>Báo Cần Thơ</h1>"#).as_deref(),
            Some("Cần Thơ khánh thành cầu mới")
        );
        assert_eq!(
            t(r#"<title>Mưa lớn gây ngập nhiều tuyến phố - Zing News | Xã hội</title><h1>Zing News</h1>"#).as_deref(),
            Some("Mưa lớn gây ngập nhiều tuyến phố")
        );
        assert_eq!(t("<h1>Only a headline</h1>").as_deref(), Some("Only a headline"));
        // A logo heading agreeing with the title's slogan loses to the heading that is exactly
        // the title's first part, even an h3.
        assert_eq!(
            t(r#"<title>Những người khổ hạnh vì bớt lạ - Ảnh | Trang thông tin dành cho giới trẻ - VnExpress iOne</title>
                <h1 id="logo"><a title="x">Trang thông tin dành cho giới trẻ - VnExpress iOne</a></h1>
                <h3 class="Title">Những người khổ hạnh vì bớt lạ</h3>"#)
            .as_deref(),
            Some("Những người khổ hạnh vì bớt lạ")
        );
    }

    #[test]
    fn the_declared_title_is_any_metadata_title_and_keeps_its_typing() {
        let t = |html: &str| headline(&Html::parse_document(html), None).map(|(t, _)| t);
        // No og:title: Dublin Core, the Twitter card or Parse.ly declare the title, and a
        // heading that shares none of its words is not the article's.
        assert_eq!(
            t(r#"<meta name="parsely-title" content="Tỉnh khởi công tuyến đường ven biển"><h1>Tin mới nhất</h1>"#)
                .as_deref(),
            Some("Tỉnh khởi công tuyến đường ven biển")
        );
        assert_eq!(
            t(r#"<meta property="twitter:title dc:title" content="Hội nghị sơ kết năm năm"><meta name="title" content="Khác hẳn"><h1>Bản tin</h1>"#)
                .as_deref(),
            Some("Hội nghị sơ kết năm năm")
        );
        // The heading with the declared title's words is given as the newsroom typed it, not
        // with the template's curly quotes and non-breaking space; a shouted one is not.
        assert_eq!(
            t("<meta property=\"og:title\" content=\"'Star Wars' cuts may be released\"><h1>\u{2018}Star Wars\u{2019} cuts may be\u{a0}released</h1>")
                .as_deref(),
            Some("'Star Wars' cuts may be released")
        );
        assert_eq!(
            t(r#"<meta property="og:title" content="BÃO SỐ 3 ĐỔ BỘ"><h1>Bão số 3 đổ bộ</h1>"#).as_deref(),
            Some("Bão số 3 đổ bộ")
        );
    }

    #[test]
    fn a_json_ld_headline_counts_when_the_page_says_it_twice() {
        let t = |html: &str, ld: &str| headline(&Html::parse_document(html), Some(ld)).map(|(t, _)| t);
        // The social title differs; the JSON-LD headline is the printed heading.
        assert_eq!(
            t(
                r#"<meta property="og:title" content="Ai cũng biết lá bài này nhờ ba người"><h1>Bộ bài đưa tarot đi khắp thế giới</h1>"#,
                "Bộ bài đưa tarot đi khắp thế giới"
            )
            .as_deref(),
            Some("Bộ bài đưa tarot đi khắp thế giới")
        );
        // The JSON-LD headline and <title> (without the site) agree against a display heading.
        assert_eq!(
            t(
                r#"<title>Cách xem 21 phim hay nhất năm 2017 - Báo Tỉnh</title><meta property="og:title" content="21 phim hay nhất năm 2017"><h1>21 phim hay nhất năm 2017</h1>"#,
                "Cách xem 21 phim hay nhất năm 2017"
            )
            .as_deref(),
            Some("Cách xem 21 phim hay nhất năm 2017")
        );
        // A description in the headline field, said nowhere else, is not the title.
        assert_eq!(
            t(
                r#"<title>New Zealand - Wikipedia</title><h1>New Zealand</h1>"#,
                "constitutional monarchy in Oceania"
            )
            .as_deref(),
            Some("New Zealand")
        );
    }
}
