//! Plain data that crosses stages: a `Page` read by a source, the `Article` scraped from it, and the
//! `Record` (schema v1) that sinks receive.
//!
//! Nothing here does I/O; the types only carry what one stage hands to the next.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

/// A language newsfold recognises: Vietnamese, and the Latin-script languages vietnam.vn and the
/// VNA desks publish machine translations in. The set is closed on purpose: the detector is
/// restricted to it, which is what makes it accurate on short, name-heavy provincial news. Pages in
/// scripts outside it (Arabic, Chinese, Japanese, Korean, Russian, Thai...) get no language and fold
/// by their numbers, dates and codes (see `fold::numbers`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Vi,
    Fr,
    En,
    De,
    Es,
    Pt,
    It,
    Nl,
    /// Malay; the detector cannot tell it from Indonesian, so only a declared `ms` gives it.
    Ms,
    Id,
}

impl Lang {
    pub const ALL: [Lang; 10] = [
        Lang::Vi,
        Lang::Fr,
        Lang::En,
        Lang::De,
        Lang::Es,
        Lang::Pt,
        Lang::It,
        Lang::Nl,
        Lang::Ms,
        Lang::Id,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::Fr => "fr",
            Lang::En => "en",
            Lang::De => "de",
            Lang::Es => "es",
            Lang::Pt => "pt",
            Lang::It => "it",
            Lang::Nl => "nl",
            Lang::Ms => "ms",
            Lang::Id => "id",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let c = code.trim().to_ascii_lowercase();
        // "fr-FR", "pt_BR": the primary subtag decides.
        let primary = c.split(['-', '_']).next().unwrap_or("");
        Some(match primary {
            "vi" | "vie" | "vietnamese" => Lang::Vi,
            "fr" | "fra" | "fre" | "french" => Lang::Fr,
            "en" | "eng" | "english" => Lang::En,
            "de" | "deu" | "ger" | "german" => Lang::De,
            "es" | "spa" | "spanish" => Lang::Es,
            "pt" | "por" | "portuguese" => Lang::Pt,
            "it" | "ita" | "italian" => Lang::It,
            "nl" | "nld" | "dut" | "dutch" => Lang::Nl,
            "ms" | "msa" | "may" | "malay" => Lang::Ms,
            "id" | "ind" | "indonesian" => Lang::Id,
            _ => return None,
        })
    }

