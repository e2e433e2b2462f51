//! Folding: deciding, page by page in arrival order, which story a record belongs to and which
//! event its story reports.
//!
//! Two levels. A *story* is one source article: the original, its translations, copies, re-posts,
//! excerpts and URL variants. An *event* is the incident or meeting reported: stories of one event
//! (independent write-ups by other outlets) share an `event_id` but are never merged.
//!
//! A record joins an earlier story when (in this order of evidence) it is the same record replayed,
//! its normalised body equals an indexed one (`duplicate`), it names an indexed page as its source
//! or an indexed page names it (direct evidence, no scoring), or a candidate member passes the
//! same-article test (`evidence`: a near-copy in words, or a faithful rendering of the same facts
//! in the same order) *and* the record agrees with the story as a whole (no member's event day or
//! numbers contradict it; no same-language member is an independent write-up of it) *and* the match
//! is mutual at story level (no page of the record's language in another story matches that member
//! better and passes the same test). Otherwise it founds a story (`original`), linked to the event
//! of the best candidate that shares the event's key facts (same day, shared quantities), or to an
//! event of its own.
//!
//! The relation is the member's against the story's canonical member: `near_duplicate` in the
//! canonical's language, `translation` in another. Each story has one canonical member: the first,
//! unless `prefer_lang` ranks a later member's language higher; then that member becomes canonical
//! and the decision carries a `StoryUpdate` re-labelling the previous canonical member.
//!
//! Pure and synchronous: the pipeline runs it on its own thread and persists what it indexes.

pub mod decide;
pub mod evidence;
pub mod fingerprint;
pub mod index;
mod late;
pub mod minhash;
mod names;
pub mod normalize;
mod numbers;
pub mod row;
pub mod stage;
mod store;

use rustc_hash::FxHashMap as HashMap;

use crate::model::{Article, CanonicalChange, Lang, Relation, StoryUpdate};
use decide::Match;
use evidence::{Overlap, Side};
use index::{Id, IndexedDoc, Limits, StoryIndex, format_id, parse_id};
use minhash::Sketch;
use row::Moved;

/// Default floor on the cross-lingual score (weighted cosine of fingerprints). On the dev set true
/// translations score above 0.5 nearly always; 0.4 leaves that margin.
pub const DEFAULT_MIN_SCORE: f64 = 0.40;

/// Least evidence a same-article match needs: shared specific features (mid/large numbers,
/// decimals, dates, codes) count one each, shared name bigrams half, each scaled by its rarity
/// (`index::EVIDENCE_FULL_RARITY`). Small numbers, years and reference dates count nothing: too
/// many stories of one province share them.
pub const MIN_EVIDENCE: f32 = 3.0;

/// A faithful rendering (a translation, a re-translation) keeps nearly every specific fact of the
/// shorter page...
pub const FAITHFUL_COVERAGE: f32 = 0.7;
/// ...in the same order...
pub const FAITHFUL_ORDER: f32 = 0.75;
/// ...and most of its features of every class (names, small numbers): another outlet's write-up
/// of the same event shares the key facts but names and counts things of its own.
pub const FAITHFUL_CONTAINMENT: f32 = 0.55;
/// Below this many shared specific facts, a faithful pair must share as much as an excerpt does.
pub const FEW_FACTS: u16 = 3;
/// An excerpt: at least this share of its features, and of its specific facts, in the other page...
pub const EXCERPT_CONTAINMENT: f32 = 0.85;
pub const EXCERPT_COVERAGE: f32 = 0.9;
/// ...needs only this score and evidence.
pub const EXCERPT_MIN_SCORE: f32 = 0.3;
pub const EXCERPT_MIN_EVIDENCE: f32 = 2.0;
/// Two pages in one language that are not near-copies in words are one article only when their
/// facts match this closely (two machine translations of one original into the same language).
pub const SAME_LANG_MIN_SCORE: f32 = 0.75;
pub const SAME_LANG_COVERAGE: f32 = 0.9;
/// Same-language pages sharing this much of their fingerprint, in other words, are independent
/// write-ups of one event: such a page cannot join a story holding the other.
pub const WRITE_UP_SCORE: f32 = 0.3;

