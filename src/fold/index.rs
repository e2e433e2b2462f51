//! The story index: every folded document's fingerprint and sketch, its story, and the running
//! document frequency that makes rare features weigh more than common ones.
//!
//! Bounded: documents leave oldest first when the index holds more than `max_docs` or a document
//! is older than `window`. Memory per document is kept small on purpose (ids as u128, feature keys
//! as u32, at most `MAX_FEATURES` features, a 36-byte sketch); `memory_bytes` estimates it.
//! Feature keys and ranks live in one arena in arrival order (`store::Arena`), not in allocations
//! of each document's own; a document holds its offset and length there.
//!
//! Invariants: a record id is live at most once; a feature carried by exactly one live document is
//! in `singles` (most features are: a page's own names and numbers), one carried by more is in
//! `postings`, whose `df` counts the live documents carrying it; a posting list is sorted by
//! sequence number, so evicted documents form a prefix that is trimmed when the list is next
//! touched; a list holds at most `MAX_POSTINGS` carriers, the newest (a full list drops its older
//! half; the pages of one story arrive close together). Lookup maps may hold keys of evicted
//! documents until the next sweep; lookups check liveness. Record and content ids are looked up by
//! 64 of their 128 bits and checked against the document where it matters.

use std::collections::VecDeque;

use rustc_hash::FxHashMap as HashMap;

use super::fingerprint::Class;
use super::minhash::Sketch;
use super::store::{Arena, PostingTable, Postings, Tag};
use crate::model::{Lang, Relation};

/// Posting lists keep at most this many (the newest) carriers; see the module invariant.
pub const MAX_POSTINGS: usize = 1024;

/// Candidates come from the page's this-many rarest features...
pub const CANDIDATE_FEATURES: usize = 8;
/// ...each walked over its most recent carriers only: the pages of one story arrive close in time,
/// and this bounds the work per page whatever the index size.
pub const RECENT_CARRIERS: usize = 64;
/// The rarity prior: document frequencies are smoothed as if the index had already seen this
/// many pages of the genre, none carrying the feature. A feature's share of the index is then
/// estimated as (df + 1) / (pages + PRIOR_PAGES), so nothing looks rare before the index holds
/// pages to be rare among: with three pages indexed, a feature two of them carry has a share of
/// 3/103, not 2/3 → "rare". See ARCHITECTURE.md, "Rarity before evidence".
pub const PRIOR_PAGES: f32 = 100.0;
/// A shared feature counts fully as evidence (see `fold::MIN_EVIDENCE`) when its smoothed share is
/// at most one in this many pages, and in proportion to its log-rarity below that: a feature on
/// one page in 20 counts about half. With the prior, a feature seen once counts 0.74 in an empty
/// index and fully from about a thousand pages on.
pub const EVIDENCE_FULL_RARITY: f32 = 200.0;

/// How many candidates are scored exactly after the rough pass.
pub const RESCORE: usize = 10;

/// A record or story id: the 32 hex digits of a record id, as a number.
pub type Id = u128;

pub fn parse_id(hex: &str) -> Id {
    u128::from_str_radix(hex, 16).unwrap_or_else(|_| {
        // Not one of ours (a foreign or corrupt id): hash it so it still has an identity.
        xxhash_rust::xxh3::xxh3_128(hex.as_bytes())
    })
}

pub fn format_id(id: Id) -> String {
    format!("{id:032x}")
}

pub fn hash_str(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

/// What is persisted of one document, and replayed at start.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedDoc {
    pub record_id: String,
    pub story_id: String,
    pub relation: Relation,
    pub duplicate_of: Option<String>,
    pub lang: Option<Lang>,
    pub content_hash: String,
    pub location: String,
    pub original_url: Option<String>,
    /// Other-language versions the page names (`hreflang` alternates), resolved.
    pub alternates: Vec<String>,
    pub features: Vec<u32>,
    /// Rank of each feature's first mention (`Fingerprint::order`); empty when unknown.
    pub order: Vec<u8>,
    pub sketch: Sketch,
    /// (month, day) of the event, from the lead.
    pub event_day: Option<(u8, u8)>,
    /// The event the document's story reports (a story id: the event's first story).
    pub event_id: String,
    /// Unix seconds when it was indexed; the window counts from here.
    pub at: i64,
}