    /// The codes newsfold accepts, quoted, for error messages: `"vi", "fr", …`.
    pub fn expected() -> String {
        Lang::ALL
            .iter()
            .map(|l| format!("\"{}\"", l.code()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A small stable number for compact encodings (index tags, persisted rows); 0 is "none".
    pub fn tag(lang: Option<Lang>) -> u8 {
        match lang {
            None => 0,
            Some(Lang::Vi) => 1,
            Some(Lang::Fr) => 2,
            Some(Lang::En) => 3,
            Some(Lang::De) => 4,
            Some(Lang::Es) => 5,
            Some(Lang::Pt) => 6,
            Some(Lang::It) => 7,
            Some(Lang::Nl) => 8,
            Some(Lang::Ms) => 9,
            Some(Lang::Id) => 10,
        }
    }

    /// The inverse of `tag`; `None` for a number no language has.
    pub fn from_tag(tag: u8) -> Option<Option<Lang>> {
        if tag == 0 {
            return Some(None);
        }
        Lang::ALL.iter().copied().find(|l| Lang::tag(Some(*l)) == tag).map(Some)
    }

    /// Whether numbers group thousands with "," and mark decimals with "." (English and Malay);
    /// the others group with "." or a space and mark decimals with ",".
    pub fn comma_thousands(self) -> bool {
        matches!(self, Lang::En | Lang::Ms)
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How a page's bytes should be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageFormat {
    /// Already-extracted article text, one paragraph a line (the seed format).
    Text,
    Html,
}

impl PageFormat {
    /// A saved page's format by its extension: `.html`, `.htm` and `.xhtml` are HTML, anything
    /// else is article text.
    pub fn of_path(path: &std::path::Path) -> PageFormat {
        match path
            .extension()
            .and_then(|x| x.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("html" | "htm" | "xhtml") => PageFormat::Html,
            _ => PageFormat::Text,
        }
    }
}

/// One input as a source read it: raw bytes plus where they came from.
#[derive(Clone, Debug)]
pub struct Page {
    pub source: Arc<str>,
    /// The input's identity within its source: a path relative to a `files` source's folder, or
    /// a URL. Stable across machines and checkouts, so it (not `location`) keys ids and state.
    pub key: String,
    /// Where the page was read: an absolute file path or a URL, as shown in records.
    pub location: String,
    pub format: PageFormat,
    pub bytes: Vec<u8>,
    /// BLAKE3 of `bytes`, hex. The state store's "seen" key is (source, key, raw_hash).
    pub raw_hash: String,
    /// The source's configured language, used when detection is unsure.
    pub lang_hint: Option<Lang>,
    /// The charset the server declared (HTTP Content-Type), if any.
    pub charset: Option<String>,
    /// The source's extraction rules (`[sources.NAME.extract]`), if it has any.
    pub rules: Option<Arc<crate::scrape::rules::Rules>>,
    /// How an HTTP source found and fetched the page (`None` for files), for the decision log.
    pub fetch: Option<Box<FetchTrail>>,
}

/// Told of every input that leaves the pipeline for good, delivered to every sink or refused, as
/// (source, key, raw_hash): in a cluster the message that carried it is acknowledged then.
pub type Settle = Arc<dyn Fn(&str, &str, &str) + Send + Sync>;

/// How a page was found and fetched: what `newsfold explain` says of the fetch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchTrail {
    /// The feed, sitemap or listing page that listed the URL; `None` for a configured page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_by: Option<String>,
    /// The URL as the source asked for it (before redirects).
    pub requested: String,
    /// The final response's status.
    pub status: u16,
    /// The URLs redirected from, in order (the requested one first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Requests made: 1, or more after transient failures.
    pub attempts: u32,
    /// Time spent waiting for the host's turn (min_delay, Crawl-delay, Retry-After, its
    /// concurrency) and the global limit, and between retries, in milliseconds.
    pub waited_ms: u64,
}

/// What the scrape stage makes of a page. Pure data, no relation to other pages yet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Article {
    pub title: Option<String>,
    pub paragraphs: Vec<String>,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub authors: Vec<String>,
    /// Where the page says its text comes from ("Source : https://…").
    pub original_url: Option<String>,
    /// The page's `<link rel=canonical>` href, unresolved.
    pub canonical: Option<String>,
    pub lang: Option<Lang>,
    /// How sure the language detection is, 0 to 1.
    pub lang_confidence: f64,
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// Other-language versions the page links to (`hreflang`): (language tag, href as written).
    pub alternates: Vec<(String, String)>,
    /// The encoding the bytes were read with, why, and how many invalid bytes were replaced.
    pub charset: crate::scrape::decode::Charset,
    /// Where each field came from, and what cleaning removed.
    pub provenance: crate::scrape::Provenance,
}

impl Article {
    pub fn body(&self) -> String {
        self.paragraphs.join("\n\n")
    }
}

/// A record's place in its story.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The first member of a story.
    Original,
    /// Same normalised body as an earlier record.
    Duplicate,
    /// Same language, nearly the same text: re-posted with other boilerplate, truncated, edited.
    NearDuplicate,
    /// Another language, same source article.
    Translation,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Original => "original",
            Relation::Duplicate => "duplicate",
            Relation::NearDuplicate => "near_duplicate",
            Relation::Translation => "translation",
        }
    }
}

/// Record v1, as written by every sink. `schema/record-v1.json` is its contract; a test validates
/// every emitted record against it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Stable: BLAKE3 of (source, input key, raw bytes). The same input always gets the same id.
    pub id: String,
    pub story_id: String,
    /// The event the story reports: stories of one incident (independent write-ups by other
    /// outlets) share it. The id of the event's first story.
    pub event_id: String,
    pub relation: Relation,
    pub duplicate_of: Option<String>,
    pub source: String,
    pub location: String,
    pub original_url: Option<String>,
    pub lang: Option<Lang>,
    pub title: Option<String>,
    pub body: String,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub authors: Vec<String>,
    /// BLAKE3 of the normalised body: equal for exact duplicates, whatever their location.
    pub content_hash: String,
    pub ingested_at: DateTime<Utc>,
    /// The page's `<link rel=canonical>`, resolved against its location.
    #[serde(default)]
    pub canonical_url: Option<String>,
    /// When the page says it was last changed.
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// Other-language versions the page names (`hreflang`), resolved: direct evidence of a story.
    #[serde(default)]
    pub alternates: Vec<Alternate>,
    /// How sure the language detection was, 0 to 1.
    #[serde(default)]
    pub lang_confidence: Option<f64>,
}

/// One `<link rel=alternate hreflang=… href=…>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alternate {
    pub lang: String,
    pub url: String,
}