/// Two stories report one event when their pages share at least this many event facts (specific
/// numbers, event dates) with this much evidence and score, and contradict nothing.
pub const EVENT_FACTS: u16 = 2;
pub const EVENT_MIN_EVIDENCE: f32 = 2.0;
pub const EVENT_MIN_SCORE: f32 = 0.2;
/// Without an event day on both sides, one more shared fact is needed.
pub const EVENT_FACTS_UNDATED: u16 = 3;

/// Near-duplicate thresholds on MinHash estimates: a re-post keeps most shingles (Jaccard), a
/// truncated copy is mostly contained in its original (containment).
pub const NEAR_JACCARD: f32 = 0.5;
pub const NEAR_CONTAINMENT: f32 = 0.75;
/// A copy whose fingerprint is (nearly) a subset of another's, with texts that overlap this much,
/// is a near-duplicate too: the MinHash estimate alone is noisy for short truncations.
pub const NEAR_FEATURE_CONTAINMENT: f32 = 0.9;
pub const NEAR_LOOSE_CONTAINMENT: f32 = 0.4;
/// Least share of the smaller fingerprint a near-duplicate shares with its original: a re-post keeps
/// every fact, a truncated copy a subset, a light edit most.
pub const NEAR_FACTS: f32 = 0.8;
/// Least fingerprint score of a near-duplicate: a copy states the same facts (a truncated one,
/// a subset of them).
pub const NEAR_MIN_SCORE: f32 = 0.5;
/// Sketches of fewer shingles than this are too small to call a near-duplicate on.
pub const NEAR_MIN_SHINGLES: u32 = 12;

/// Rivals of a matched member scored exactly in the mutual-best test.
pub const RIVALS: usize = 8;

/// At most this many members of a story are checked for contradictions (the newest).
pub const AGREE_MEMBERS: usize = 64;
/// A rendering that vouches for a split (see `Folder::split_off`) scores at least this: well
/// above the join floor, so a weak match never splits a story.
pub const SPLIT_MIN_SCORE: f32 = 0.6;

/// A member's relation to its story's canonical record, by their languages: the same language
/// makes a near-duplicate, another (or an unknown one) a translation.
fn relation_to(member: Option<Lang>, canonical: Option<Lang>) -> Relation {
    if member.is_some() && member == canonical {
        Relation::NearDuplicate
    } else {
        Relation::Translation
    }
}

/// Whether two pages are in one known language: a language not known is no page's language,
/// so such pages are compared as renderings of each other.
fn same_lang(a: Option<Lang>, b: Option<Lang>) -> bool {
    a.is_some() && a == b
}

/// What the fold needs to know about one record.
#[derive(Clone, Debug)]
pub struct FoldInput {
    pub record_id: String,
    pub lang: Option<Lang>,
    pub content_hash: String,
    pub location: String,
    pub original_url: Option<String>,
    /// Other-language versions the page names (`hreflang`), resolved: direct evidence.
    pub alternates: Vec<String>,
    pub features: Vec<u32>,
    /// Rank of each feature's first mention in the text (`fingerprint::Fingerprint::order`).
    pub order: Vec<u8>,
    pub sketch: Sketch,
    /// The event's day and month: the first event date in the lead (reference dates such as a
    /// cited decree's are skipped). Two pages reporting different days are different events,
    /// however alike (the same annual conference).
    pub event_day: Option<(u8, u8)>,
    /// Unix seconds, for the index window.
    pub at: i64,
}

