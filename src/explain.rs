//! The decision log: what newsfold decided about each input and why, as it decided it, and its
//! rendering for `newsfold explain`.
//!
//! An `Entry` is written to the state store's `decisions` table in the same transaction as the
//! fold index change it explains (`StateStore::commit_folds`), or, for an input that never became a
//! record, when it was refused (`StateStore::log_refusal`). The log is bounded like the fold
//! index: a record's entry goes when its document is evicted, and refusals keep the latest
//! `max_docs`. The JSON form is `schema/decision-v1.json`; `--json` prints it as stored.
//!
//! Pure: entries are built from what the stages already hold, and rendered to text here; the CLI
//! does the lookups.

use serde::{Deserialize, Serialize};

use crate::fold::fingerprint::{Class, explain};
use crate::model::{Lang, Record};
use crate::scrape::stage::Scraped;

pub const SCHEMA: &str = "newsfold.decision.v1";

/// Features kept per entry, most specific classes first: enough to say why two pages joined.
const MAX_FEATURES: usize = 24;

/// One input's path through newsfold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub schema: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub input: Input,
    /// What extraction found; absent when the input was refused before scraping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extraction: Option<Extraction>,
    /// The fold's decision; absent for a refused input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<FoldDecision>,
    /// Why the input never became a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refused>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub source: String,
    /// The input's key in its source (a relative path or a normalised URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    /// The charset the server declared (HTTP `Content-Type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_charset: Option<String>,
    /// How an HTTP source found and fetched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch: Option<crate::model::FetchTrail>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    /// The encoding the bytes were read with, and why.
    pub charset: String,
    pub charset_why: String,
    pub replaced_bytes: usize,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub published_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub lang: Option<Lang>,
    pub lang_confidence: f64,
    pub paragraphs: usize,
    pub body_chars: usize,
    /// The first paragraph, cut at 300 characters.
    pub lead: String,
    #[serde(default)]
    pub canonical_url: Option<String>,
    #[serde(default)]
    pub original_url: Option<String>,
    #[serde(default)]
    pub alternates: Vec<String>,
    /// Where each field came from and what cleaning removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// `scrape::Provenance` as logged: an empty string is a field not found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub title: String,
    pub date: String,
    pub authors: String,
    pub body: String,
    pub lead: String,
    /// The first lines removed, with why.
    #[serde(default)]
    pub removed: Vec<Removed>,
    pub removed_count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Removed {
    pub why: String,
    pub text: String,
}

