//! Folding: deciding, page by page in arrival order, which story a record belongs to.
//!
//! A record joins an earlier story when (in this order of evidence) it is the same record replayed,
//! its normalised body equals an indexed one (`duplicate`), it names an indexed page as its source
//! (or an indexed page names it), or its cross-lingual fingerprint's best match among documents in
//! other languages scores above the floor and it is that document's best match too
//! (`translation`). Otherwise it founds a story (`original`).
//!
//! Pure and synchronous: the pipeline runs it on its own thread and persists what it indexes.

pub mod fingerprint;
pub mod index;
pub mod normalize;

use crate::model::{Lang, Relation};
use index::{IndexedDoc, StoryIndex};

/// Default floor on the cross-lingual score (weighted cosine of fingerprints).
pub const DEFAULT_MIN_SCORE: f64 = 0.30;

/// Fewest shared specific features (mid/large numbers, decimals, dates, codes) a translation match
/// needs: names and small numbers alone are shared by too many stories of one province.
pub const MIN_SPECIFIC_SHARED: u32 = 3;

/// What the fold needs to know about one record.
#[derive(Clone, Debug)]
pub struct FoldInput {
    pub record_id: String,
    pub lang: Option<Lang>,
    pub content_hash: String,
    pub location: String,
    pub original_url: Option<String>,
    pub features: Vec<u64>,
}

/// Where a record goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub story_id: String,
    pub relation: Relation,
    pub duplicate_of: Option<String>,
    /// The cross-lingual score when the decision came from it.
    pub score: Option<f32>,
}

pub struct Folder {
    index: StoryIndex,
    min_score: f32,
}

impl Folder {
    pub fn new(min_score: f64) -> Folder {
        Folder {
            index: StoryIndex::default(),
            min_score: min_score as f32,
        }
    }

    /// Replays a persisted document (at start-up).
    pub fn restore(&mut self, doc: &IndexedDoc) {
        self.index.insert(doc);
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Decides and indexes. Returns the decision and, when the record is new to the index, the
    /// document to persist.
    pub fn fold(&mut self, input: FoldInput) -> (Decision, Option<IndexedDoc>) {
        if let Some(doc) = self.index.get_record(&input.record_id) {
            let (relation, duplicate_of) = self.index.relation(doc);
            let decision = Decision {
                story_id: self.index.story_id(doc).to_string(),
                relation,
                duplicate_of: duplicate_of.map(str::to_string),
                score: None,
            };
            return (decision, None);
        }
        let decision = self.decide(&input);
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
        };
        self.index.insert(&doc);
        (decision, Some(doc))
    }

    fn join(&self, doc: u32, relation: Relation, score: Option<f32>) -> Decision {
        Decision {
            story_id: self.index.story_id(doc).to_string(),
            relation,
            duplicate_of: Some(self.index.record_id(doc).to_string()),
            score,
        }
    }

    fn decide(&self, input: &FoldInput) -> Decision {
        let ix = &self.index;
        if let Some(doc) = ix.by_content(&input.content_hash) {
            return self.join(doc, Relation::Duplicate, None);
        }
        let linked = input
            .original_url
            .as_deref()
            .and_then(|u| ix.by_location(u))
            .or_else(|| ix.by_original_url(&input.location));
        if let Some(doc) = linked {
            let relation = if ix.lang(doc) == input.lang {
                Relation::Duplicate
            } else {
                Relation::Translation
            };
            return self.join(doc, relation, None);
        }
        if let Some(lang) = input.lang
            && let Some((doc, score)) = self.best_translation(lang, &input.features)
        {
            return self.join(doc, Relation::Translation, Some(score));
        }
        Decision {
            story_id: input.record_id.clone(),
            relation: Relation::Original,
            duplicate_of: None,
            score: None,
        }
    }

    /// The other-language document this fingerprint matches best, if the match clears the floor
    /// and is mutual: no document of `lang` outside the candidate's story matches it better.
    fn best_translation(&self, lang: Lang, features: &[u64]) -> Option<(u32, f32)> {
        let ix = &self.index;
        let cands = ix.candidates(features, |d| ix.lang(d).is_some_and(|l| l != lang));
        let best = *cands.first()?;
        if best.score < self.min_score || best.specific < MIN_SPECIFIC_SHARED {
            return None;
        }
        let story = ix.story_id(best.doc);
        let rivals = ix.candidates(ix.features(best.doc), |d| {
            ix.lang(d) == Some(lang) && ix.story_id(d) != story
        });
        if rivals.first().is_some_and(|r| r.score > best.score) {
            return None;
        }
        Some((best.doc, best.score))
    }
}
