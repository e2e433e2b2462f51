//! The PostgreSQL sink: records upserted by id into a table it creates (see `sql` for the
//! contract), one transaction per batch. Uses the synchronous client: the sink owns its thread.
//!
//! TLS is not negotiated (`NoTls`): point it at a server on a trusted network or a local socket.
//! The URL's password never appears in logs or errors.

use anyhow::Context;
use postgres::{Client, NoTls};
use serde::Deserialize;

use super::sql::{
    COLUMNS, Dialect, TABLE_VERSION, change_statements, changes, create_statements, index_statements,
    migrate_statements, redact, table_name,
};
use super::{DuplicatePolicy, Item};
use crate::config::Cx;

/// `type = "postgres"` as written: records in a PostgreSQL table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPostgresSink {
    pub url: String,
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
}

/// `url` may hold a password: never log it (see `sql::redact`).
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresSettings {
    pub url: String,
    pub table: String,
}

impl PostgresSettings {
    pub fn build(cx: &mut Cx<'_>, key: &str, raw: RawPostgresSink) -> Option<(PostgresSettings, DuplicatePolicy)> {
        let url = cx.expand_env(&format!("{key}.url"), &raw.url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            cx.error(&format!("{key}.url"), "must start with postgres:// or postgresql://");
        }
        let table = table_name(cx, key, raw.table);
        Some((PostgresSettings { url, table }, raw.duplicates))
    }

    /// `/readyz`: a connection of its own answers `SELECT 1`.
    pub fn probe(&self) -> anyhow::Result<()> {
        let target = redact(&self.url);
        let mut config: postgres::Config = self.url.parse().with_context(|| format!("invalid URL {target}"))?;
        config.connect_timeout(super::probe::CONNECT_TIMEOUT);
        let mut client = config
            .connect(NoTls)
            .with_context(|| format!("cannot connect to {target}"))?;
        client
            .simple_query("SELECT 1")
            .with_context(|| format!("{target} does not answer"))?;
        Ok(())
    }
}

pub struct PostgresSink {
    /// `None` after a failure: the next write connects again.
    client: Option<Client>,
    url: String,
    table: String,
    target: String,
}

impl PostgresSink {
    pub fn open(settings: &PostgresSettings) -> anyhow::Result<PostgresSink> {
        let (url, table) = (settings.url.as_str(), settings.table.as_str());
        let target = redact(url);
        let mut client = Client::connect(url, NoTls).with_context(|| format!("cannot connect to {target}"))?;
        client
            .batch_execute(&create_statements(table, Dialect::Postgres))
            .with_context(|| format!("cannot create table {table} at {target}"))?;
        let row = client.query_opt("SELECT version FROM newsfold_schema WHERE table_name = $1", &[&table])?;
        match row.map(|r| r.get::<_, i32>(0)) {
            None => {
                client.execute(
                    "INSERT INTO newsfold_schema (table_name, version) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&table, &TABLE_VERSION],
                )?;
            }
            Some(v) if v > TABLE_VERSION => {
                anyhow::bail!(
                    "table {table} at {target} has version {v}, newer than this newsfold writes ({TABLE_VERSION})"
                )
            }
            Some(v) => {
                if let Some(sql) = migrate_statements(table, v, Dialect::Postgres) {
                    client
                        .batch_execute(&format!("BEGIN; {sql} COMMIT;"))
                        .with_context(|| format!("cannot migrate table {table} at {target}"))?;
                }
            }
        }
        client
            .batch_execute(&index_statements(table))
            .with_context(|| format!("cannot index table {table} at {target}"))?;
        Ok(PostgresSink {
            client: Some(client),
            url: url.to_string(),
            table: table.to_string(),
            target,
        })
    }

    /// Drops the connection; the next write opens a new one.
    pub fn reset(&mut self) {
        self.client = None;
    }

    /// Whether `e` rejects the data itself (a data exception or an integrity violation): retrying
    /// the same record cannot succeed.
    pub fn is_rejection(e: &anyhow::Error) -> bool {
        e.chain().filter_map(|c| c.downcast_ref::<postgres::Error>()).any(|pe| {
            pe.code().is_some_and(|code| {
                let class = &code.code()[..2];
                class == "22" || class == "23"
            })
        })
    }

    pub fn write(&mut self, items: &[Item<'_>]) -> anyhow::Result<()> {
        let target = self.target.clone();
        let placeholders: Vec<String> = (1..=COLUMNS.len()).map(|i| format!("${i}")).collect();
        let insert_sql = format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING",
            self.table,
            COLUMNS.join(", "),
            placeholders.join(", ")
        );
        let update_sql = change_statements(&self.table, Dialect::Postgres);
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            self.client =
                Some(Client::connect(&self.url, NoTls).with_context(|| format!("cannot connect to {target}"))?);
        }
        let Some(client) = self.client.as_mut() else {
            anyhow::bail!("no connection to {target}");
        };
        let mut tx = client
            .transaction()
            .with_context(|| format!("cannot write to {target}"))?;
        let insert = tx.prepare(&insert_sql)?;
        let updates = update_sql
            .iter()
            .map(|sql| tx.prepare(sql))
            .collect::<Result<Vec<_>, _>>()?;
        for item in items {
            match item {
                Item::Record(r) => {
                    let lang = r.lang.map(|l| l.code());
                    let alternates = serde_json::to_string(&r.alternates)?;
                    tx.execute(
                        &insert,
                        &[
                            &r.id,
                            &r.story_id,
                            &r.event_id,
                            &r.relation.as_str(),
                            &r.duplicate_of,
                            &r.source,
                            &r.location,
                            &r.original_url,
                            &lang,
                            &r.title,
                            &r.body,
                            &r.published_at,
                            &r.authors,
                            &r.content_hash,
                            &r.ingested_at,
                            &r.canonical_url,
                            &r.updated_at,
                            &alternates,
                            &r.lang_confidence,
                        ],
                    )
                    .with_context(|| format!("cannot insert record {} at {target}", r.id))?;
                }
                Item::Update(u) => {
                    for c in changes(u) {
                        let (k, values) = c.statement();
                        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = values
                            .iter()
                            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
                            .collect();
                        tx.execute(&updates[k], &params)
                            .with_context(|| format!("cannot apply a {} at {target}", u.kind()))?;
                    }
                }
            }
        }
        tx.commit().with_context(|| format!("cannot write to {target}"))
    }
}