impl Provenance {
    pub fn of(p: &crate::scrape::Provenance) -> Provenance {
        Provenance {
            title: p.title.into(),
            date: p.date.into(),
            authors: p.authors.into(),
            body: p.body.into(),
            lead: p.lead.into(),
            removed: p
                .dropped
                .iter()
                .map(|(why, text)| Removed {
                    why: (*why).into(),
                    text: text.clone(),
                })
                .collect(),
            removed_count: p.dropped_count,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldDecision {
    pub record_id: String,
    pub story_id: String,
    pub event_id: String,
    pub relation: String,
    #[serde(default)]
    pub duplicate_of: Option<String>,
    /// The score behind a `near_duplicate` (Jaccard) or `translation` (fingerprint) decision.
    #[serde(default)]
    pub score: Option<f32>,
    /// The threshold a fingerprint score had to reach (`[fold] min_score`).
    pub min_score: f64,
    /// The indexed record whose event a new story was linked to.
    #[serde(default)]
    pub event_via: Option<String>,
    /// Story updates this page caused: `story_update`, `story_merge`, `event_link`.
    #[serde(default)]
    pub updates: Vec<String>,
    /// The candidates the fingerprint found, best first, and the test that settled each.
    #[serde(default)]
    pub considered: Vec<Candidate>,
    /// The page's specific features (class, canonical text), as the fingerprint reads them.
    #[serde(default)]
    pub features: Vec<Feature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub record_id: String,
    pub score: f32,
    pub verdict: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub class: String,
    pub text: String,
    /// How many indexed documents carried it when the page was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub df: Option<u32>,
    /// Its rarity weight then (class prior × smoothed inverse document frequency); absent for a
    /// feature the fingerprint did not keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f32>,
}

impl Feature {
    fn same(&self, other: &Feature) -> bool {
        self.class == other.class && self.text == other.text
    }

    fn shown(&self) -> String {
        match self.weight {
            Some(w) => format!("{} {} (weight {w:.2})", self.class, self.text),
            None => format!("{} {}", self.class, self.text),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refused {
    /// Where it stopped: `source` (reading or fetching) or `scrape`.
    pub stage: String,
    /// The failure kind, as counted (`robots`, `off_site`, `no_text`…).
    pub kind: String,
    pub reason: String,
}

/// How much a class says about which article a page is: the order `features` are kept in.
fn specificity(c: Class) -> u8 {
    match c {
        Class::Code => 0,
        Class::NumLarge | Class::NumDecimal => 1,
        Class::Name => 2,
        Class::DateFull | Class::DateDayMonth | Class::DateMonthYear => 3,
        Class::NumMid => 4,
        Class::DateRef => 5,
        Class::NumYear => 6,
        Class::NumSmall => 7,
    }
}

/// A class's name in entries and text ("code", "num_large"…).
pub fn class_name(c: Class) -> String {
    let debug = format!("{c:?}");
    let mut out = String::with_capacity(debug.len() + 2);
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

/// Bytes of a body the features are read from: the facts a join rests on are in its first part.
const FEATURES_FROM: usize = 4_000;

/// The distinct features of a text's first `FEATURES_FROM` bytes, most specific first, at most
/// `MAX_FEATURES`, each with its weight in `rarity` (the index's view when the page was decided).
pub fn features_of(text: &str, lang: Option<Lang>, rarity: &crate::fold::Rarity) -> Vec<Feature> {
    let mut end = text.len().min(FEATURES_FROM);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut all: Vec<(Class, String)> = explain(&text[..end], lang).features;
    all.sort_by(|a, b| specificity(a.0).cmp(&specificity(b.0)).then_with(|| a.1.cmp(&b.1)));
    all.dedup();
    all.into_iter()
        .take(MAX_FEATURES)
        .map(|(c, t)| {
            let r = rarity.of(crate::fold::fingerprint::key(c, &t));
            Feature {
                class: class_name(c),
                text: t,
                df: r.map(|r| r.0),
                // Two decimals say what a weight says, in a third of the bytes.
                weight: r.map(|r| (r.1 * 100.0).round() / 100.0),
            }
        })
        .collect()
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// What the scrape stage knew of a page beyond its article: its size and declared charset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fetched {
    pub bytes: usize,
    pub declared_charset: Option<String>,
    pub trail: Option<Box<crate::model::FetchTrail>>,
}

/// What the entry needs of a scraped page besides its record.
#[derive(Debug, Clone)]
pub struct PageMeta {
    pub key: String,
    pub raw_hash: String,
    pub fetched: Fetched,
    pub charset: crate::scrape::decode::Charset,
    pub lang_confidence: f64,
    pub paragraphs: usize,
    pub lead: String,
    pub provenance: crate::scrape::Provenance,
}

impl PageMeta {
    pub fn of(s: &Scraped) -> PageMeta {
        PageMeta {
            key: s.key.clone(),
            raw_hash: s.raw_hash.clone(),
            fetched: s.fetched.clone(),
            charset: s.article.charset,
            lang_confidence: s.article.lang_confidence,
            paragraphs: s.article.paragraphs.len(),
            lead: cut(s.article.paragraphs.first().map_or("", String::as_str), 300),
            provenance: s.article.provenance.clone(),
        }
    }
}

/// What the deciding thread hands on about its decision for the entry.
#[derive(Debug, Clone)]
pub struct Decided {
    pub score: Option<f32>,
    pub event_via: Option<String>,
    /// Story updates, by kind.
    pub updates: Vec<String>,
    pub considered: Vec<crate::fold::Considered>,
    pub rarity: crate::fold::Rarity,
}

impl Entry {
    /// The entry of a page that became `record`, decided as `d` says.
    pub fn for_record(page: &PageMeta, record: &Record, min_score: f64, d: &Decided) -> Entry {
        let Decided {
            score,
            event_via,
            updates,
            considered,
            rarity,
        } = d;
        Entry {
            schema: SCHEMA.into(),
            at: chrono::Utc::now(),
            input: Input {
                source: record.source.clone(),
                key: Some(page.key.clone()),
                location: record.location.clone(),
                raw_hash: Some(page.raw_hash.clone()),
                bytes: Some(page.fetched.bytes),
                declared_charset: page.fetched.declared_charset.clone(),
                fetch: page.fetched.trail.as_deref().cloned(),
            },
            extraction: Some(Extraction {
                charset: page.charset.encoding.name().to_string(),
                charset_why: page.charset.why.as_str().to_string(),
                replaced_bytes: page.charset.replaced,
                title: record.title.clone(),
                published_at: record.published_at,
                authors: record.authors.clone(),
                lang: record.lang,
                lang_confidence: page.lang_confidence,
                paragraphs: page.paragraphs,
                body_chars: record.body.chars().count(),
                lead: page.lead.clone(),
                canonical_url: record.canonical_url.clone(),
                original_url: record.original_url.clone(),
                alternates: record.alternates.iter().map(|x| x.url.clone()).collect(),
                provenance: Some(Provenance::of(&page.provenance)),
            }),
            fold: Some(FoldDecision {
                record_id: record.id.clone(),
                story_id: record.story_id.clone(),
                event_id: record.event_id.clone(),
                relation: record.relation.as_str().to_string(),
                duplicate_of: record.duplicate_of.clone(),
                score: *score,
                min_score,
                event_via: event_via.clone(),
                updates: updates.clone(),
                considered: considered
                    .iter()
                    .map(|c| Candidate {
                        record_id: crate::fold::index::format_id(c.record),
                        score: c.score,
                        verdict: c.verdict.as_str().to_string(),
                    })
                    .collect(),
                features: features_of(&record.body, record.lang, rarity),
            }),
            refused: None,
        }
    }

    /// The entry of an input refused at `stage`.
    pub fn refused(source: &str, location: &str, stage: &str, kind: &str, reason: &str) -> Entry {
        Entry {
            schema: SCHEMA.into(),
            at: chrono::Utc::now(),
            input: Input {
                source: source.to_string(),
                key: None,
                location: location.to_string(),
                raw_hash: None,
                bytes: None,
                declared_charset: None,
                fetch: None,
            },
            extraction: None,
            fold: None,
            refused: Some(Refused {
                stage: stage.to_string(),
                kind: kind.to_string(),
                reason: cut(reason, 2000),
            }),
        }
    }

    pub fn record_id(&self) -> Option<&str> {
        self.fold.as_ref().map(|f| f.record_id.as_str())
    }

    pub fn story_id(&self) -> Option<&str> {
        self.fold.as_ref().map(|f| f.story_id.as_str())
    }
}

/// A failure seen by a source or the scrape stage, on its way to the decision log.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub source: String,
    pub stage: &'static str,
    pub kind: &'static str,
    /// As counted: "LOCATION: reason", or the location alone.
    pub message: String,
}

impl Refusal {
    pub fn entry(&self) -> Entry {
        let (location, reason) = match self.message.split_once(": ") {
            Some((l, r)) => (l, r),
            None => (self.message.as_str(), self.kind),
        };
        Entry::refused(&self.source, location, self.stage, self.kind, reason)
    }
}

/// What the sinks acknowledged: when every sink had the record (the input marked done).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivered {
    pub done_at: Option<String>,
    /// When each sink acknowledged it: (sink, time).
    pub acks: Vec<(String, String)>,
}

/// An entry as readable text.
pub fn render(entry: &Entry, delivered: Option<&Delivered>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let i = &entry.input;
    let _ = writeln!(out, "{}", i.location);
    let _ = writeln!(
        out,
        "  found      source {}{}",
        i.source,
        i.key.as_ref().map(|k| format!(", key {k}")).unwrap_or_default()
    );
    if let Some(b) = i.bytes {
        let _ = writeln!(
            out,
            "  read       {b} bytes{}{}",
            i.declared_charset
                .as_ref()
                .map(|c| format!(", declared charset {c}"))
                .unwrap_or_default(),
            i.raw_hash
                .as_ref()
                .map(|h| format!(", blake3 {}", &h[..h.len().min(16)]))
                .unwrap_or_default()
        );
    }
    if let Some(f) = &i.fetch {
        let _ = writeln!(
            out,
            "  listed by  {}",
            f.listed_by.as_deref().unwrap_or("the source's configured pages")
        );
        let mut fetched = format!("  fetched    HTTP {}", f.status);
        if let Some(ct) = &f.content_type {
            let _ = write!(fetched, ", {ct}");
        }
        if f.attempts > 1 {
            let _ = write!(fetched, ", after {} attempts", f.attempts);
        }
        if f.waited_ms > 0 {
            let _ = write!(fetched, ", waited {} ms for its turn", f.waited_ms);
        }
        let _ = writeln!(out, "{fetched}");
        if !f.redirects.is_empty() {
            let _ = writeln!(out, "  redirected {} → {}", f.redirects.join(" → "), i.location);
        }
        let validators: Vec<String> = [("etag", &f.etag), ("last-modified", &f.last_modified)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
            .collect();
        if !validators.is_empty() {
            let _ = writeln!(out, "  validators {}", validators.join(", "));
        }
    }
    if let Some(r) = &entry.refused {
        let _ = writeln!(out, "  refused    at {}: {} ({})", r.stage, r.reason, r.kind);
        let _ = writeln!(out, "  at         {}", entry.at.to_rfc3339());
        return out;
    }
    if let Some(x) = &entry.extraction {
        let _ = writeln!(
            out,
            "  decoded    {} ({}{})",
            x.charset,
            x.charset_why,
            if x.replaced_bytes > 0 {
                format!(", {} invalid bytes replaced", x.replaced_bytes)
            } else {
                String::new()
            }
        );
        let _ = writeln!(out, "  title      {}", x.title.as_deref().unwrap_or("(none)"));
        let _ = writeln!(
            out,
            "  published  {}",
            x.published_at
                .map(|d| d.to_rfc3339())
                .unwrap_or_else(|| "(unknown)".into())
        );
        if !x.authors.is_empty() {
            let _ = writeln!(out, "  authors    {}", x.authors.join(", "));
        }
        let _ = writeln!(
            out,
            "  language   {} (confidence {:.2})",
            x.lang.map_or("unknown", |l| l.code()),
            x.lang_confidence
        );
        let _ = writeln!(
            out,
            "  body       {} paragraphs, {} characters",
            x.paragraphs, x.body_chars
        );
        let _ = writeln!(out, "  lead       {}", x.lead);
        for (what, v) in [("canonical", &x.canonical_url), ("original", &x.original_url)] {
            if let Some(v) = v {
                let _ = writeln!(out, "  {what:<10} {v}");
            }
        }
        if !x.alternates.is_empty() {
            let _ = writeln!(out, "  alternates {}", x.alternates.join(", "));
        }
        if let Some(p) = &x.provenance {
            let from: Vec<String> = [
                ("title", &p.title),
                ("date", &p.date),
                ("authors", &p.authors),
                ("body", &p.body),
                ("lead", &p.lead),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k} from {v}"))
            .collect();
            if !from.is_empty() {
                let _ = writeln!(out, "  sources    {}", from.join("; "));
            }
            if p.removed_count > 0 {
                let _ = writeln!(out, "  removed    {} lines", p.removed_count);
                for r in &p.removed {
                    let _ = writeln!(out, "             {}: {}", r.why, r.text);
                }
            }
        }
    }
    if let Some(f) = &entry.fold {
        let _ = writeln!(out, "  record     {}", f.record_id);
        let joined = match (&f.duplicate_of, f.score) {
            (Some(d), Some(s)) if f.relation == "translation" => {
                format!("{} of {d}: score {s:.2} over min_score {:.2}", f.relation, f.min_score)
            }
            (Some(d), Some(s)) => format!("{} of {d}: score {s:.2}", f.relation),
            (Some(d), None) => format!("{} of {d}", f.relation),
            (None, _) => f.relation.clone(),
        };
        let _ = writeln!(out, "  story      {} ({joined})", f.story_id);
        let _ = writeln!(
            out,
            "  event      {}{}",
            f.event_id,
            f.event_via
                .as_ref()
                .map(|v| format!(" (linked through {v})"))
                .unwrap_or_default()
        );
        if !f.updates.is_empty() {
            let _ = writeln!(out, "  updates    {}", f.updates.join(", "));
        }
        for (i, c) in f.considered.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {}  {} score {:.2}: {}",
                if i == 0 { "candidates" } else { "          " },
                c.record_id,
                c.score,
                c.verdict
            );
        }
        let specific: Vec<String> = f
            .features
            .iter()
            .filter(|x| matches!(x.class.as_str(), "code" | "num_large" | "num_decimal" | "name"))
            .take(12)
            .map(Feature::shown)
            .collect();
        if !specific.is_empty() {
            let _ = writeln!(out, "  facts      {}", specific.join(", "));
        }
    }
    match delivered.and_then(|d| d.done_at.as_deref()) {
        Some(at) => {
            let _ = writeln!(out, "  delivered  every sink acknowledged it at {at}");
            for (sink, at) in delivered.map_or(&[][..], |d| &d.acks[..]) {
                let _ = writeln!(out, "             sink {sink} at {at}");
            }
        }
        None if entry.fold.is_some() => {
            let _ = writeln!(out, "  delivered  not yet acknowledged by every sink");
        }
        None => {}
    }
    let _ = writeln!(out, "  decided    {}", entry.at.to_rfc3339());
    out
}

/// Two entries compared: shared and unshared features by class, and how the fold related them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub same_story: bool,
    pub same_event: bool,
    pub shared: Vec<Feature>,
    pub only_a: Vec<Feature>,
    pub only_b: Vec<Feature>,
    /// The score of the decision that joined one to the other's story, if one did.
    pub score: Option<f32>,
    pub min_score: f64,
    pub verdict: String,
}

pub fn compare(a: &Entry, b: &Entry) -> Option<Comparison> {
    let (fa, fb) = (a.fold.as_ref()?, b.fold.as_ref()?);
    let same_story = fa.story_id == fb.story_id;
    let same_event = fa.event_id == fb.event_id;
    // The later page's decision is the one that joined (or not) the earlier one's story; its
    // weights are the ones it was decided with.
    let (later, earlier) = if a.at >= b.at { (fa, fb) } else { (fb, fa) };
    let in_list = |fs: &[Feature], f: &Feature| fs.iter().any(|g| g.same(f));
    let shared: Vec<Feature> = later
        .features
        .iter()
        .filter(|f| in_list(&earlier.features, f))
        .cloned()
        .collect();
    let only = |x: &FoldDecision, y: &FoldDecision| -> Vec<Feature> {
        x.features
            .iter()
            .filter(|f| !in_list(&y.features, f))
            .cloned()
            .collect()
    };
    let (only_a, only_b) = (only(fa, fb), only(fb, fa));
    let score = later.score;
    let verdict = match (same_story, same_event) {
        (true, _) => match (later.relation.as_str(), score) {
            ("translation", Some(s)) => format!(
                "one story: {} joined as a translation with score {s:.2}, {:.2} over min_score {:.2}",
                later.record_id,
                s as f64 - later.min_score,
                later.min_score
            ),
            (rel, Some(s)) => format!("one story: {} joined as {rel} (score {s:.2})", later.record_id),
            (rel, None) => format!("one story: {} joined as {rel}", later.record_id),
        },
        (false, true) => "two stories of one event: they report the same incident but are not one article".into(),
        (false, false) => format!(
            "two stories: {} specific facts shared; a translation keeps the source's facts in order and must reach min_score {:.2}",
            shared
                .iter()
                .filter(|f| matches!(f.class.as_str(), "code" | "num_large" | "num_decimal" | "name"))
                .count(),
            later.min_score
        ),
    };
    Some(Comparison {
        a: fa.record_id.clone(),
        b: fb.record_id.clone(),
        same_story,
        same_event,
        shared,
        only_a,
        only_b,
        score,
        min_score: later.min_score,
        verdict,
    })
}

pub fn render_comparison(c: &Comparison) -> String {
    use std::fmt::Write;
    let list = |fs: &[Feature]| {
        if fs.is_empty() {
            "nothing".to_string()
        } else {
            fs.iter().map(Feature::shown).collect::<Vec<_>>().join(", ")
        }
    };
    let mut out = String::new();
    let _ = writeln!(out, "{} against {}", c.a, c.b);
    let _ = writeln!(out, "  {}", c.verdict);
    let _ = writeln!(out, "  shared     {}", list(&c.shared));
    let _ = writeln!(out, "  only in {}  {}", &c.a[..c.a.len().min(8)], list(&c.only_a));
    let _ = writeln!(out, "  only in {}  {}", &c.b[..c.b.len().min(8)], list(&c.only_b));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_are_snake_case() {
        assert_eq!(class_name(Class::NumLarge), "num_large");
        assert_eq!(class_name(Class::Code), "code");
        assert_eq!(class_name(Class::DateRef), "date_ref");
    }

    #[test]
    fn features_keep_the_specific_ones_first() {
        let f = features_of(
            "Ngày 19/1/2024, Công an tỉnh Nghệ An thu giữ 62.000 viên ma túy theo Nghị định 03/2019/NĐ-CP; 3 đối tượng.",
            Some(Lang::Vi),
            &crate::fold::Rarity::default(),
        );
        assert_eq!(f.first().map(|x| x.class.as_str()), Some("code"), "{f:?}");
        assert!(
            f.iter().any(|x| x.class == "num_large" && x.text.contains("62")),
            "{f:?}"
        );
    }

    #[test]
    fn a_refusal_splits_its_location_from_its_reason() {
        let r = Refusal {
            source: "site".into(),
            stage: "source",
            kind: "robots",
            message: "https://example.vn/a: disallowed by robots.txt".into(),
        };
        let e = r.entry();
        assert_eq!(e.input.location, "https://example.vn/a");
        assert_eq!(e.refused.as_ref().unwrap().reason, "disallowed by robots.txt");
        assert!(render(&e, None).contains("refused    at source: disallowed by robots.txt (robots)"));
    }
}