struct Doc {
    /// The fingerprint's norm when indexed. Weights drift slowly as the index grows; a stored
    /// norm spares a table lookup per feature of every candidate scored.
    norm: f32,
    /// Sequence number of the document this one matched (`NONE` when none).
    duplicate_of: u32,
    /// Arena position of the first feature key and rank (see `Arena`), and how many there are.
    start: u32,
    len: u8,
    /// Whether the ranks are known (rows persisted before ranks were kept have none).
    ordered: bool,
    relation: Relation,
    record: Id,
    story: Id,
    event: Id,
    sketch: Sketch,
    at: i64,
}

/// No document.
const NONE: u32 = u32::MAX;

/// 64 bits of a 128-bit id, for lookup maps (the document holds the whole id).
fn key64(id: Id) -> u64 {
    (id as u64) ^ ((id >> 64) as u64)
}

/// Bounds on the index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub max_docs: usize,
    /// Seconds; 0 means no window.
    pub window_secs: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_docs: 1_000_000,
            window_secs: 0,
        }
    }
}

pub struct StoryIndex {
    limits: Limits,
    docs: VecDeque<Doc>,
    /// `tags[i]` belongs to `docs[i]`.
    tags: VecDeque<Tag>,
    /// Sequence number of `docs[0]`.
    base: u32,
    by_record: HashMap<u64, u32>,
    by_content: HashMap<u64, u32>,
    by_location: HashMap<u64, u32>,
    /// URLs indexed pages name as versions of themselves (original URL, alternates).
    by_link: HashMap<u64, u32>,
    postings: PostingTable,
    /// Features exactly one live document carries, and that document.
    singles: HashMap<u32, u32>,
    arena: Arena,
    /// Evictions since the lookup maps were last swept.
    stale: usize,
    /// Kept as the index changes, so `memory_bytes` is O(1): the heap bytes of every posting list.
    posting_bytes: usize,
}

/// A query feature's weight², document frequency and the evidence it gives when shared.
#[derive(Clone, Copy, Debug)]
struct Weight {
    w2: f32,
    df: u32,
    evidence: f32,
}

/// A page's fingerprint with its weights and rarest features (`StoryIndex::query`).
pub struct Query<'a> {
    features: &'a [u32],
    weights: Vec<Weight>,
    norm: f32,
    rarest: Vec<usize>,
}

impl Query<'_> {
    pub fn features(&self) -> &[u32] {
        self.features
    }
}

/// A scored candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub doc: u32,
    pub score: f32,
    /// Shared specific features count one, shared names half (see `fold::MIN_EVIDENCE`).
    pub evidence: f32,
}