/// A correction to records already delivered, which later evidence made: every sink receives it
/// after the record that caused it (`schema/story-update-v1.json`). JSON Lines, NATS and webhook
/// sinks write it as its own message; the SQL sinks apply it to the rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoryUpdate {
    /// A story's canonical member changed (`[fold] prefer_lang`).
    #[serde(rename = "story_update")]
    Canonical(CanonicalChange),
    /// Direct evidence (a page naming two pages as its own versions) showed two stories are one
    /// article: `merged_story_id`'s members now belong to `story_id`.
    StoryMerge(StoryMerge),
    /// A later page showed two members of a story to be different articles: the listed members
    /// of `split_from` now make the story `story_id` of their own.
    StorySplit(StorySplit),
    /// A page reporting the events of two stories showed them to be one event: every story of
    /// `merged_event_id` now reports `event_id`.
    EventLink(EventLink),
}

impl StoryUpdate {
    /// Which kind of update, as the `type` field names it.
    pub fn kind(&self) -> &'static str {
        match self {
            StoryUpdate::Canonical(_) => "story_update",
            StoryUpdate::StoryMerge(_) => "story_merge",
            StoryUpdate::StorySplit(_) => "story_split",
            StoryUpdate::EventLink(_) => "event_link",
        }
    }

    /// The record or story the update is about, for logs.
    pub fn subject(&self) -> &str {
        match self {
            StoryUpdate::Canonical(u) => &u.record_id,
            StoryUpdate::StoryMerge(u) => &u.merged_story_id,
            StoryUpdate::StorySplit(u) => &u.story_id,
            StoryUpdate::EventLink(u) => &u.merged_event_id,
        }
    }

    /// A stable id for the update (the same evidence always makes the same id), for sinks that
    /// deduplicate by message id.
    pub fn id(&self) -> String {
        match self {
            StoryUpdate::Canonical(u) => format!("update-{}", u.canonical),
            StoryUpdate::StoryMerge(u) => format!("merge-{}-{}", u.merged_story_id, u.story_id),
            StoryUpdate::StorySplit(u) => format!("split-{}-{}", u.split_from, u.story_id),
            StoryUpdate::EventLink(u) => format!("event-{}-{}", u.merged_event_id, u.event_id),
        }
    }
}

/// `canonical` is now the story's canonical record, and the previously canonical `record_id` now
/// stands in `relation` to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CanonicalChange {
    pub story_id: String,
    pub canonical: String,
    pub record_id: String,
    pub relation: Relation,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoryMerge {
    /// The story that remains.
    pub story_id: String,
    /// The story that joins it and ceases to exist.
    pub merged_story_id: String,
    /// The remaining story's event, which the moved members now report.
    pub event_id: String,
    /// Each moved member with its relation to the remaining story's canonical record.
    pub members: Vec<MergedMember>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergedMember {
    pub record_id: String,
    pub relation: Relation,
    pub duplicate_of: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StorySplit {
    /// The new story: the id of its first member, which becomes its canonical record.
    pub story_id: String,
    /// The story the members leave, which goes on with the others.
    pub split_from: String,
    /// The new story's event (its own).
    pub event_id: String,
    /// Each moved member with its relation in the new story; the canonical one has no
    /// `duplicate_of`.
    pub members: Vec<SplitMember>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitMember {
    pub record_id: String,
    pub relation: Relation,
    pub duplicate_of: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventLink {
    /// The event that remains.
    pub event_id: String,
    /// The event whose stories join it.
    pub merged_event_id: String,
    pub updated_at: DateTime<Utc>,
}

/// What a sink must acknowledge before the page behind a record counts as done in the state store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub source: Arc<str>,
    pub key: String,
    pub raw_hash: String,
    pub record_id: String,
    /// Another key that names the same input (a page's canonical URL), marked done with it.
    pub alias: Option<String>,
}

/// A record on its way to the sinks, with the receipt that marks its page done once delivered.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub record: Record,
    /// Corrections this record's evidence made, written after it.
    pub updates: Vec<StoryUpdate>,
    pub receipt: Receipt,
}

/// Hex of the first 16 bytes of a BLAKE3 hash: 128 bits are plenty for identity and keep ids short.
pub fn short_hash(hash: &blake3::Hash) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = hash.as_bytes();
    let mut out = String::with_capacity(32);
    for b in &bytes[..16] {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

/// The stable record id of one input.
pub fn record_id(source: &str, key: &str, raw_hash: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(source.as_bytes());
    h.update(&[0]);
    h.update(key.as_bytes());
    h.update(&[0]);
    h.update(raw_hash.as_bytes());
    short_hash(&h.finalize())
}