impl FoldInput {
    /// The fold's view of a scraped article whose joined `body` (`Article::body`) the caller
    /// already holds: the one place fingerprints are computed, for the pipeline and `fold-eval`
    /// alike.
    pub fn from_article(record_id: String, location: String, article: &Article, body: &str, at: i64) -> FoldInput {
        let (text, title_len) = match &article.title {
            Some(t) => (format!("{t}\n{body}"), t.len() + 1),
            None => (body.to_string(), 0),
        };
        // The lead: the title and the first two paragraphs that are not a stamp or dateline (the
        // page's own date, which a copy published the next day does not share). Without a title
        // (article text, whose first line is the headline) the first three: headline, summary,
        // the paragraph that opens on the event's day.
        let mut lead = Vec::with_capacity(3);
        if title_len > 0 {
            lead.push(0..title_len);
        }
        let mut start = title_len;
        for p in &article.paragraphs {
            if lead.len() >= 3 {
                break;
            }
            if !is_stamp(p) {
                lead.push(start..start + p.len());
            }
            start += p.len() + 2;
        }
        let fp = fingerprint::fingerprint_and_event(&text, article.lang, &lead);
        FoldInput {
            record_id,
            lang: article.lang,
            content_hash: normalize::content_hash(body),
            location,
            original_url: article.original_url.clone(),
            alternates: Vec::new(),
            features: fp.features,
            order: fp.order,
            sketch: minhash::sketch(body),
            event_day: fp.event_day,
            at,
        }
    }

    fn side(&self) -> Side<'_> {
        Side {
            features: &self.features,
            order: &self.order,
            event_day: self.event_day,
        }
    }
}

/// Whether a paragraph is a stamp or dateline ("Cập nhật: 14:20, 08/01/2024", "Samedi 28 décembre
/// 2024", "January 8, 2024 10:05"): short, no sentence, and a date in it.
fn is_stamp(p: &str) -> bool {
    let p = p.trim();
    p.len() <= 64 && !p.ends_with(['.', '!', '?', ':']) && !crate::dates::find_dates(p).is_empty()
}

/// Where a record goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub story_id: String,
    pub relation: Relation,
    pub duplicate_of: Option<String>,
    /// The score behind a `near_duplicate` (Jaccard) or `translation` (fingerprint) decision.
    pub score: Option<f32>,
    /// The event the story reports: the id of the event's first story.
    pub event_id: String,
    /// The indexed record whose event a new story was linked to, if any.
    pub event_via: Option<String>,
    /// Corrections this record's evidence made: its becoming canonical, stories merged, events
    /// linked.
    pub updates: Vec<StoryUpdate>,
    /// The candidates the fingerprint found, best first (at most `CONSIDERED`), and what each
    /// test said of them: for `newsfold explain`.
    pub considered: Vec<Considered>,
    /// Stories to merge into this one and events to link to this one, applied by `fold`.
    merge: Vec<Id>,
    link: Vec<Id>,
    /// Members to take out of a story (its id, then the members, the new story's first one
    /// first) into the story this record joins, applied by `fold` (`Folder::split_story`).
    split: Option<(Id, Vec<u32>)>,
}

/// Candidates a decision keeps for its explanation.
pub const CONSIDERED: usize = 5;

/// One candidate of a decision and the test that settled it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Considered {
    pub record: Id,
    pub score: f32,
    pub verdict: Verdict,
}

/// What the fold's tests said of a candidate, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its score is under every test's floor.
    BelowFloor,
    /// Not the same article (not a near copy, not a faithful rendering).
    NotSameArticle,
    /// A better candidate of its story was tried first.
    StoryTried,
    /// The same article, but a member of its story contradicts the page (event day, numbers,
    /// document codes) or is an independent write-up in the same language.
    DisagreesWithStory,
    /// The same article, but the story has a better match for its own pages (mutual-best test).
    NotMutual,
    /// Joined: the page is a member of its story.
    Joined,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::BelowFloor => "score under every test's floor",
            Verdict::NotSameArticle => "not the same article",
            Verdict::StoryTried => "its story was tried with a better member",
            Verdict::DisagreesWithStory => "same article, but its story contradicts the page",
            Verdict::NotMutual => "same article, but not the story's mutual best",
            Verdict::Joined => "joined",
        }
    }
}

/// Fold settings.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldOptions {
    pub min_score: f64,
    /// Languages in order of preference for a story's canonical member.
    pub prefer_lang: Vec<Lang>,
    pub limits: Limits,
}

