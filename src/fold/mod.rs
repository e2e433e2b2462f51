//! Folding: deciding, page by page in arrival order, which story a record belongs to.
//!
//! A record joins an earlier story when (in this order of evidence) it is the same record replayed,
//! its normalised body equals an indexed one (`duplicate`), it names an indexed page as its source
//! or an indexed page names it (direct evidence, no scoring), its MinHash sketch nearly matches a
//! same-language document (`near_duplicate`), or its cross-lingual fingerprint's best match among
//! documents in other languages clears the floor and it is that document's best match too
//! (`translation`). Otherwise it founds a story (`original`).
//!
//! Each story has one canonical member: the first, unless `prefer_lang` ranks a later member's
//! language higher; then that member becomes canonical and the decision carries a `StoryUpdate`
//! re-labelling the previous canonical member.
//!
//! Pure and synchronous: the pipeline runs it on its own thread and persists what it indexes.

pub mod fingerprint;
pub mod index;
pub mod minhash;
pub mod normalize;
pub mod row;
pub mod stage;

use rustc_hash::FxHashMap as HashMap;

use crate::model::{Article, Lang, Relation, StoryUpdate, StoryUpdateKind};
use index::{Id, IndexedDoc, Limits, Query, StoryIndex, format_id, parse_id};
use minhash::Sketch;

/// Default floor on the cross-lingual score (weighted cosine of fingerprints). On the dev set true
/// translations score above 0.5 nearly always; 0.4 leaves that margin.
pub const DEFAULT_MIN_SCORE: f64 = 0.40;

/// Two pages that each state at least this many specific numbers (counts, amounts, quantities)...
pub const NUMBERS_MIN: usize = 3;
/// ...and share less than this share of the smaller set report different events: a translation
/// keeps its numbers.
pub const NUMBERS_MIN_SHARED: f32 = 0.3;

/// Least evidence a translation match needs: shared specific features (mid/large numbers,
/// decimals, dates, codes) count one each, shared name bigrams half. Small numbers and years count
/// nothing: too many stories of one province share them.
pub const MIN_EVIDENCE: f32 = 3.0;

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

/// What the fold needs to know about one record.
#[derive(Clone, Debug)]
pub struct FoldInput {
    pub record_id: String,
    pub lang: Option<Lang>,
    pub content_hash: String,
    pub location: String,
    pub original_url: Option<String>,
    pub features: Vec<u32>,
    pub sketch: Sketch,
    /// The event's day and month: the first dated mention in the lead. Two pages reporting
    /// different days are different events, however alike (the same annual conference).
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
        // The lead: the first two paragraphs.
        let lead_len: usize = article.paragraphs.iter().take(2).map(|p| p.len() + 2).sum();
        let (features, event_day) = fingerprint::fingerprint_and_event(&text, article.lang, title_len + lead_len);
        FoldInput {
            record_id,
            lang: article.lang,
            content_hash: normalize::content_hash(body),
            location,
            original_url: article.original_url.clone(),
            features,
            sketch: minhash::sketch(body),
            event_day,
            at,
        }
    }
}

/// Where a record goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub story_id: String,
    pub relation: Relation,
    pub duplicate_of: Option<String>,
    /// The score behind a `near_duplicate` (Jaccard) or `translation` (fingerprint) decision.
    pub score: Option<f32>,
    /// Set when this record became its story's canonical member.
    pub update: Option<StoryUpdate>,
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

struct StoryState {
    canonical: Id,
    rank: usize,
    members: u32,
}

pub struct Folder {
    index: StoryIndex,
    min_score: f32,
    prefer_lang: Vec<Lang>,
    stories: HashMap<Id, StoryState>,
}

/// What one `fold` call changed in the index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Indexed {
    /// The new document to persist, when the record was new.
    pub doc: Option<IndexedDoc>,
    /// Record ids that left the index (to delete from the persisted copy).
    pub evicted: Vec<String>,
}