impl StoryIndex {
    pub fn new(limits: Limits) -> StoryIndex {
        StoryIndex {
            limits,
            docs: VecDeque::new(),
            tags: VecDeque::new(),
            base: 0,
            by_record: HashMap::default(),
            by_content: HashMap::default(),
            by_location: HashMap::default(),
            by_link: HashMap::default(),
            postings: PostingTable::default(),
            singles: HashMap::default(),
            arena: Arena::default(),
            stale: 0,
            posting_bytes: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    fn live(&self, seq: u32) -> Option<u32> {
        (seq.wrapping_sub(self.base) < self.docs.len() as u32).then_some(seq)
    }

    fn doc(&self, seq: u32) -> &Doc {
        &self.docs[seq.wrapping_sub(self.base) as usize]
    }

    pub fn get_record(&self, record: Id) -> Option<u32> {
        self.by_record
            .get(&key64(record))
            .and_then(|&s| self.live(s))
            .filter(|&s| self.doc(s).record == record)
    }

    /// A feature's document frequency and rarity weight as the index stands.
    pub fn rarity(&self, f: u32) -> (u32, f32) {
        let df = self.df(f);
        (df, self.weight_df(f, df))
    }

    pub fn by_content(&self, content: Id) -> Option<u32> {
        self.by_content.get(&key64(content)).and_then(|&s| self.live(s))
    }

    pub fn by_location(&self, location: &str) -> Option<u32> {
        self.by_location.get(&hash_str(location)).and_then(|&s| self.live(s))
    }

    /// The first live page that names `url` as its original or an alternate.
    pub fn by_link(&self, url: &str) -> Option<u32> {
        self.by_link.get(&hash_str(url)).and_then(|&s| self.live(s))
    }

    pub fn record(&self, doc: u32) -> Id {
        self.doc(doc).record
    }

    pub fn story(&self, doc: u32) -> Id {
        self.doc(doc).story
    }

    pub fn event(&self, doc: u32) -> Id {
        self.doc(doc).event
    }

    /// Moves a live document to another story (a merge the fold decided on later evidence),
    /// with its new relation and the record it now stands against (0: none).
    pub fn set_story(&mut self, doc: u32, story: Id, relation: Relation, duplicate_of: Id) {
        let i = doc.wrapping_sub(self.base) as usize;
        let duplicate_of = self.get_record(duplicate_of).unwrap_or(NONE);
        if let Some(d) = self.docs.get_mut(i) {
            d.story = story;
            d.relation = relation;
            d.duplicate_of = duplicate_of;
        }
    }

    /// Moves a live document to another event.
    pub fn set_event(&mut self, doc: u32, event: Id) {
        let i = doc.wrapping_sub(self.base) as usize;
        if let Some(d) = self.docs.get_mut(i) {
            d.event = event;
        }
    }

    /// The live documents' sequence numbers, oldest first.
    pub fn seqs(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.docs.len() as u32).map(move |i| self.base.wrapping_add(i))
    }

    /// The live document this one matched when it joined its story, if any.
    pub fn matched(&self, doc: u32) -> Option<u32> {
        self.live(self.doc(doc).duplicate_of)
    }

    /// Whether `seq` names a live document.
    pub fn is_live(&self, seq: u32) -> bool {
        self.live(seq).is_some()
    }

    pub fn order(&self, doc: u32) -> &[u8] {
        let d = self.doc(doc);
        if d.ordered {
            &self.arena.ranks[self.arena.range(d.start, d.len)]
        } else {
            &[]
        }
    }

    pub fn at(&self, doc: u32) -> i64 {
        self.doc(doc).at
    }

    fn tag(&self, seq: u32) -> Tag {
        self.tags[seq.wrapping_sub(self.base) as usize]
    }

    pub fn lang(&self, doc: u32) -> Option<Lang> {
        self.tag(doc).lang()
    }

    pub fn event_day(&self, doc: u32) -> Option<(u8, u8)> {
        self.tag(doc).event_day()
    }

    pub fn sketch(&self, doc: u32) -> &Sketch {
        &self.doc(doc).sketch
    }

    pub fn features(&self, doc: u32) -> &[u32] {
        let d = self.doc(doc);
        &self.arena.keys[self.arena.range(d.start, d.len)]
    }

    /// The document's relation and the record it matched, while that record is indexed.
    pub fn relation(&self, doc: u32) -> (Relation, Option<Id>) {
        let d = self.doc(doc);
        (d.relation, self.live(d.duplicate_of).map(|m| self.doc(m).record))
    }

    /// Rarity weight of a feature: its class prior times its smoothed inverse document frequency
    /// plus one (so a feature every page carries still weighs a little).
    fn weight_df(&self, feature: u32, df: u32) -> f32 {
        Class::of(feature).prior() * (idf(ln_pages(self.docs.len()), df) + 1.0)
    }

    /// How much of its class's evidence a shared feature carried by `df` documents gives.
    fn evidence_factor(&self, df: u32) -> f32 {
        (idf(ln_pages(self.docs.len()), df) / EVIDENCE_FULL_RARITY.ln()).clamp(0.0, 1.0)
    }

    /// How many live documents carry `f`.
    fn df(&self, f: u32) -> u32 {
        match self.postings.get(f) {
            Some(p) => p.df,
            None => u32::from(self.singles.contains_key(&f)),
        }
    }

    /// Each feature's weight, and the fingerprint's norm.
    fn weigh(&self, features: &[u32]) -> (Vec<Weight>, f32) {
        let w: Vec<Weight> = features
            .iter()
            .map(|&f| {
                let df = self.df(f);
                Weight {
                    w2: self.weight_df(f, df).powi(2),
                    df,
                    // Only a rare shared feature is evidence: thousands of stories share a
                    // common name or date.
                    evidence: Class::of(f).evidence() * self.evidence_factor(df),
                }
            })
            .collect();
        let norm = w.iter().map(|w| w.w2).sum::<f32>().sqrt();
        (w, norm)
    }

    /// Weighted cosine of two sorted fingerprints, and the evidence they share, with `a`'s weights
    /// and both norms already computed (see `weigh`).
    fn similarity_weighed(&self, a: &[u32], wa: &[Weight], na: f32, b: &[u32], nb: f32) -> (f32, f32) {
        let (mut i, mut j) = (0, 0);
        let mut dot = 0.0f32;
        let mut evidence = 0.0f32;
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += wa[i].w2;
                    evidence += wa[i].evidence;
                    i += 1;
                    j += 1;
                }
            }
        }
        let denom = na * nb;
        if denom == 0.0 {
            (0.0, evidence)
        } else {
            ((dot / denom).min(1.0), evidence)
        }
    }

    /// Share of the smaller fingerprint's features that the other one has.
    pub fn feature_containment(&self, a: &[u32], b: &[u32]) -> f32 {
        let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        if small.is_empty() {
            return 0.0;
        }
        let shared = small.iter().filter(|f| large.binary_search(f).is_ok()).count();
        shared as f32 / small.len() as f32
    }

    /// A page's features weighed against the index once, for every candidate search it makes.
    pub fn query<'a>(&self, features: &'a [u32]) -> Query<'a> {
        let (weights, norm) = self.weigh(features);
        let mut rarest: Vec<usize> = (0..features.len()).filter(|&k| weights[k].df > 0).collect();
        rarest.sort_by_key(|&k| (weights[k].df, features[k]));
        rarest.truncate(CANDIDATE_FEATURES);
        Query {
            features,
            weights,
            norm,
            rarest,
        }
    }

    /// Live documents sharing one of the query's `CANDIDATE_FEATURES` rarest features and passing
    /// `keep(doc, lang, event day)`: the `RESCORE` best by a rough score (the weights of the shared
    /// rare features), best first.
    ///
    /// Each of those features is walked over its `RECENT_CARRIERS` newest documents, so the work
    /// per page is bounded whatever the index size.
    pub fn rough(&self, q: &Query<'_>, keep: impl Fn(u32, Option<Lang>, Option<(u8, u8)>) -> bool) -> Vec<u32> {
        self.rough_top(q, keep, RESCORE)
    }

    /// `rough`, keeping the `n` best.
    fn rough_top(
        &self,
        q: &Query<'_>,
        keep: impl Fn(u32, Option<Lang>, Option<(u8, u8)>) -> bool,
        n: usize,
    ) -> Vec<u32> {
        let mut acc: HashMap<u32, f32> = HashMap::default();
        acc.reserve(q.rarest.len() * RECENT_CARRIERS);
        for &k in &q.rarest {
            let f = q.features[k];
            let carriers: &[u32] = match (self.postings.get(f), self.singles.get(&f)) {
                (Some(p), _) => &p.docs,
                (None, Some(d)) => std::slice::from_ref(d),
                (None, None) => continue,
            };
            let w = q.weights[k].w2;
            for &d in carriers.iter().rev().take(RECENT_CARRIERS) {
                if self.live(d).is_none() {
                    continue;
                }
                let t = self.tag(d);
                if keep(d, t.lang(), t.event_day()) {
                    *acc.entry(d).or_insert(0.0) += w;
                }
            }
        }
        let mut rough: Vec<(u32, f32)> = acc.into_iter().collect();
        let by_weight = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if rough.len() > n {
            rough.select_nth_unstable_by(n, by_weight);
            rough.truncate(n);
        }
        rough.sort_by(by_weight);
        rough.into_iter().map(|(d, _)| d).collect()
    }

    /// The query scored exactly against one document's whole fingerprint.
    pub fn score(&self, q: &Query<'_>, doc: u32) -> Scored {
        let (score, evidence) =
            self.similarity_weighed(q.features, &q.weights, q.norm, self.features(doc), self.doc(doc).norm);
        Scored { doc, score, evidence }
    }

    /// The rough candidates scored exactly, best first.
    pub fn candidates_for(
        &self,
        q: &Query<'_>,
        keep: impl Fn(u32, Option<Lang>, Option<(u8, u8)>) -> bool,
    ) -> Vec<Scored> {
        self.candidates_top(q, keep, RESCORE)
    }

    /// `candidates_for`, scoring the `n` best rough candidates.
    pub fn candidates_top(
        &self,
        q: &Query<'_>,
        keep: impl Fn(u32, Option<Lang>, Option<(u8, u8)>) -> bool,
        n: usize,
    ) -> Vec<Scored> {
        let mut out: Vec<Scored> = self
            .rough_top(q, keep, n)
            .into_iter()
            .map(|d| self.score(q, d))
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
        out
    }

    /// `candidates_for` with a query of its own.
    pub fn candidates(
        &self,
        features: &[u32],
        keep: impl Fn(u32, Option<Lang>, Option<(u8, u8)>) -> bool,
    ) -> Vec<Scored> {
        self.candidates_for(&self.query(features), keep)
    }

    /// The sequence number the next inserted document gets.
    pub fn next_seq(&self) -> u32 {
        self.base.wrapping_add(self.docs.len() as u32)
    }

    /// Adds a document, then evicts what the limits no longer allow. Returns the evicted
    /// documents' (sequence number, record, story). Idempotent: a live record id is left as it is.
    pub fn insert(&mut self, d: &IndexedDoc) -> Vec<(u32, Id, Id)> {
        let record = parse_id(&d.record_id);
        if self.get_record(record).is_some() {
            return Vec::new();
        }
        let seq = self.base.wrapping_add(self.docs.len() as u32);
        // The norm with each feature's document frequency counting this document, as `weigh`
        // would compute it now, summed while the postings are at hand.
        let ln_n = ln_pages(self.docs.len());
        let tag = Tag::new(d.lang, d.event_day);
        let mut norm2 = 0.0f32;
        let base = self.base;
        // A fingerprint holds at most `MAX_FEATURES` (48) features; a longer one (a foreign row)
        // is cut where a document's length field ends.
        let features = &d.features[..d.features.len().min(usize::from(u8::MAX))];
        for &f in features {
            let df = if let Some(p) = self.postings.get_mut(f) {
                let before = p.heap_bytes();
                p.df += 1;
                let evicted = p
                    .docs
                    .iter()
                    .take_while(|&&s| s.wrapping_sub(base) > u32::MAX / 2)
                    .count();
                p.docs.drain(..evicted);
                if p.docs.len() >= MAX_POSTINGS {
                    // Full: the older half gives way, so the list keeps the newest carriers.
                    p.docs.drain(..MAX_POSTINGS / 2);
                }
                p.docs.push(seq);
                let (df, after) = (p.df, p.heap_bytes());
                self.posting_bytes = self.posting_bytes + after - before;
                df
            } else if let Some(first) = self.singles.remove(&f) {
                // A second carrier: the feature gets a posting list.
                let p = Postings {
                    key: f,
                    df: 2,
                    docs: smallvec::smallvec![first, seq],
                };
                self.posting_bytes += p.heap_bytes();
                self.postings.insert_new(p);
                2
            } else {
                self.singles.insert(f, seq);
                1
            };
            // The same expression as `weight_df`, so the norm is the same to the bit.
            norm2 += (Class::of(f).prior() * (idf(ln_n, df) + 1.0)).powi(2);
        }
        self.by_record.insert(key64(record), seq);
        self.by_content.entry(key64(parse_id(&d.content_hash))).or_insert(seq);
        self.by_location.entry(hash_str(&d.location)).or_insert(seq);
        for u in d.original_url.iter().chain(&d.alternates) {
            self.by_link.entry(hash_str(u)).or_insert(seq);
        }
        let duplicate_of = d
            .duplicate_of
            .as_deref()
            .and_then(|r| self.get_record(parse_id(r)))
            .unwrap_or(NONE);
        // Grown by a quarter at a time rather than doubled: the document array is most of the
        // index, and doubling would leave up to half of it unused.
        if self.docs.len() == self.docs.capacity() {
            let more = (self.docs.len() / 4).max(16);
            self.docs.reserve_exact(more);
            self.tags.reserve_exact(more);
        }
        let ordered = d.order.len() == d.features.len();
        let start = self.arena.push(features, ordered.then(|| &d.order[..features.len()]));
        let len = features.len();
        self.docs.push_back(Doc {
            norm: norm2.sqrt(),
            duplicate_of,
            start,
            len: len as u8,
            ordered,
            relation: d.relation,
            record,
            story: parse_id(&d.story_id),
            event: parse_id(&d.event_id),
            sketch: d.sketch,
            at: d.at,
        });
        self.tags.push_back(tag);
        self.evict(d.at)
    }

    fn evict(&mut self, now: i64) -> Vec<(u32, Id, Id)> {
        let mut out = Vec::new();
        while let Some(front) = self.docs.front() {
            let too_many = self.docs.len() > self.limits.max_docs;
            let too_old = self.limits.window_secs > 0 && front.at < now - self.limits.window_secs;
            if !too_many && !too_old {
                break;
            }
            let seq = self.base;
            let Some(doc) = self.docs.pop_front() else { break };
            self.tags.pop_front();
            self.base = self.base.wrapping_add(1);
            for f in &self.arena.keys[self.arena.range(doc.start, doc.len)] {
                if self.singles.get(f) == Some(&seq) {
                    self.singles.remove(f);
                } else if let Some(p) = self.postings.get_mut(*f) {
                    p.df = p.df.saturating_sub(1);
                    if p.df == 0 {
                        self.posting_bytes -= p.heap_bytes();
                        self.postings.remove(*f);
                    }
                }
            }
            out.push((seq, doc.record, doc.story));
            self.stale += 1;
        }
        if !out.is_empty() {
            let live_start = self.docs.front().map_or_else(|| self.arena.end(), |d| d.start);
            self.arena.trim(live_start);
        }
        if self.stale > 1024 && self.stale > self.docs.len() / 4 {
            self.sweep();
        }
        out
    }

    /// Drops lookup entries that point at evicted documents.
    fn sweep(&mut self) {
        let (base, len) = (self.base, self.docs.len() as u32);
        let live = |s: &u32| s.wrapping_sub(base) < len;
        self.by_record.retain(|_, s| live(s));
        self.by_content.retain(|_, s| live(s));
        self.by_location.retain(|_, s| live(s));
        self.by_link.retain(|_, s| live(s));
        for p in self.postings.iter_mut() {
            let before = p.heap_bytes();
            p.docs.retain(|s| live(s));
            self.posting_bytes = self.posting_bytes + p.heap_bytes() - before;
        }
        self.stale = 0;
    }

    /// An estimate of the heap the index holds, from its containers' capacities.
    pub fn memory_bytes(&self) -> usize {
        self.memory_parts().iter().map(|(_, b)| b).sum()
    }

    /// `memory_bytes` by part: documents (with their features and tags), posting lists, single
    /// carriers, lookup maps.
    pub fn memory_parts(&self) -> [(&'static str, usize); 4] {
        use std::mem::size_of;
        let map = |cap: usize, entry: usize| cap * (entry + 1);
        // Each feature slot holds its key and its rank.
        let docs =
            self.docs.capacity() * size_of::<Doc>() + self.arena.bytes() + self.tags.capacity() * size_of::<Tag>();
        let postings = self.postings.bytes() + self.posting_bytes;
        let singles = map(self.singles.capacity(), 4 + 4);
        let lookups = map(self.by_record.capacity(), 8 + 4)
            + map(self.by_content.capacity(), 8 + 4)
            + map(self.by_location.capacity(), 8 + 4)
            + map(self.by_link.capacity(), 8 + 4);
        [
            ("documents", docs),
            ("postings", postings),
            ("singles", singles),
            ("lookups", lookups),
        ]
    }
}