impl Default for FoldOptions {
    fn default() -> Self {
        FoldOptions {
            min_score: DEFAULT_MIN_SCORE,
            prefer_lang: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// A story with two or more members. A story of one page has no entry: its state is its
/// founding document's (see `Folder::state_of`), which saves an entry for most pages.
#[derive(Clone)]
struct StoryState {
    canonical: Id,
    canonical_lang: Option<Lang>,
    rank: usize,
    event: Id,
    /// Sequence numbers of the members in the index, oldest first; evicted ones leave the front.
    members: Vec<u32>,
}

pub struct Folder {
    index: StoryIndex,
    min_score: f32,
    prefer_lang: Vec<Lang>,
    stories: HashMap<Id, StoryState>,
}

/// The index's view of a page's features when it was decided: each fingerprint feature's
/// document frequency and rarity weight, for the decision log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rarity {
    /// Sorted keys, with their (df, weight) at the same position.
    keys: Vec<u32>,
    values: Vec<(u32, f32)>,
}

impl Rarity {
    pub fn of(&self, key: u32) -> Option<(u32, f32)> {
        self.keys.binary_search(&key).ok().map(|i| self.values[i])
    }
}

/// What one `fold` call changed in the index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Indexed {
    /// The new document to persist, when the record was new.
    pub doc: Option<IndexedDoc>,
    /// Record ids that left the index (to delete from the persisted copy).
    pub evicted: Vec<String>,
    /// Persisted documents whose placement a merge or event link changed.
    pub moved: Vec<Moved>,
}

impl Folder {
    /// The rarity of `features` (sorted, as a fingerprint is) before the page joins the index.
    pub fn rarity(&self, features: &[u32]) -> Rarity {
        Rarity {
            keys: features.to_vec(),
            values: features.iter().map(|&f| self.index.rarity(f)).collect(),
        }
    }

    pub fn new(options: &FoldOptions) -> Folder {
        Folder {
            index: StoryIndex::new(options.limits),
            min_score: options.min_score as f32,
            prefer_lang: options.prefer_lang.clone(),
            stories: HashMap::default(),
        }
    }

    fn rank(&self, lang: Option<Lang>) -> usize {
        lang.and_then(|l| self.prefer_lang.iter().position(|p| *p == l))
            .unwrap_or(self.prefer_lang.len())
    }

    /// Replays a persisted document (at start-up). Returns ids evicted by the limits.
    pub fn restore(&mut self, doc: &IndexedDoc) -> Vec<String> {
        if self.index.get_record(parse_id(&doc.record_id)).is_some() {
            return Vec::new();
        }
        self.track(doc, self.index.next_seq());
        self.insert(doc)
    }

    /// The state of a story of one page, from its founding document (whose record id is the
    /// story id), while that document is indexed.
    fn single(&self, story: Id) -> Option<StoryState> {
        let seq = self.index.get_record(story)?;
        let lang = self.index.lang(seq);
        Some(StoryState {
            canonical: story,
            canonical_lang: lang,
            rank: self.rank(lang),
            event: self.index.event(seq),
            members: vec![seq],
        })
    }

    /// A story's state: its entry, or the one its single page gives.
    fn state_of(&self, story: Id) -> Option<std::borrow::Cow<'_, StoryState>> {
        match self.stories.get(&story) {
            Some(s) => Some(std::borrow::Cow::Borrowed(s)),
            None => self.single(story).map(std::borrow::Cow::Owned),
        }
    }

    /// The story's entry, made from its single page when it is getting a second member.
    fn entry_of(&mut self, story: Id) -> Option<&mut StoryState> {
        if !self.stories.contains_key(&story) {
            let single = self.single(story)?;
            self.stories.insert(story, single);
        }
        self.stories.get_mut(&story)
    }

