//! The SQLite sink: records in a table of an embedded database file, same contract as PostgreSQL
//! (see `sql`). One batch is one transaction.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::{Connection, params};
use serde::Deserialize;

use super::sql::{
    COLUMNS, Dialect, TABLE_VERSION, change_statements, changes, create_statements, index_statements,
    migrate_statements, table_name,
};
use super::{DuplicatePolicy, Item};
use crate::config::Cx;

/// `type = "sqlite"` as written: records in a table of an embedded SQLite file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSqliteSink {
    pub path: String,
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SqliteSettings {
    pub path: PathBuf,
    pub table: String,
}

impl SqliteSettings {
    pub fn build(cx: &mut Cx<'_>, key: &str, raw: RawSqliteSink) -> Option<(SqliteSettings, DuplicatePolicy)> {
        let path = cx.expand_env(&format!("{key}.path"), &raw.path);
        let settings = SqliteSettings {
            path: cx.resolve(Path::new(&path)),
            table: table_name(cx, key, raw.table),
        };
        Some((settings, raw.duplicates))
    }

    /// `/readyz`: the database opens read-write and answers.
    pub fn probe(&self) -> anyhow::Result<()> {
        let path = &self.path;
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open {}", path.display()))?;
        conn.query_row("SELECT 1", [], |_| Ok(()))
            .with_context(|| format!("{} does not answer", path.display()))
    }
}

pub struct SqliteSink {
    conn: Connection,
    table: String,
    target: String,
}

impl SqliteSink {
    pub fn open(settings: &SqliteSettings) -> anyhow::Result<SqliteSink> {
        let (path, table) = (settings.path.as_path(), settings.table.as_str());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create folder {}", dir.display()))?;
        }
        let conn = Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(&create_statements(table, Dialect::Sqlite))
            .with_context(|| format!("cannot create table {table} in {}", path.display()))?;
        let version: Option<i32> = conn
            .query_row(
                "SELECT version FROM newsfold_schema WHERE table_name = ?1",
                params![table],
                |r| r.get(0),
            )
            .ok();
        match version {
            None => {
                conn.execute(
                    "INSERT INTO newsfold_schema (table_name, version) VALUES (?1, ?2)",
                    params![table, TABLE_VERSION],
                )?;
            }
            Some(v) if v > TABLE_VERSION => {
                anyhow::bail!(
                    "table {table} in {} has version {v}, newer than this newsfold writes ({TABLE_VERSION})",
                    path.display()
                )
            }
            Some(v) => {
                if let Some(sql) = migrate_statements(table, v, Dialect::Sqlite) {
                    conn.execute_batch(&format!("BEGIN; {sql} COMMIT;"))
                        .with_context(|| format!("cannot migrate table {table} in {}", path.display()))?;
                }
            }
        }
        conn.execute_batch(&index_statements(table))
            .with_context(|| format!("cannot index table {table} in {}", path.display()))?;
        Ok(SqliteSink {
            conn,
            table: table.to_string(),
            target: path.display().to_string(),
        })
    }

    pub fn write(&mut self, items: &[Item<'_>]) -> anyhow::Result<()> {
        let tx = self
            .conn
            .transaction()
            .with_context(|| format!("cannot write to {}", self.target))?;
        {
            let placeholders: Vec<String> = (1..=COLUMNS.len()).map(|i| format!("?{i}")).collect();
            let mut insert = tx.prepare(&format!(
                "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING",
                self.table,
                COLUMNS.join(", "),
                placeholders.join(", ")
            ))?;
            let mut updates = change_statements(&self.table, Dialect::Sqlite)
                .iter()
                .map(|sql| tx.prepare(sql))
                .collect::<Result<Vec<_>, _>>()?;
            for item in items {
                match item {
                    Item::Record(r) => {
                        insert.execute(params![
                            r.id,
                            r.story_id,
                            r.event_id,
                            r.relation.as_str(),
                            r.duplicate_of,
                            r.source,
                            r.location,
                            r.original_url,
                            r.lang.map(|l| l.code()),
                            r.title,
                            r.body,
                            r.published_at.map(|d| d.to_rfc3339()),
                            serde_json::to_string(&r.authors)?,
                            r.content_hash,
                            r.ingested_at.to_rfc3339(),
                            r.canonical_url,
                            r.updated_at.map(|d| d.to_rfc3339()),
                            serde_json::to_string(&r.alternates)?,
                            r.lang_confidence,
                        ])?;
                    }
                    Item::Update(u) => {
                        for c in changes(u) {
                            let (k, values) = c.statement();
                            updates[k].execute(rusqlite::params_from_iter(values))?;
                        }
                    }
                }
            }
        }
        tx.commit().with_context(|| format!("cannot write to {}", self.target))
    }
}
