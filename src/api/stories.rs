//! The story pages, from the decision log: `/stories` lists stories newest first (filters
//! `source`, `lang`, `from`, `to` as `YYYY-MM-DD`, and `q`, a full-text search over titles and
//! bodies through SQLite FTS5), and `/stories/<id>` shows every member side by side (language,
//! title, lead, source, link, relation, the canonical member marked) with, for each join, the
//! evidence in plain words: the facts shared, the event day, the score against the threshold.
//!
//! Same rules as the status page: server-rendered, inline CSS, no script, no external asset, and
//! everything that came from a page is escaped (`page::escape`); only http(s) locations link.

use std::fmt::Write;

use super::page::{STYLE, escape};
use crate::explain::{Entry, compare};
use crate::state::StoryFilter;

/// Stories a list page shows at most.
pub const LIST_LIMIT: usize = 50;

fn head(h: &mut String, title: &str) {
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}.lead{{margin:.3em 0}}.why{{background:#f3f6fa;border-radius:4px;padding:.3em .5em;margin-top:.3em}}\
         form input{{margin-right:.4em}}</style></head><body><p><a href=\"/\">status</a> · <a href=\"/stories\">stories</a></p>",
        escape(title)
    );
}

fn title_of(e: &Entry) -> &str {
    e.extraction
        .as_ref()
        .and_then(|x| x.title.as_deref())
        .unwrap_or("(no title)")
}

fn lang_of(e: &Entry) -> &'static str {
    e.extraction.as_ref().and_then(|x| x.lang).map_or("?", |l| l.code())
}

fn relation_of(e: &Entry) -> &str {
    e.fold.as_ref().map_or("?", |f| f.relation.as_str())
}

/// The canonical member: the latest decided as the original (a page in a preferred language
/// becomes canonical after the first), else the first decided.
fn canonical(members: &[Entry]) -> Option<&Entry> {
    members
        .iter()
        .rev()
        .find(|e| relation_of(e) == "original")
        .or(members.first())
}

/// A member's relation as the page shows it: one decided as the original that is no longer
/// canonical was displaced by a later member.
fn shown_relation(e: &Entry, is_canonical: bool) -> &str {
    match relation_of(e) {
        "original" if !is_canonical => "original when decided, no longer canonical",
        r => r,
    }
}

fn link(e: &Entry) -> String {
    let l = &e.input.location;
    if l.starts_with("https://") || l.starts_with("http://") {
        format!("<a href=\"{}\">{}</a>", escape(l), escape(title_of(e)))
    } else {
        format!("{} <span class=\"muted\">{}</span>", escape(title_of(e)), escape(l))
    }
}

/// `/stories`.
pub fn list(stories: &[(String, Vec<Entry>)], filter: &StoryFilter) -> String {
    let mut h = String::with_capacity(16 * 1024);
    head(&mut h, "newsfold stories");
    h.push_str("<h1>Stories</h1>");
    let v = |o: &Option<String>| escape(o.as_deref().unwrap_or(""));
    let _ = write!(
        h,
        "<form method=\"get\" action=\"/stories\"><input name=\"q\" placeholder=\"search titles and bodies\" value=\"{}\">\
         <input name=\"source\" placeholder=\"source\" value=\"{}\"><input name=\"lang\" placeholder=\"lang\" size=\"4\" value=\"{}\">\
         <input name=\"from\" placeholder=\"from YYYY-MM-DD\" size=\"12\" value=\"{}\"><input name=\"to\" placeholder=\"to YYYY-MM-DD\" size=\"12\" value=\"{}\">\
         <button>filter</button></form>",
        v(&filter.text),
        v(&filter.source),
        v(&filter.lang),
        v(&filter.from),
        v(&filter.to)
    );
    if stories.is_empty() {
        h.push_str("<p class=\"muted\">No story matches.</p>");
    }
    h.push_str("<table><tr><th>story</th><th>members</th><th>languages</th><th>last decided</th></tr>");
    for (id, members) in stories {
        let Some(c) = canonical(members) else { continue };
        let mut langs: Vec<&str> = members.iter().map(lang_of).collect();
        langs.sort_unstable();
        langs.dedup();
        let last = members.iter().map(|e| e.at).max().unwrap_or(c.at);
        let _ = write!(
            h,
            "<tr data-story=\"{id}\"><td><a href=\"/stories/{id}\">{}</a></td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(title_of(c)),
            members.len(),
            langs.join(" "),
            last.format("%Y-%m-%d %H:%M UTC"),
            id = escape(id)
        );
    }
    h.push_str("</table></body></html>\n");
    h
}