    fn track(&mut self, doc: &IndexedDoc, seq: u32) {
        let story = parse_id(&doc.story_id);
        let rank = self.rank(doc.lang);
        let record = parse_id(&doc.record_id);
        if story == record {
            // A founding page: its story has no entry until a second member joins.
            return;
        }
        let event = parse_id(&doc.event_id);
        if self.entry_of(story).is_none() {
            // The founding page left the index: the story goes on with this one.
            self.stories.insert(
                story,
                StoryState {
                    canonical: record,
                    canonical_lang: doc.lang,
                    rank,
                    event,
                    members: Vec::new(),
                },
            );
        }
        let Some(s) = self.stories.get_mut(&story) else { return };
        s.members.push(seq);
        if rank < s.rank {
            s.canonical = record;
            s.canonical_lang = doc.lang;
            s.rank = rank;
        }
    }

    fn insert(&mut self, doc: &IndexedDoc) -> Vec<String> {
        let evicted = self.index.insert(doc);
        let mut out = Vec::with_capacity(evicted.len());
        for (seq, record, story) in evicted {
            if let Some(s) = self.stories.get_mut(&story) {
                s.members.retain(|&m| m != seq);
                if s.members.is_empty() {
                    self.stories.remove(&story);
                }
            }
            out.push(format_id(record));
        }
        out
    }

