//! The state store: which inputs are done, fetch validators, the fold index's documents, the
//! decision log, sinks' acknowledgements and learnt site templates.
//!
//! Two backends behind one facade, chosen by the config: the embedded default (`sqlite`, one file
//! per process) and PostgreSQL (`postgres`) when `[cluster]` is set, shared by every member, its
//! tables named with the cluster's prefix. Both keep the same contract:
//!
//! An input is "done" only once every sink has acknowledged its record, so a crash before that
//! re-reads it on the next start (at-least-once delivery; record ids make replays idempotent).
//! Fold documents are written when the fold decides, so the index survives restarts (and, in a
//! cluster, a change of fold leader); they are stored as the fold encodes them
//! (`fold::row::DocRow`), in arrival order.
//!
//! All methods block; callers run them on blocking threads.

mod postgres;
mod sqlite;

use crate::fold::row::DocRow;
use crate::model::Receipt;

pub use postgres::{SharedSettings, shared_tables};

pub struct StateStore {
    backend: Backend,
}

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// Calls the same method on whichever backend the store has.
macro_rules! on_backend {
    ($self:ident, $s:ident => $call:expr) => {
        match &$self.backend {
            Backend::Sqlite($s) => $call,
            Backend::Postgres($s) => $call,
        }
    };
}

impl StateStore {
    /// Opens (creating if needed) the embedded store at `path`, with its folder.
    pub fn open(path: &std::path::Path) -> anyhow::Result<StateStore> {
        Ok(StateStore {
            backend: Backend::Sqlite(sqlite::Sqlite::open(path)?),
        })
    }

    /// Connects to a cluster's shared store, creating its tables if needed.
    pub fn open_shared(settings: &SharedSettings) -> anyhow::Result<StateStore> {
        Ok(StateStore {
            backend: Backend::Postgres(postgres::Postgres::open(settings)?),
        })
    }