/// The evidence that joined `member` to `canonical`, in plain words.
pub fn evidence(member: &Entry, canonical: &Entry) -> String {
    let Some(c) = compare(member, canonical) else {
        return "no decision recorded".into();
    };
    let specific: Vec<&str> = c
        .shared
        .iter()
        .filter(|f| matches!(f.class.as_str(), "code" | "num_large" | "num_decimal" | "name"))
        .map(|f| f.text.as_str())
        .take(10)
        .collect();
    let day = c
        .shared
        .iter()
        .find(|f| f.class == "date_day_month")
        .map(|f| f.text.as_str());
    let mut words = Vec::new();
    words.push(if specific.is_empty() {
        "shares no specific fact".to_string()
    } else {
        format!("shares {}", specific.join(", "))
    });
    if let Some(d) = day {
        words.push(format!("event day {d} on both"));
    }
    let f = member.fold.as_ref();
    match (f.and_then(|f| f.score), f.map(|f| f.relation.as_str())) {
        (Some(s), Some("translation")) => words.push(format!("score {s:.2} over {:.2}", c.min_score)),
        (Some(s), Some(rel)) => words.push(format!("{rel}, similarity {s:.2}")),
        (None, Some(rel)) => words.push(rel.to_string()),
        _ => {}
    }
    words.join("; ")
}

/// `/stories/<id>`.
pub fn story(id: &str, members: &[Entry]) -> String {
    let mut h = String::with_capacity(16 * 1024);
    head(&mut h, &format!("story {id}"));
    let _ = write!(h, "<h1>Story {}</h1>", escape(id));
    let Some(c) = canonical(members) else {
        h.push_str("<p class=\"muted\">This story is not in the decision log (never decided here, or it has left the fold window).</p></body></html>\n");
        return h;
    };
    let event = c.fold.as_ref().map_or("", |f| f.event_id.as_str());
    let _ = write!(
        h,
        "<p class=\"muted\">{} member(s) · event {}</p><section class=\"story\" data-story=\"{}\"><div class=\"members\">",
        members.len(),
        escape(event),
        escape(id)
    );
    for m in members {
        let is_canonical = std::ptr::eq(m, c);
        let lang = lang_of(m);
        let lead = m.extraction.as_ref().map_or("", |x| x.lead.as_str());
        let record = m.record_id().unwrap_or("");
        let _ = write!(
            h,
            "<article class=\"member{}\" data-record=\"{}\" data-lang=\"{lang}\" data-relation=\"{}\">\
             <span class=\"lang\">{lang}</span>{}{}<p class=\"lead\">{}</p><div class=\"muted\">{} · {} · decided {}</div>",
            if is_canonical { " canonical" } else { "" },
            escape(record),
            escape(relation_of(m)),
            if is_canonical { "<b>canonical</b> " } else { "" },
            link(m),
            escape(lead),
            escape(&m.input.source),
            escape(shown_relation(m, is_canonical)),
            m.at.format("%Y-%m-%d %H:%M UTC")
        );
        if !is_canonical {
            let _ = write!(h, "<div class=\"why\">{}</div>", escape(&evidence(m, c)));
        }
        h.push_str("</article>");
    }
    h.push_str("</div></section></body></html>\n");
    h
}

/// A query string's filter.
pub fn filter(query: Option<&str>) -> StoryFilter {
    let mut f = StoryFilter::default();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let v = Some(v.chars().take(200).collect::<String>());
        match &*k {
            "source" => f.source = v,
            "lang" => f.lang = v,
            "from" => f.from = v,
            "to" => f.to = v,
            "q" => f.text = v,
            _ => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_reads_its_keys_and_ignores_blanks() {
        let f = filter(Some("q=ma+t%C3%BAy&source=&lang=vi&from=2024-01-01&x=1"));
        assert_eq!(f.text.as_deref(), Some("ma túy"));
        assert_eq!(f.lang.as_deref(), Some("vi"));
        assert_eq!(f.from.as_deref(), Some("2024-01-01"));
        assert_eq!(f.source, None);
    }

    #[test]
    fn what_came_from_a_page_is_escaped() {
        let mut e = Entry::refused("s<x>", "https://e.vn/\"><script>", "source", "robots", "r");
        e.refused = None;
        let page = story("abc", &[e]);
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;x&gt;"), "{page}");
    }
}