    /// The score a fingerprint match must reach (`[fold] min_score`).
    pub fn min_score(&self) -> f64 {
        f64::from(self.min_score)
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn memory_bytes(&self) -> usize {
        self.memory_parts().iter().map(|(_, b)| b).sum()
    }

    /// `memory_bytes` by part: the index's, and the stories'.
    pub fn memory_parts(&self) -> Vec<(&'static str, usize)> {
        let members: usize = self.stories.values().map(|s| s.members.capacity() * 4).sum();
        let stories = self.stories.capacity() * (16 + std::mem::size_of::<StoryState>() + 1) + members;
        let mut parts = self.index.memory_parts().to_vec();
        parts.push(("stories", stories));
        parts
    }

    /// Decides and indexes one record.
    pub fn fold(&mut self, input: FoldInput) -> (Decision, Indexed) {
        let record = parse_id(&input.record_id);
        if let Some(doc) = self.index.get_record(record) {
            let (relation, duplicate_of) = self.index.relation(doc);
            let decision = Decision {
                story_id: format_id(self.index.story(doc)),
                relation,
                duplicate_of: duplicate_of.map(format_id),
                score: None,
                event_id: format_id(self.index.event(doc)),
                event_via: None,
                updates: Vec::new(),
                considered: Vec::new(),
                merge: Vec::new(),
                link: Vec::new(),
                split: None,
            };
            return (decision, Indexed::default());
        }
        let mut decision = self.decide(&input);
        self.apply_preference(&input, &mut decision);
        let at = input.at;
        let mut moved = Vec::new();
        if let Some((from, members)) = decision.split.take() {
            match self.split_story(from, &members, at, &mut moved) {
                // First: a canonical change for the new story follows its founding.
                Some(u) => decision.updates.insert(0, u),
                None => {
                    decision.story_id = input.record_id.clone();
                    decision.event_id = input.record_id.clone();
                    decision.relation = Relation::Original;
                    decision.duplicate_of = None;
                    decision.score = None;
                    decision.updates.retain(|u| !matches!(u, StoryUpdate::Canonical(_)));
                }
            }
        }
        let doc = IndexedDoc {
            record_id: input.record_id,
            story_id: decision.story_id.clone(),
            relation: decision.relation,
            duplicate_of: decision.duplicate_of.clone(),
            lang: input.lang,
            content_hash: input.content_hash,
            location: input.location,
            original_url: input.original_url,
            alternates: input.alternates,
            features: input.features,
            order: input.order,
            sketch: input.sketch,
            event_day: input.event_day,
            event_id: decision.event_id.clone(),
            at: input.at,
        };
        self.track(&doc, self.index.next_seq());
        let evicted = self.insert(&doc);
        let story = parse_id(&decision.story_id);
        for merged in std::mem::take(&mut decision.merge) {
            if let Some(u) = self.merge_story(story, merged, at, &mut moved) {
                decision.updates.push(u);
            }
        }
        let event = parse_id(&decision.event_id);
        for linked in std::mem::take(&mut decision.link) {
            if let Some(u) = self.link_event(event, linked, at, &mut moved) {
                decision.updates.push(u);
            }
        }
        (
            decision,
            Indexed {
                doc: Some(doc),
                evicted,
                moved,
            },
        )
    }

    /// A member whose language ranks above the story's canonical one takes its place.
    fn apply_preference(&self, input: &FoldInput, decision: &mut Decision) {
        if decision.relation == Relation::Original {
            return;
        }
        let story = parse_id(&decision.story_id);
        let Some(state) = self.state_of(story) else { return };
        if self.rank(input.lang) >= state.rank {
            return;
        }
        decision.updates.push(StoryUpdate::Canonical(CanonicalChange {
            story_id: decision.story_id.clone(),
            canonical: input.record_id.clone(),
            record_id: format_id(state.canonical),
            relation: decision.relation,
            updated_at: chrono::DateTime::from_timestamp(input.at, 0).unwrap_or_default(),
        }));
        decision.relation = Relation::Original;
        decision.duplicate_of = None;
    }

    /// Joins the story of `doc`, in the relation the record's language has to the canonical's.
    fn join(&self, input: &FoldInput, doc: u32, duplicate: bool, score: Option<f32>) -> Decision {
        let story = self.index.story(doc);
        let canonical_lang = self
            .stories
            .get(&story)
            .map_or(self.index.lang(doc), |s| s.canonical_lang);
        let relation = if duplicate {
            Relation::Duplicate
        } else {
            relation_to(input.lang, canonical_lang)
        };
        Decision {
            story_id: format_id(story),
            relation,
            duplicate_of: Some(format_id(self.index.record(doc))),
            score,
            event_id: self.event_of(story),
            event_via: None,
            updates: Vec::new(),
            considered: Vec::new(),
            merge: Vec::new(),
            link: Vec::new(),
            split: None,
        }
    }

    /// A story's event id.
    fn event_of(&self, story: Id) -> String {
        format_id(self.state_of(story).map_or(story, |s| s.event))
    }

    /// Indexed pages the record names as its versions, or that name it: direct evidence. One per
    /// story, oldest story first.
    fn linked(&self, input: &FoldInput) -> Vec<u32> {
        let ix = &self.index;
        let mut docs: Vec<u32> = input
            .original_url
            .iter()
            .chain(&input.alternates)
            .filter_map(|u| ix.by_location(u))
            .chain(ix.by_link(&input.location))
            .collect();
        docs.sort_unstable_by_key(|&d| d.wrapping_sub(ix.next_seq()));
        let mut stories: Vec<Id> = Vec::new();
        docs.retain(|&d| {
            let s = ix.story(d);
            let new = !stories.contains(&s);
            stories.push(s);
            new
        });
        docs
    }

    fn decide(&self, input: &FoldInput) -> Decision {
        let ix = &self.index;
        if let Some(doc) = ix.by_content(parse_id(&input.content_hash)) {
            return self.join(input, doc, true, None);
        }
        let linked = self.linked(input);
        if let Some(&doc) = linked.first() {
            let mut d = self.join(input, doc, false, None);
            // The record is a version of pages in other stories too: they are one article.
            d.merge = linked[1..].iter().map(|&o| ix.story(o)).collect();
            return d;
        }
        // A page in a language not known is read by its numbers, dates and codes: it is
        // compared as a rendering in another language than every indexed page's.
        let lang = input.lang;
        let query = ix.query(&input.features);
        let cands = ix.candidates_for(&query, |_, _, _| true);
        // What each candidate's fingerprint says of the record's, computed when first needed and
        // only for candidates some test could accept (the lowest score any accepts).
        let overlaps: Vec<std::cell::OnceCell<Option<Overlap>>> = cands.iter().map(|_| Default::default()).collect();
        let overlap = |k: usize| -> Option<Overlap> {
            *overlaps[k].get_or_init(|| {
                let c = &cands[k];
                (c.score >= EVENT_MIN_SCORE.min(EXCERPT_MIN_SCORE)).then(|| Overlap::of(input.side(), self.side(c.doc)))
            })
        };
        // Same-article matches, best first, one per story (its best member): the first that agrees
        // with its story and is mutual takes the record.
        let mut tried: Vec<Id> = Vec::new();
        let mut considered: Vec<Considered> = Vec::new();
        // A story the record showed to hold two articles, and the members of its own.
        let mut split: Option<(Match, Vec<u32>)> = None;
        let note = |considered: &mut Vec<Considered>, k: usize, verdict: Verdict| {
            if k < CONSIDERED {
                considered.push(Considered {
                    record: ix.record(cands[k].doc),
                    score: cands[k].score,
                    verdict,
                });
            }
        };
        for (k, c) in cands.iter().enumerate() {
            let Some(o) = overlap(k) else {
                note(&mut considered, k, Verdict::BelowFloor);
                continue;
            };
            let Some(reported) = self.same_article(lang, input, c, &o) else {
                note(&mut considered, k, Verdict::NotSameArticle);
                continue;
            };
            let story = ix.story(c.doc);
            if tried.contains(&story) {
                note(&mut considered, k, Verdict::StoryTried);
                continue;
            }
            tried.push(story);
            let m = Match {
                story,
                doc: c.doc,
                score: c.score,
                reported,
            };
            if !self.agrees_with_story(lang, input, &query, &m) {
                note(&mut considered, k, Verdict::DisagreesWithStory);
                if split.is_none() {
                    split = self.split_off(lang, input, c, &o, &m).map(|members| (m, members));
                }
            } else if !self.is_mutual(lang, &m) {
                note(&mut considered, k, Verdict::NotMutual);
            } else {
                note(&mut considered, k, Verdict::Joined);
                let mut d = self.join(input, m.doc, false, Some(m.reported));
                d.considered = considered;
                return d;
            }
        }
        // No story took the record, but it is one member's article and contradicts others of
        // that member's story: the member (with the pages that joined through it) leaves that
        // story, and the record joins it in the story they now make.
        if let Some((m, members)) = split {
            let mut d = self.join(input, m.doc, false, Some(m.reported));
            let own = format_id(ix.record(m.doc));
            d.relation = relation_to(lang, ix.lang(m.doc));
            d.story_id = own.clone();
            d.event_id = own;
            d.split = Some((m.story, members));
            d.considered = considered;
            return d;
        }
        // The best event; other events the record reports too, whose pages agree with the best
        // one's, are one event with it (late evidence: a page bridging two write-ups).
        let mut events: Vec<u32> = Vec::new();
        let events_of = cands
            .iter()
            .enumerate()
            .filter(|&(k, c)| overlap(k).is_some_and(|o| self.same_event(input, c, &o)))
            .map(|(_, c)| c);
        for c in events_of {
            let e = self.index.event(c.doc);
            if events.iter().any(|&d| self.index.event(d) == e) {
                continue;
            }
            if let Some(&best) = events.first() {
                let o = Overlap::of(self.side(best), self.side(c.doc));
                if o.day_conflict || !o.numbers_agree() {
                    continue;
                }
            }
            events.push(c.doc);
        }
        let mut d = self.original(input, events.first().copied());
        d.link = events.iter().skip(1).map(|&doc| self.index.event(doc)).collect();
        d.considered = considered;
        d
    }

    /// A new story, in the event of `event` (a document) or in an event of its own.
    fn original(&self, input: &FoldInput, event: Option<u32>) -> Decision {
        Decision {
            story_id: input.record_id.clone(),
            relation: Relation::Original,
            duplicate_of: None,
            score: None,
            event_id: event.map_or_else(|| input.record_id.clone(), |d| format_id(self.index.event(d))),
            event_via: event.map(|d| format_id(self.index.record(d))),
            updates: Vec::new(),
            considered: Vec::new(),
            merge: Vec::new(),
            link: Vec::new(),
            split: None,
        }
    }

    fn side(&self, doc: u32) -> Side<'_> {
        Side {
            features: self.index.features(doc),
            order: self.index.order(doc),
            event_day: self.index.event_day(doc),
        }
    }
}
