//! The story index: every folded document's fingerprint, its story, and the running document
//! frequency that makes rare features weigh more than common ones.
//!
//! Invariants: a record id appears at most once; `df` counts, for each feature, the indexed
//! documents that carry it; a posting list never holds more than `MAX_POSTINGS` documents (a
//! feature that common says nothing about which story a page belongs to, and capping it bounds the
//! work per page). The index is rebuilt at start by replaying persisted documents in their order.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::fingerprint::Class;
use crate::model::{Lang, Relation};

/// Posting lists stop growing here; see the module invariant.
pub const MAX_POSTINGS: usize = 512;

/// What the index keeps of one document, and what is persisted to replay it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexedDoc {
    pub record_id: String,
    pub story_id: String,
    pub relation: Relation,
    pub duplicate_of: Option<String>,
    pub lang: Option<Lang>,
    pub content_hash: String,
    pub location: String,
    pub original_url: Option<String>,
    pub features: Vec<u64>,
}

struct Doc {
    record_id: Arc<str>,
    story_id: Arc<str>,
    relation: Relation,
    duplicate_of: Option<Arc<str>>,
    lang: Option<Lang>,
    features: Box<[u64]>,
}

#[derive(Default)]
pub struct StoryIndex {
    docs: Vec<Doc>,
    by_record: HashMap<Arc<str>, u32>,
    by_content: HashMap<String, u32>,
    by_location: HashMap<String, u32>,
    /// Documents that name an original URL, keyed by it, for originals arriving after their copies.
    by_original_url: HashMap<String, u32>,
    postings: HashMap<u64, Vec<u32>>,
    df: HashMap<u64, u32>,
}

/// A scored candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub doc: u32,
    pub score: f32,
    /// How many shared features are of a specific class (see `Class::is_specific`).
    pub specific: u32,
}

impl StoryIndex {
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn get_record(&self, record_id: &str) -> Option<u32> {
        self.by_record.get(record_id).copied()
    }

    pub fn by_content(&self, content_hash: &str) -> Option<u32> {
        self.by_content.get(content_hash).copied()
    }

    pub fn by_location(&self, location: &str) -> Option<u32> {
        self.by_location.get(location).copied()
    }

    pub fn by_original_url(&self, url: &str) -> Option<u32> {
        self.by_original_url.get(url).copied()
    }

    pub fn record_id(&self, doc: u32) -> &str {
        &self.docs[doc as usize].record_id
    }

    pub fn story_id(&self, doc: u32) -> &str {
        &self.docs[doc as usize].story_id
    }

    pub fn lang(&self, doc: u32) -> Option<Lang> {
        self.docs[doc as usize].lang
    }

    pub fn relation(&self, doc: u32) -> (Relation, Option<&str>) {
        let d = &self.docs[doc as usize];
        (d.relation, d.duplicate_of.as_deref())
    }

    /// Rarity weight of a feature: its class prior times a smoothed inverse document frequency.
    pub fn weight(&self, feature: u64) -> f32 {
        let n = self.docs.len() as f32;
        let df = self.df.get(&feature).copied().unwrap_or(0) as f32;
        Class::of(feature).prior() * (((n + 1.0) / (df + 0.5)).ln() + 1.0)
    }

    fn norm(&self, features: &[u64]) -> f32 {
        features.iter().map(|&f| self.weight(f).powi(2)).sum::<f32>().sqrt()
    }

    /// Weighted cosine of two fingerprints (both sorted).
    pub fn similarity(&self, a: &[u64], b: &[u64]) -> (f32, u32) {
        let (mut i, mut j) = (0, 0);
        let mut dot = 0.0f32;
        let mut specific = 0u32;
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += self.weight(a[i]).powi(2);
                    if Class::of(a[i]).is_specific() {
                        specific += 1;
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        let denom = self.norm(a) * self.norm(b);
        if denom == 0.0 {
            (0.0, specific)
        } else {
            ((dot / denom).min(1.0), specific)
        }
    }

    /// Documents that share at least one feature with `features` and pass `keep`, scored.
    pub fn candidates(&self, features: &[u64], keep: impl Fn(u32) -> bool) -> Vec<Scored> {
        let mut seen: HashMap<u32, ()> = HashMap::new();
        for f in features {
            if let Some(list) = self.postings.get(f) {
                for &d in list {
                    if keep(d) {
                        seen.insert(d, ());
                    }
                }
            }
        }
        let mut out: Vec<Scored> = seen
            .into_keys()
            .map(|d| {
                let (score, specific) = self.similarity(features, &self.docs[d as usize].features);
                Scored {
                    doc: d,
                    score,
                    specific,
                }
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
        out
    }

    pub fn features(&self, doc: u32) -> &[u64] {
        &self.docs[doc as usize].features
    }

    /// Adds a document. Idempotent: a record id already present is left as it is.
    pub fn insert(&mut self, d: &IndexedDoc) -> u32 {
        if let Some(existing) = self.get_record(&d.record_id) {
            return existing;
        }
        let id = self.docs.len() as u32;
        let record_id: Arc<str> = Arc::from(d.record_id.as_str());
        let story_id: Arc<str> = match self.by_record.get(d.story_id.as_str()) {
            Some(&founder) => self.docs[founder as usize].story_id.clone(),
            None => Arc::from(d.story_id.as_str()),
        };
        for &f in &d.features {
            *self.df.entry(f).or_insert(0) += 1;
            let list = self.postings.entry(f).or_default();
            if list.len() < MAX_POSTINGS {
                list.push(id);
            }
        }
        self.by_record.insert(record_id.clone(), id);
        self.by_content.entry(d.content_hash.clone()).or_insert(id);
        self.by_location.entry(d.location.clone()).or_insert(id);
        if let Some(u) = &d.original_url {
            self.by_original_url.entry(u.clone()).or_insert(id);
        }
        self.docs.push(Doc {
            record_id,
            story_id,
            relation: d.relation,
            duplicate_of: d.duplicate_of.as_deref().map(Arc::from),
            lang: d.lang,
            features: d.features.clone().into_boxed_slice(),
        });
        id
    }
}