/// ln(n + PRIOR_PAGES), for the index size n.
fn ln_pages(n: usize) -> f32 {
    (n as f32 + PRIOR_PAGES).ln()
}

/// The smoothed inverse document frequency, given `ln_pages`: ln((n + PRIOR_PAGES) / (df + 1)).
fn idf(ln_pages: f32, df: u32) -> f32 {
    (ln_pages - ln_df(df)).max(0.0)
}

/// ln(df + 1), from a table for the document frequencies that occur most.
fn ln_df(df: u32) -> f32 {
    static TABLE: std::sync::LazyLock<Vec<f32>> =
        std::sync::LazyLock::new(|| (0..4096).map(|d| (d as f32 + 1.0).ln()).collect());
    TABLE
        .get(df as usize)
        .copied()
        .unwrap_or_else(|| (df as f32 + 1.0).ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Document `i`, its own story and event, indexed at second `i`.
    fn doc(i: u32, features: Vec<u32>, order: Vec<u8>) -> IndexedDoc {
        IndexedDoc {
            record_id: format!("{i:032x}"),
            story_id: format!("{i:032x}"),
            relation: Relation::Original,
            duplicate_of: None,
            lang: Some(Lang::Vi),
            content_hash: format!("{:032x}", i + 1_000_000),
            location: format!("https://example.vn/{i}"),
            original_url: None,
            alternates: Vec::new(),
            features,
            order,
            sketch: Sketch::default(),
            event_day: None,
            event_id: format!("{i:032x}"),
            at: i64::from(i),
        }
    }

    #[test]
    fn the_running_tallies_and_the_arena_match_a_recount() {
        let mut ix = StoryIndex::new(Limits {
            max_docs: 300,
            window_secs: 0,
        });
        // Document i's features (sorted, unique) and, for even i, their ranks.
        let features = |i: u32| {
            let mut f: Vec<u32> = (0..(i % 40)).map(|k| (k * 7 + i % 13) | ((k % 9) << 28)).collect();
            f.sort_unstable();
            f.dedup();
            f
        };
        let order = |i: u32| {
            let n = features(i).len();
            if i.is_multiple_of(2) {
                (0..n).map(|k| (k * 3 % 7) as u8).collect()
            } else {
                Vec::new()
            }
        };
        for i in 0..2000u32 {
            ix.insert(&doc(i, features(i), order(i)));
            let recount_postings: usize = ix.postings.iter().map(Postings::heap_bytes).sum();
            assert_eq!(ix.posting_bytes, recount_postings);
            // The arena holds the live documents' features back to back after a dead prefix
            // that is trimmed once it is an eighth of it.
            let live: usize = ix.docs.iter().map(|d| usize::from(d.len)).sum();
            let dead = ix
                .docs
                .front()
                .map_or(0, |d| d.start.wrapping_sub(ix.arena.base) as usize);
            assert_eq!(dead + live, ix.arena.keys.len(), "after document {i}");
            assert!(
                dead * 8 < ix.arena.keys.len() + 8 * 40,
                "dead prefix {dead} kept after document {i}"
            );
            // Sequence numbers start at 0, so document `seq` is the one inserted `seq`th.
            for seq in ix.seqs() {
                assert_eq!(ix.features(seq), features(seq).as_slice(), "features of {seq}");
                assert_eq!(ix.order(seq), order(seq).as_slice(), "ranks of {seq}");
            }
        }
        assert_eq!(ix.len(), 300);
    }

    #[test]
    fn a_common_feature_leads_to_its_newest_carriers() {
        let mut ix = StoryIndex::new(Limits::default());
        let common = 7 | (3 << 28);
        let n = MAX_POSTINGS as u32 + 100;
        for i in 0..n {
            ix.insert(&doc(i, vec![common, 1000 + i], Vec::new()));
        }
        assert_eq!(ix.rarity(common).0, n);
        let found = ix.candidates(&[common], |_, _, _| true);
        assert_eq!(found.len(), RESCORE);
        for c in found {
            assert!(
                c.doc >= n - RECENT_CARRIERS as u32,
                "carrier {} is not among the newest",
                c.doc
            );
        }
    }
}