    /// Where the store is, for messages: a file path, or a PostgreSQL URL without its password.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Sqlite(s) => s.path().display().to_string(),
            Backend::Postgres(p) => p.describe(),
        }
    }

    /// Takes the fold's lead: from now on only this store's commits of fold decisions succeed,
    /// until another member takes it (a fencing term in the shared store). The embedded store
    /// has one writer and nothing to fence.
    pub fn take_fold_lead(&self) -> anyhow::Result<i64> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(0),
            Backend::Postgres(p) => p.take_fold_lead(),
        }
    }

    /// Keeps an input that could not be handed on after repeated deliveries (cluster only).
    pub fn dead_letter(&self, letter: &DeadLetter) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => anyhow::bail!("the embedded state store keeps no dead letters"),
            Backend::Postgres(p) => p.dead_letter(letter),
        }
    }

    /// Inputs kept as dead letters (cluster only; 0 for the embedded store).
    pub fn dead_letters(&self) -> anyhow::Result<i64> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(0),
            Backend::Postgres(p) => p.dead_letters(),
        }
    }

    /// Whether the store takes writes now (`/readyz`): a row written inside a transaction that is
    /// rolled back, so a read-only file, a full lock or a vanished folder shows.
    pub fn probe_writable(&self) -> anyhow::Result<()> {
        on_backend!(self, s => s.probe_writable())
    }

    /// Whether this exact input (same source, key and bytes) was already delivered.
    pub fn is_done(&self, source: &str, key: &str, raw_hash: &str) -> anyhow::Result<bool> {
        on_backend!(self, s => s.is_done(source, key, raw_hash))
    }

    /// How many seconds ago any version of this input (source and key, whatever its bytes) was
    /// delivered; `None` if never.
    pub fn done_age(&self, source: &str, key: &str) -> anyhow::Result<Option<i64>> {
        on_backend!(self, s => s.done_age(source, key))
    }

    /// The ETag and Last-Modified last seen for `url`.
    pub fn validators(&self, url: &str) -> anyhow::Result<crate::fetch::Validators> {
        on_backend!(self, s => s.validators(url))
    }

    pub fn save_validators(&self, url: &str, v: &crate::fetch::Validators) -> anyhow::Result<()> {
        on_backend!(self, s => s.save_validators(url, v))
    }

    /// Marks inputs done, in one transaction.
    pub fn mark_done(&self, receipts: &[Receipt]) -> anyhow::Result<()> {
        self.mark_delivered(receipts, &[])
    }

    /// Marks inputs done with when each sink acknowledged their records, in one transaction.
    /// Acknowledgements are kept only for records still indexed.
    pub fn mark_delivered(&self, receipts: &[Receipt], acks: &[SinkAck]) -> anyhow::Result<()> {
        on_backend!(self, s => s.mark_delivered(receipts, acks))
    }

    /// Fold decisions, in one transaction: each one's new document, the documents a merge or
    /// event link moved, the evicted ones (with their decision log entries), and its entry.
    pub fn commit_folds(&self, changes: &[FoldChange<'_>]) -> anyhow::Result<()> {
        on_backend!(self, s => s.commit_folds(changes))
    }

    /// An input that never became a record; the latest `keep` refusals are kept.
    pub fn log_refusals(&self, entries: &[crate::explain::Entry], keep: usize) -> anyhow::Result<()> {
        on_backend!(self, s => s.log_refusals(entries, keep))
    }

    /// Decision log entries about `target`: a record id, a story id (every member), or a location
    /// (exactly, or a file path ending with it), newest last; with each its `seq`.
    pub fn decisions(&self, target: &str) -> anyhow::Result<Vec<(i64, crate::explain::Entry)>> {
        on_backend!(self, s => s.decisions(target))
    }

    /// Stories in the decision log, newest first, with their members' entries.
    pub fn stories(
        &self,
        filter: &StoryFilter,
        limit: usize,
    ) -> anyhow::Result<Vec<(String, Vec<crate::explain::Entry>)>> {
        on_backend!(self, s => s.stories(filter, limit))
    }

    /// The entries of a story's members, in the order they were decided.
    pub fn story_members(&self, story_id: &str) -> anyhow::Result<Vec<crate::explain::Entry>> {
        on_backend!(self, s => s.story_members(story_id))
    }

    /// Refusals logged after `seq`, oldest first.
    pub fn refusals_after(&self, seq: i64) -> anyhow::Result<Vec<crate::explain::Entry>> {
        on_backend!(self, s => s.refusals_after(seq))
    }

    /// The decision log's last sequence number (0 when empty).
    pub fn last_decision(&self) -> anyhow::Result<i64> {
        on_backend!(self, s => s.last_decision())
    }

    /// Every host's learnt template (`scrape::template`), most recently saved first. A row that
    /// does not parse is skipped and relearnt.
    pub fn load_templates(&self) -> anyhow::Result<Vec<(String, crate::scrape::template::Host)>> {
        on_backend!(self, s => s.load_templates())
    }

    /// One host's learnt template, if it has one.
    pub fn load_template(&self, host: &str) -> anyhow::Result<Option<crate::scrape::template::Host>> {
        on_backend!(self, s => s.load_template(host))
    }

    /// Saves hosts' templates and deletes forgotten hosts', in one transaction.
    pub fn save_templates(&self, changes: &crate::scrape::template::Changes) -> anyhow::Result<()> {
        on_backend!(self, s => s.save_templates(changes))
    }

    /// When each sink acknowledged `record_id`, in order.
    pub fn acks(&self, record_id: &str) -> anyhow::Result<Vec<(String, String)>> {
        on_backend!(self, s => s.acks(record_id))
    }

    /// When every sink had acknowledged `record_id`'s input, if they have.
    pub fn done_at(&self, record_id: &str) -> anyhow::Result<Option<String>> {
        on_backend!(self, s => s.done_at(record_id))
    }

    /// Entries and their bytes in the decision log: (entries, bytes of JSON).
    pub fn decision_log_size(&self) -> anyhow::Result<(i64, i64)> {
        on_backend!(self, s => s.decision_log_size())
    }

    /// Removes documents the fold index evicted, with their decision log entries, so the persisted
    /// index and the log stay bounded too.
    pub fn delete_docs(&self, record_ids: &[String]) -> anyhow::Result<()> {
        on_backend!(self, s => s.delete_docs(record_ids))
    }

    /// Every fold document, in the order they were indexed.
    pub fn load_docs(&self) -> anyhow::Result<Vec<DocRow>> {
        on_backend!(self, s => s.load_docs())
    }

    #[cfg(test)]
    fn drop_tables_for_tests(&self) {
        if let Backend::Postgres(p) = &self.backend {
            p.drop_tables();
        }
    }
}
/// What `/stories` filters on; `None` is no filter. Dates are `YYYY-MM-DD` (decision day, UTC).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoryFilter {
    pub source: Option<String>,
    pub lang: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub text: Option<String>,
}

/// What of a body the text index keeps: its first `TEXT_INDEXED` bytes (at a character
/// boundary), where a news article names its who, where and what.
pub const TEXT_INDEXED: usize = 1_000;

pub(crate) fn text_prefix(body: &str) -> &str {
    if body.len() <= TEXT_INDEXED {
        return body;
    }
    let mut end = TEXT_INDEXED;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    &body[..end]
}

/// One fold decision to persist (`StateStore::commit_folds`).
pub struct FoldChange<'a> {
    pub doc: Option<&'a DocRow>,
    pub moved: &'a [crate::fold::row::Moved],
    pub evicted: &'a [String],
    /// The decision log entry and the record's body (for the text index).
    pub log: Option<(&'a crate::explain::Entry, &'a str)>,
}