impl Folder {
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
        self.track(doc);
        self.insert(doc)
    }

    fn track(&mut self, doc: &IndexedDoc) {
        let story = parse_id(&doc.story_id);
        let rank = self.rank(doc.lang);
        let record = parse_id(&doc.record_id);
        let s = self.stories.entry(story).or_insert(StoryState {
            canonical: record,
            rank,
            members: 0,
        });
        s.members += 1;
        if rank < s.rank {
            s.canonical = record;
            s.rank = rank;
        }
    }

    fn insert(&mut self, doc: &IndexedDoc) -> Vec<String> {
        let evicted = self.index.insert(doc);
        let mut out = Vec::with_capacity(evicted.len());
        for (record, story) in evicted {
            if let Some(s) = self.stories.get_mut(&story) {
                s.members -= 1;
                if s.members == 0 {
                    self.stories.remove(&story);
                }
            }
            out.push(format_id(record));
        }
        out
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn memory_bytes(&self) -> usize {
        self.index.memory_bytes() + self.stories.capacity() * (16 + std::mem::size_of::<StoryState>() + 1)
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
                update: None,
            };
            return (decision, Indexed::default());
        }
        let mut decision = self.decide(&input);
        self.apply_preference(&input, &mut decision);
        let doc = IndexedDoc {
            record_id: input.record_id,
            story_id: decision.story_id.clone(),
            relation: decision.relation,
            duplicate_of: decision.duplicate_of.clone(),
            lang: input.lang,
            content_hash: input.content_hash,
            location: input.location,
            original_url: input.original_url,
            features: input.features,
            sketch: input.sketch,
            event_day: input.event_day,
            at: input.at,
        };
        self.track(&doc);
        let evicted = self.insert(&doc);
        (
            decision,
            Indexed {
                doc: Some(doc),
                evicted,
            },
        )
    }

    /// A member whose language ranks above the story's canonical one takes its place.
    fn apply_preference(&self, input: &FoldInput, decision: &mut Decision) {
        if decision.relation == Relation::Original {
            return;
        }
        let story = parse_id(&decision.story_id);
        let Some(state) = self.stories.get(&story) else { return };
        if self.rank(input.lang) >= state.rank {
            return;
        }
        decision.update = Some(StoryUpdate {
            kind: StoryUpdateKind::StoryUpdate,
            story_id: decision.story_id.clone(),
            canonical: input.record_id.clone(),
            record_id: format_id(state.canonical),
            relation: decision.relation,
            updated_at: chrono::DateTime::from_timestamp(input.at, 0).unwrap_or_default(),
        });
        decision.relation = Relation::Original;
        decision.duplicate_of = None;
    }

    fn join(&self, doc: u32, relation: Relation, score: Option<f32>) -> Decision {
        Decision {
            story_id: format_id(self.index.story(doc)),
            relation,
            duplicate_of: Some(format_id(self.index.record(doc))),
            score,
            update: None,
        }
    }

    fn decide(&self, input: &FoldInput) -> Decision {
        let ix = &self.index;
        if let Some(doc) = ix.by_content(parse_id(&input.content_hash)) {
            return self.join(doc, Relation::Duplicate, None);
        }
        let linked = input
            .original_url
            .as_deref()
            .and_then(|u| ix.by_location(u))
            .or_else(|| ix.by_original_url(&input.location));
        if let Some(doc) = linked {
            let relation = if ix.lang(doc) == input.lang {
                Relation::NearDuplicate
            } else {
                Relation::Translation
            };
            return self.join(doc, relation, None);
        }
        let Some(lang) = input.lang else {
            return self.original(input);
        };
        // Weighed once for both searches.
        let query = ix.query(&input.features);
        if let Some((doc, j)) = self.best_near_duplicate(lang, input, &query) {
            return self.join(doc, Relation::NearDuplicate, Some(j));
        }
        if let Some((doc, score)) = self.best_translation(lang, &query, input.event_day) {
            return self.join(doc, Relation::Translation, Some(score));
        }
        self.original(input)
    }

    fn original(&self, input: &FoldInput) -> Decision {
        Decision {
            story_id: input.record_id.clone(),
            relation: Relation::Original,
            duplicate_of: None,
            score: None,
            update: None,
        }
    }

    /// The same-language document whose sketch this one nearly matches, if any. Both must also
    /// state the same facts: stories written on one template share most of their wording.
    fn best_near_duplicate(&self, lang: Lang, input: &FoldInput, query: &Query<'_>) -> Option<(u32, f32)> {
        let ix = &self.index;
        if input.sketch.shingles < NEAR_MIN_SHINGLES {
            return None;
        }
        let conflict = |b: Option<(u8, u8)>| matches!((input.event_day, b), (Some(x), Some(y)) if x != y);
        let rough = ix.rough(query, |_, l, e| l == Some(lang) && !conflict(e));
        rough
            .into_iter()
            // The sketch first: it sits in the document, while the exact score reads the whole
            // fingerprint; no candidate failing this could pass the test below.
            .filter(|&d| {
                let other = ix.sketch(d);
                other.shingles >= NEAR_MIN_SHINGLES
                    && (input.sketch.jaccard(other) >= NEAR_JACCARD
                        || input.sketch.containment(other) >= NEAR_CONTAINMENT.min(NEAR_LOOSE_CONTAINMENT))
            })
            .map(|d| ix.score(query, d))
            .filter(|c| c.score >= NEAR_MIN_SCORE)
            .filter_map(|c| {
                let other = ix.sketch(c.doc);
                // A copy states the same facts (a truncated one, a subset of them) ...
                let facts = ix.feature_containment(&input.features, ix.features(c.doc));
                if facts < NEAR_FACTS {
                    return None;
                }
                // ... in nearly the same words; a subset of the facts vouches for a looser overlap.
                let j = input.sketch.jaccard(other);
                let contained = input.sketch.containment(other);
                let subset = c.evidence >= MIN_EVIDENCE
                    && contained >= NEAR_LOOSE_CONTAINMENT
                    && facts >= NEAR_FEATURE_CONTAINMENT;
                let near = j >= NEAR_JACCARD || contained >= NEAR_CONTAINMENT || subset;
                near.then_some((c.doc, j))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    }

    /// The other-language document this fingerprint matches best, if the match clears the floor
    /// and is mutual: no document of `lang` outside the candidate's story matches it better.
    fn best_translation(&self, lang: Lang, query: &Query<'_>, day: Option<(u8, u8)>) -> Option<(u32, f32)> {
        let ix = &self.index;
        let features = query.features();
        let conflict = |a: Option<(u8, u8)>, b: Option<(u8, u8)>| matches!((a, b), (Some(x), Some(y)) if x != y);
        let cands = ix.candidates_for(query, |_, l, e| l.is_some_and(|l| l != lang) && !conflict(day, e));
        let best = *cands.iter().find(|c| numbers_agree(features, ix.features(c.doc)))?;
        if best.score < self.min_score || best.evidence < MIN_EVIDENCE {
            return None;
        }
        let story = ix.story(best.doc);
        let best_day = ix.event_day(best.doc);
        let rivals = ix.candidates(ix.features(best.doc), |d, l, e| {
            l == Some(lang) && !conflict(best_day, e) && ix.story(d) != story
        });
        let best_features = ix.features(best.doc);
        if rivals
            .iter()
            .find(|r| numbers_agree(best_features, ix.features(r.doc)))
            .is_some_and(|r| r.score > best.score)
        {
            return None;
        }
        Some((best.doc, best.score))
    }
}

/// Whether two fingerprints' specific numbers are compatible with one story (see `NUMBERS_MIN`).
fn numbers_agree(a: &[u32], b: &[u32]) -> bool {
    use fingerprint::Class;
    let numeric = |f: &&u32| matches!(Class::of(**f), Class::NumMid | Class::NumLarge | Class::NumDecimal);
    let na = a.iter().filter(numeric).count();
    let nb = b.iter().filter(numeric).count();
    if na < NUMBERS_MIN || nb < NUMBERS_MIN {
        return true;
    }
    let shared = a.iter().filter(numeric).filter(|f| b.binary_search(f).is_ok()).count();
    shared as f32 >= NUMBERS_MIN_SHARED * na.min(nb) as f32
}
