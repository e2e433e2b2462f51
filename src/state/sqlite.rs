//! The embedded state store's backend (SQLite): which inputs are done, and the fold index's documents.
//!
//! An input is "done" only once every sink has acknowledged its record, so a crash before that
//! re-reads it on the next start (at-least-once delivery; record ids make replays idempotent).
//! Fold documents are written when the fold decides, so the index survives restarts; they are
//! stored as the fold encodes them (`fold::row::DocRow`), in arrival order.
//!
//! All methods block; callers run them on blocking threads. One connection behind a mutex is
//! enough for one process; WAL lets a reader (a human with `sqlite3`) look without stopping us.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

use crate::fold::row::DocRow;
use crate::model::Receipt;

use super::{FoldChange, SinkAck, StoryFilter, text_prefix};

const SCHEMA_VERSION: i64 = 3;

pub struct Sqlite {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Sqlite {
    /// Opens (creating if needed) the store at `path`, with its folder.
    pub fn open(path: &Path) -> anyhow::Result<Sqlite> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create state folder {}", dir.display()))?;
        }
        let conn = Connection::open(path).with_context(|| format!("cannot open state store {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .with_context(|| format!("cannot use state store {}", path.display()))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            anyhow::bail!(
                "state store {} has schema version {version}, newer than this newsfold understands ({SCHEMA_VERSION})",
                path.display()
            );
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS done (
                source TEXT NOT NULL,
                key TEXT NOT NULL,
                raw_hash TEXT NOT NULL,
                record_id TEXT NOT NULL,
                done_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                PRIMARY KEY (source, key, raw_hash)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS site_templates (
                host TEXT PRIMARY KEY,
                data TEXT NOT NULL,
                saved_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS acks (
                record_id TEXT NOT NULL,
                sink TEXT NOT NULL,
                acked_at TEXT NOT NULL,
                PRIMARY KEY (record_id, sink)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS fold_rows (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                record_id TEXT NOT NULL UNIQUE,
                doc BLOB NOT NULL
            );
            CREATE TABLE IF NOT EXISTS decisions (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                record_id TEXT,
                story_id TEXT,
                source TEXT NOT NULL,
                location TEXT NOT NULL,
                entry TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS decisions_record ON decisions (record_id);
            CREATE INDEX IF NOT EXISTS decisions_story ON decisions (story_id);
            CREATE INDEX IF NOT EXISTS decisions_location ON decisions (location);
            CREATE VIRTUAL TABLE IF NOT EXISTS decision_text USING fts5 (
                title, body, content = '', contentless_delete = 1
            );
            CREATE TABLE IF NOT EXISTS http_cache (
                url TEXT PRIMARY KEY,
                etag TEXT,
                last_modified TEXT,
                updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            ) WITHOUT ROWID;",
        )
        .with_context(|| format!("cannot initialise state store {}", path.display()))?;
        if version < SCHEMA_VERSION {
            // v3 keeps each fold document as the fold encodes it; v2 kept it column by column
            // (converted here, in order); v1 fingerprints are not comparable and are dropped.
            migrate_fold_docs(&conn, version)
                .with_context(|| format!("cannot migrate state store {}", path.display()))?;
        }
        Ok(Sqlite {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the store takes writes now (`/readyz`): a row written inside a transaction that is
    /// rolled back, so a read-only file, a full lock or a vanished folder shows.
    pub fn probe_writable(&self) -> anyhow::Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .with_context(|| format!("state store {} cannot start a write", self.path.display()))?;
        tx.execute("INSERT OR REPLACE INTO http_cache (url) VALUES ('newsfold:probe')", [])
            .with_context(|| format!("state store {} does not take writes", self.path.display()))?;
        tx.rollback()?;
        Ok(())
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent; keep going.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this exact input (same source, key and bytes) was already delivered.
    pub fn is_done(&self, source: &str, key: &str, raw_hash: &str) -> anyhow::Result<bool> {
        let conn = self.conn();
        let found: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM done WHERE source = ?1 AND key = ?2 AND raw_hash = ?3",
                params![source, key, raw_hash],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.is_some())
    }

    /// How many seconds ago any version of this input (source and key, whatever its bytes) was
    /// delivered; `None` if never.
    pub fn done_age(&self, source: &str, key: &str) -> anyhow::Result<Option<i64>> {
        let conn = self.conn();
        let age: Option<Option<f64>> = conn
            .query_row(
                "SELECT (julianday('now') - julianday(max(done_at))) * 86400.0 FROM done WHERE source = ?1 AND key = ?2",
                params![source, key],
                |r| r.get(0),
            )
            .optional()?;
        Ok(age.flatten().map(|a| a.max(0.0) as i64))
    }

    /// The ETag and Last-Modified last seen for `url`.
    pub fn validators(&self, url: &str) -> anyhow::Result<crate::fetch::Validators> {
        let conn = self.conn();
        let found = conn
            .query_row(
                "SELECT etag, last_modified FROM http_cache WHERE url = ?1",
                params![url],
                |r| {
                    Ok(crate::fetch::Validators {
                        etag: r.get(0)?,
                        last_modified: r.get(1)?,
                    })
                },
            )
            .optional()?;
        Ok(found.unwrap_or_default())
    }

    pub fn save_validators(&self, url: &str, v: &crate::fetch::Validators) -> anyhow::Result<()> {
        let conn = self.conn();
        if v.is_empty() {
            conn.execute("DELETE FROM http_cache WHERE url = ?1", params![url])?;
        } else {
            conn.execute(
                "INSERT INTO http_cache (url, etag, last_modified) VALUES (?1, ?2, ?3)
                 ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
                    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                params![url, v.etag, v.last_modified],
            )?;
        }
        Ok(())
    }

    /// Marks inputs done with when each sink acknowledged their records, in one transaction.
    pub fn mark_delivered(&self, receipts: &[Receipt], acks: &[SinkAck]) -> anyhow::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            // Only for records still indexed: an evicted one's acknowledgements would never go.
            let mut put_ack = tx.prepare(
                "INSERT OR REPLACE INTO acks (record_id, sink, acked_at)
                 SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM fold_rows WHERE record_id = ?1)",
            )?;
            for a in acks {
                put_ack.execute(params![a.record_id, &*a.sink, a.at])?;
            }
            let mut stmt =
                tx.prepare("INSERT OR IGNORE INTO done (source, key, raw_hash, record_id) VALUES (?1, ?2, ?3, ?4)")?;
            for r in receipts {
                stmt.execute(params![&*r.source, r.key, r.raw_hash, r.record_id])?;
                if let Some(alias) = r.alias.as_deref().filter(|a| *a != r.key) {
                    stmt.execute(params![&*r.source, alias, r.raw_hash, r.record_id])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Fold decisions, in one transaction: each one's new document, the documents a merge or
    /// event link moved, the evicted ones (with their decision log entries), and its entry.
    pub fn commit_folds(&self, changes: &[FoldChange<'_>]) -> anyhow::Result<()> {
        use crate::fold::index::IndexedDoc;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut put_doc = tx.prepare("INSERT OR IGNORE INTO fold_rows (record_id, doc) VALUES (?1, ?2)")?;
            let mut get = tx.prepare("SELECT doc FROM fold_rows WHERE record_id = ?1")?;
            let mut put = tx.prepare("UPDATE fold_rows SET doc = ?2 WHERE record_id = ?1")?;
            let mut story = tx.prepare("UPDATE decisions SET story_id = ?2 WHERE record_id = ?1")?;
            let mut evict = Evict::prepare(&tx)?;
            let mut log = tx.prepare(
                "INSERT INTO decisions (record_id, story_id, source, location, entry) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut text = tx.prepare("INSERT INTO decision_text (rowid, title, body) VALUES (?1, ?2, ?3)")?;
            for c in changes {
                if let Some(row) = c.doc {
                    put_doc.execute(params![row.record_id, row.blob])?;
                }
                for m in c.moved {
                    let blob: Option<Vec<u8>> = get.query_row(params![m.record_id], |r| r.get(0)).optional()?;
                    let Some(blob) = blob else { continue };
                    let row = DocRow {
                        record_id: m.record_id.clone(),
                        blob,
                    };
                    let row = IndexedDoc::replace_placement(&row, m)
                        .map_err(|e| anyhow::anyhow!("fold document {}: {e}", m.record_id))?;
                    put.execute(params![row.record_id, row.blob])?;
                    story.execute(params![m.record_id, m.story_id])?;
                }
                evict.run(c.evicted)?;
                if let Some((entry, body)) = c.log {
                    let json = serde_json::to_string(entry)?;
                    log.execute(params![
                        entry.record_id(),
                        entry.story_id(),
                        entry.input.source,
                        entry.input.location,
                        json
                    ])?;
                    let title = entry.extraction.as_ref().and_then(|x| x.title.as_deref()).unwrap_or("");
                    text.execute(params![tx.last_insert_rowid(), title, text_prefix(body)])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// An input that never became a record; the latest `keep` refusals are kept.
    pub fn log_refusals(&self, entries: &[crate::explain::Entry], keep: usize) -> anyhow::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare(
                "INSERT INTO decisions (record_id, story_id, source, location, entry) VALUES (NULL, NULL, ?1, ?2, ?3)",
            )?;
            for e in entries {
                put.execute(params![e.input.source, e.input.location, serde_json::to_string(e)?])?;
            }
        }
        tx.execute(
            "DELETE FROM decisions WHERE record_id IS NULL AND seq NOT IN
               (SELECT seq FROM decisions WHERE record_id IS NULL ORDER BY seq DESC LIMIT ?1)",
            params![keep as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Decision log entries about `target`: a record id, a story id (every member), or a location
    /// (exactly, or a file path ending with it), newest last; with each its `seq`.
    pub fn decisions(&self, target: &str) -> anyhow::Result<Vec<(i64, crate::explain::Entry)>> {
        let conn = self.conn();
        let mut out = Vec::new();
        let queries = [
            "SELECT seq, entry FROM decisions WHERE record_id = ?1 ORDER BY seq",
            "SELECT seq, entry FROM decisions WHERE story_id = ?1 ORDER BY seq",
            "SELECT seq, entry FROM decisions WHERE location = ?1 ORDER BY seq",
            "SELECT seq, entry FROM decisions WHERE location LIKE '%' || ?1 ESCAPE '\\' ORDER BY seq",
        ];
        for (i, q) in queries.iter().enumerate() {
            let arg = if i == 3 {
                target.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
            } else {
                target.to_string()
            };
            let mut stmt = conn.prepare(q)?;
            let rows = stmt.query_map(params![arg], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (seq, json) = row?;
                let entry = serde_json::from_str(&json).with_context(|| {
                    format!(
                        "state store {}: decision {seq} is not a decision-v1 entry",
                        self.path.display()
                    )
                })?;
                out.push((seq, entry));
            }
            if !out.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// Stories in the decision log, newest first, with their members' entries.
    pub fn stories(
        &self,
        filter: &StoryFilter,
        limit: usize,
    ) -> anyhow::Result<Vec<(String, Vec<crate::explain::Entry>)>> {
        let ids: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn.prepare(
                "SELECT story_id, MAX(seq) AS last FROM decisions
                 WHERE story_id IS NOT NULL
                   AND (?1 IS NULL OR source = ?1)
                   AND (?2 IS NULL OR json_extract(entry, '$.extraction.lang') = ?2)
                   AND (?3 IS NULL OR substr(json_extract(entry, '$.at'), 1, 10) >= ?3)
                   AND (?4 IS NULL OR substr(json_extract(entry, '$.at'), 1, 10) <= ?4)
                   AND (?5 IS NULL OR seq IN (SELECT rowid FROM decision_text WHERE decision_text MATCH ?5))
                 GROUP BY story_id ORDER BY last DESC LIMIT ?6",
            )?;
            let query = filter.text.as_deref().map(fts_query).filter(|q| !q.is_empty());
            let rows = stmt.query_map(
                params![filter.source, filter.lang, filter.from, filter.to, query, limit as i64],
                |r| r.get::<_, String>(0),
            )?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let members = self.story_members(&id)?;
            out.push((id, members));
        }
        Ok(out)
    }

    /// The entries of a story's members, in the order they were decided.
    pub fn story_members(&self, story_id: &str) -> anyhow::Result<Vec<crate::explain::Entry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT entry FROM decisions WHERE story_id = ?1 ORDER BY seq")?;
        let rows = stmt.query_map(params![story_id], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            out.push(serde_json::from_str(&json?)?);
        }
        Ok(out)
    }

    /// Refusals logged after `seq`, oldest first.
    pub fn refusals_after(&self, seq: i64) -> anyhow::Result<Vec<crate::explain::Entry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT entry FROM decisions WHERE record_id IS NULL AND seq > ?1 ORDER BY seq")?;
        let rows = stmt.query_map(params![seq], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            out.push(serde_json::from_str(&json?)?);
        }
        Ok(out)
    }

    /// The decision log's last sequence number (0 when empty).
    pub fn last_decision(&self) -> anyhow::Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM decisions", [], |r| r.get(0))?)
    }

    /// Every host's learnt template (`scrape::template`). A row that does not parse is skipped
    /// and relearnt.
    pub fn load_templates(&self) -> anyhow::Result<Vec<(String, crate::scrape::template::Host)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT host, data FROM site_templates ORDER BY saved_at DESC")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (host, data) = row?;
            if let Ok(h) = serde_json::from_str(&data) {
                out.push((host, h));
            }
        }
        Ok(out)
    }

    /// One host's learnt template, if it has one.
    pub fn load_template(&self, host: &str) -> anyhow::Result<Option<crate::scrape::template::Host>> {
        let conn = self.conn();
        let data: Option<String> = conn
            .query_row("SELECT data FROM site_templates WHERE host = ?1", params![host], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
    }

    /// Saves hosts' templates and deletes forgotten hosts', in one transaction.
    pub fn save_templates(&self, changes: &crate::scrape::template::Changes) -> anyhow::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare(
                "INSERT OR REPLACE INTO site_templates (host, data, saved_at) VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            )?;
            for (host, h) in &changes.save {
                put.execute(params![host, serde_json::to_string(h)?])?;
            }
            let mut delete = tx.prepare("DELETE FROM site_templates WHERE host = ?1")?;
            for host in &changes.delete {
                delete.execute(params![host])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// When each sink acknowledged `record_id`, in order.
    pub fn acks(&self, record_id: &str) -> anyhow::Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT sink, acked_at FROM acks WHERE record_id = ?1 ORDER BY acked_at, sink")?;
        let rows = stmt.query_map(params![record_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When every sink had acknowledged `record_id`'s input, if they have.
    pub fn done_at(&self, record_id: &str) -> anyhow::Result<Option<String>> {
        Ok(self.conn().query_row(
            "SELECT MIN(done_at) FROM done WHERE record_id = ?1",
            params![record_id],
            |r| r.get::<_, Option<String>>(0),
        )?)
    }

    /// Entries and their bytes in the decision log: (entries, bytes of JSON).
    pub fn decision_log_size(&self) -> anyhow::Result<(i64, i64)> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(entry)), 0) FROM decisions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Removes documents the fold index evicted, with their decision log entries, so the persisted
    /// index and the log stay bounded too.
    pub fn delete_docs(&self, record_ids: &[String]) -> anyhow::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        Evict::prepare(&tx)?.run(record_ids)?;
        tx.commit()?;
        Ok(())
    }

    /// Every fold document, in the order they were indexed.
    pub fn load_docs(&self) -> anyhow::Result<Vec<DocRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT record_id, doc FROM fold_rows ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok(DocRow {
                record_id: r.get(0)?,
                blob: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// Moves a v2 store's `fold_docs` columns into v3 rows (a v1 table has nothing comparable).
fn migrate_fold_docs(conn: &Connection, version: i64) -> anyhow::Result<()> {
    use crate::fold::index::IndexedDoc;
    use crate::model::{Lang, Relation};
    let has_old: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'fold_docs'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)?;
    if has_old && version == 2 {
        let mut stmt = conn.prepare(
            "SELECT record_id, story_id, relation, duplicate_of, lang, content_hash, location, original_url, features,
                    sketch, at, event_day
             FROM fold_docs ORDER BY seq",
        )?;
        let docs = stmt.query_map([], |r| {
            let relation: String = r.get(2)?;
            let lang: Option<String> = r.get(4)?;
            let blob: Vec<u8> = r.get(8)?;
            Ok(IndexedDoc {
                record_id: r.get(0)?,
                story_id: r.get(1)?,
                relation: match relation.as_str() {
                    "duplicate" => Relation::Duplicate,
                    "translation" => Relation::Translation,
                    "near_duplicate" => Relation::NearDuplicate,
                    _ => Relation::Original,
                },
                duplicate_of: r.get(3)?,
                lang: lang.as_deref().and_then(Lang::from_code),
                content_hash: r.get(5)?,
                location: r.get(6)?,
                original_url: r.get(7)?,
                alternates: Vec::new(),
                features: blob
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                order: Vec::new(),
                sketch: crate::fold::minhash::Sketch::from_bytes(&r.get::<_, Vec<u8>>(9)?).unwrap_or_default(),
                at: r.get(10)?,
                event_day: r.get::<_, Option<i64>>(11)?.map(|v| ((v / 100) as u8, (v % 100) as u8)),
                event_id: r.get(1)?,
            })
        })?;
        let mut insert = conn.prepare("INSERT OR IGNORE INTO fold_rows (record_id, doc) VALUES (?1, ?2)")?;
        for doc in docs {
            let row = doc?.to_row();
            insert.execute(params![row.record_id, row.blob])?;
        }
    }
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS fold_docs; PRAGMA user_version = {SCHEMA_VERSION};"
    ))?;
    Ok(())
}

/// Words as an FTS5 query that cannot be a syntax error: each a quoted string, all required.
fn fts_query(text: &str) -> String {
    text.split_whitespace()
        .take(16)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Deleting evicted documents with their decision log entries, text and acknowledgements.
struct Evict<'t> {
    doc: rusqlite::Statement<'t>,
    text: rusqlite::Statement<'t>,
    log: rusqlite::Statement<'t>,
    acks: rusqlite::Statement<'t>,
}

impl<'t> Evict<'t> {
    fn prepare(tx: &'t rusqlite::Transaction<'_>) -> rusqlite::Result<Evict<'t>> {
        Ok(Evict {
            doc: tx.prepare("DELETE FROM fold_rows WHERE record_id = ?1")?,
            text: tx
                .prepare("DELETE FROM decision_text WHERE rowid IN (SELECT seq FROM decisions WHERE record_id = ?1)")?,
            log: tx.prepare("DELETE FROM decisions WHERE record_id = ?1")?,
            acks: tx.prepare("DELETE FROM acks WHERE record_id = ?1")?,
        })
    }

    fn run(&mut self, record_ids: &[String]) -> rusqlite::Result<()> {
        for id in record_ids {
            self.doc.execute(params![id])?;
            self.text.execute(params![id])?;
            self.log.execute(params![id])?;
            self.acks.execute(params![id])?;
        }
        Ok(())
    }
}