/// One sink's acknowledgement of one record (RFC 3339, UTC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkAck {
    pub record_id: String,
    pub sink: std::sync::Arc<str>,
    pub at: String,
}

/// An input handed on too many times without being delivered: kept for a human instead of being
/// tried forever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub source: String,
    pub key: String,
    pub location: String,
    pub raw_hash: String,
    pub deliveries: i64,
    pub reason: String,
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn remembers_done_inputs_and_fold_docs_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.sqlite");
        remembers_across_opens(|| StateStore::open(&path).unwrap());
    }

    /// The shared store keeps the same contract (the server is the one CI starts).
    #[test]
    fn the_shared_store_remembers_like_the_embedded_one() {
        let prefix = format!("t{}", fastrand::u32(..));
        let settings = SharedSettings::plain("postgres://postgres@127.0.0.1:5432/test", &prefix);
        let store = match StateStore::open_shared(&settings) {
            Ok(s) => s,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("skipping: no PostgreSQL at 127.0.0.1:5432 ({e:#})");
                return;
            }
            Err(e) => panic!("PostgreSQL is required in CI: {e:#}"),
        };
        remembers_across_opens(|| StateStore::open_shared(&settings).unwrap());
        store.drop_tables_for_tests();
    }

    fn remembers_across_opens(open: impl Fn() -> StateStore) {
        use crate::fold::index::IndexedDoc;
        use crate::model::{Lang, Relation};
        let doc = IndexedDoc {
            record_id: "r1".into(),
            story_id: "r1".into(),
            relation: Relation::Translation,
            duplicate_of: Some("r0".into()),
            lang: Some(Lang::Fr),
            content_hash: "h".into(),
            location: "/x/a.txt".into(),
            original_url: None,
            alternates: Vec::new(),
            features: vec![1, u32::MAX, 42],
            order: vec![0, 1, 2],
            sketch: crate::fold::minhash::sketch("một hai ba bốn năm sáu bảy tám chín mười"),
            event_day: Some((1, 19)),
            event_id: "r1".into(),
            at: 1_700_000_000,
        };
        {
            let s = open();
            assert!(!s.is_done("seeds", "a.txt", "h1").unwrap());
            let row = doc.to_row();
            let change = || FoldChange {
                doc: Some(&row),
                moved: &[],
                evicted: &[],
                log: None,
            };
            // Twice: a replayed decision keeps one document.
            s.commit_folds(&[change()]).unwrap();
            s.commit_folds(&[change()]).unwrap();
            // Delivered once indexed, as the fold stage orders it.
            let acks = ["out", "pg"].map(|sink| SinkAck {
                record_id: "r1".into(),
                sink: Arc::from(sink),
                at: format!("2026-12-01T10:00:0{}.000Z", sink.len()),
            });
            s.mark_delivered(
                &[Receipt {
                    source: Arc::from("seeds"),
                    key: "a.txt".into(),
                    raw_hash: "h1".into(),
                    record_id: "r1".into(),
                    alias: Some("b.txt".into()),
                }],
                &acks,
            )
            .unwrap();
        }
        let s = open();
        assert!(s.is_done("seeds", "a.txt", "h1").unwrap());
        assert!(!s.is_done("seeds", "a.txt", "h2").unwrap());
        assert!(s.is_done("seeds", "b.txt", "h1").unwrap(), "the alias is done too");
        assert!(s.done_age("seeds", "a.txt").unwrap().is_some_and(|a| a < 60));
        assert_eq!(s.done_age("seeds", "c.txt").unwrap(), None);
        let v = crate::fetch::Validators {
            etag: Some("\"abc\"".into()),
            last_modified: None,
        };
        s.save_validators("https://a.vn/rss", &v).unwrap();
        assert_eq!(s.validators("https://a.vn/rss").unwrap(), v);
        assert!(s.validators("https://b.vn/rss").unwrap().is_empty());
        assert_eq!(s.load_docs().unwrap(), vec![doc.to_row()]);
        let at = |n: u8| format!("2026-12-01T10:00:0{n}.000Z");
        assert_eq!(s.acks("r1").unwrap(), [("pg".into(), at(2)), ("out".into(), at(3))]);
        let orphan = SinkAck {
            record_id: "r9".into(),
            sink: Arc::from("out"),
            at: at(4),
        };
        s.mark_delivered(&[], &[orphan]).unwrap();
        assert!(
            s.acks("r9").unwrap().is_empty(),
            "no acknowledgement outlives its document"
        );
        s.delete_docs(&[doc.record_id]).unwrap();
        assert!(s.load_docs().unwrap().is_empty());
        assert!(
            s.acks("r1").unwrap().is_empty(),
            "acknowledgements go with their document"
        );
    }
}
