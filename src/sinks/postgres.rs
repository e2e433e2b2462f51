//! The PostgreSQL sink: records upserted by id into a table it creates (see `sql` for the
//! contract), one transaction per batch. Uses the synchronous client: the sink owns its thread.
//!
//! TLS is not negotiated (`NoTls`): point it at a server on a trusted network or a local socket.
//! The URL's password never appears in logs or errors.

use anyhow::Context;
use postgres::{Client, NoTls};

use super::Item;
use super::sql::{COLUMNS, Dialect, TABLE_VERSION, create_statements, migrate_statements, redact};

pub struct PostgresSink {
    /// `None` after a failure: the next write connects again.
    client: Option<Client>,
    url: String,
    table: String,
    target: String,
}

impl PostgresSink {
    pub fn open(url: &str, table: &str) -> anyhow::Result<PostgresSink> {
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
        let update_sql = format!(
            "UPDATE {} SET relation = $1, duplicate_of = $2 WHERE id = $3",
            self.table
        );
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
        let update = tx.prepare(&update_sql)?;
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
                    tx.execute(&update, &[&u.relation.as_str(), &u.canonical, &u.record_id])
                        .with_context(|| format!("cannot apply a story update at {target}"))?;
                }
            }
        }
        tx.commit().with_context(|| format!("cannot write to {target}"))
    }
}
