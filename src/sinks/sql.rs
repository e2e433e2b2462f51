//! What the two SQL sinks (SQLite and PostgreSQL) share: the table's columns, the rules for table
//! names, and the contract. A record is inserted once by id (a replay changes nothing, so
//! at-least-once delivery has an exactly-once effect). Updates rewrite rows in place, and are
//! idempotent too: a canonical change rewrites the previously canonical row's `relation` and
//! points its `duplicate_of` at the new canonical record; a story merge moves each listed row to
//! the remaining story and event; an event link moves every row of the merged event.

/// Columns of the records table, in insert order.
pub const COLUMNS: &[&str] = &[
    "id",
    "story_id",
    "event_id",
    "relation",
    "duplicate_of",
    "source",
    "location",
    "original_url",
    "lang",
    "title",
    "body",
    "published_at",
    "authors",
    "content_hash",
    "ingested_at",
    "canonical_url",
    "updated_at",
    "alternates",
    "lang_confidence",
];

/// Where the two SQL dialects differ in the records table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The statements that create the schema-version table and the records table (idempotent).
pub fn create_statements(table: &str, dialect: Dialect) -> String {
    let (time, authors, real) = types(dialect);
    format!(
        "CREATE TABLE IF NOT EXISTS newsfold_schema (table_name TEXT PRIMARY KEY, version INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS {table} (
            id TEXT PRIMARY KEY,
            story_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            relation TEXT NOT NULL,
            duplicate_of TEXT,
            source TEXT NOT NULL,
            location TEXT NOT NULL,
            original_url TEXT,
            lang TEXT,
            title TEXT,
            body TEXT NOT NULL,
            published_at {time},
            authors {authors} NOT NULL,
            content_hash TEXT NOT NULL,
            ingested_at {time} NOT NULL,
            canonical_url TEXT,
            updated_at {time},
            alternates TEXT NOT NULL DEFAULT '[]',
            lang_confidence {real}
         );
         CREATE INDEX IF NOT EXISTS {table}_story ON {table} (story_id);"
    )
}

/// Indexes on columns later table versions added, run once the table is migrated (idempotent).
pub fn index_statements(table: &str) -> String {
    format!("CREATE INDEX IF NOT EXISTS {table}_event ON {table} (event_id);")
}

/// One row change an update asks of a SQL table.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<'a> {
    /// `UPDATE … SET relation = $1, duplicate_of = $2 WHERE id = $3` (see `RELATION_SQL`).
    Relation {
        relation: &'a str,
        duplicate_of: &'a str,
        id: &'a str,
    },
    /// `UPDATE … SET story_id = $1, event_id = $2, relation = $3, duplicate_of = $4 WHERE id = $5`.
    Placement {
        story_id: &'a str,
        event_id: &'a str,
        relation: &'a str,
        duplicate_of: &'a str,
        id: &'a str,
    },
    /// `UPDATE … SET event_id = $1 WHERE event_id = $2`.
    Event { event_id: &'a str, merged: &'a str },
    /// `UPDATE … SET story_id = $1, event_id = $2, relation = 'original', duplicate_of = NULL
    /// WHERE id = $3`: the record founds the story a split made.
    Founding {
        story_id: &'a str,
        event_id: &'a str,
        id: &'a str,
    },
}

impl Change<'_> {
    /// Which of `change_statements` applies it, and its parameters in placeholder order.
    pub fn statement(&self) -> (usize, Vec<&str>) {
        match *self {
            Change::Relation {
                relation,
                duplicate_of,
                id,
            } => (0, vec![relation, duplicate_of, id]),
            Change::Placement {
                story_id,
                event_id,
                relation,
                duplicate_of,
                id,
            } => (1, vec![story_id, event_id, relation, duplicate_of, id]),
            Change::Event { event_id, merged } => (2, vec![event_id, merged]),
            Change::Founding { story_id, event_id, id } => (3, vec![story_id, event_id, id]),
        }
    }
}

/// The statements behind `Change`, with `$n` placeholders (SQLite reads `?n` the same way).
pub fn change_statements(table: &str, dialect: Dialect) -> [String; 4] {
    let p = |n: u8| match dialect {
        Dialect::Sqlite => format!("?{n}"),
        Dialect::Postgres => format!("${n}"),
    };
    [
        format!(
            "UPDATE {table} SET relation = {}, duplicate_of = {} WHERE id = {}",
            p(1),
            p(2),
            p(3)
        ),
        format!(
            "UPDATE {table} SET story_id = {}, event_id = {}, relation = {}, duplicate_of = {} WHERE id = {}",
            p(1),
            p(2),
            p(3),
            p(4),
            p(5)
        ),
        format!("UPDATE {table} SET event_id = {} WHERE event_id = {}", p(1), p(2)),
        format!(
            "UPDATE {table} SET story_id = {}, event_id = {}, relation = 'original', duplicate_of = NULL WHERE id = {}",
            p(1),
            p(2),
            p(3)
        ),
    ]
}

/// The row changes an update makes.
pub fn changes(u: &crate::model::StoryUpdate) -> Vec<Change<'_>> {
    use crate::model::StoryUpdate;
    match u {
        StoryUpdate::Canonical(c) => vec![Change::Relation {
            relation: c.relation.as_str(),
            duplicate_of: &c.canonical,
            id: &c.record_id,
        }],
        StoryUpdate::StoryMerge(m) => m
            .members
            .iter()
            .map(|member| Change::Placement {
                story_id: &m.story_id,
                event_id: &m.event_id,
                relation: member.relation.as_str(),
                duplicate_of: &member.duplicate_of,
                id: &member.record_id,
            })
            .collect(),
        StoryUpdate::StorySplit(m) => m
            .members
            .iter()
            .map(|member| match &member.duplicate_of {
                Some(duplicate_of) => Change::Placement {
                    story_id: &m.story_id,
                    event_id: &m.event_id,
                    relation: member.relation.as_str(),
                    duplicate_of,
                    id: &member.record_id,
                },
                None => Change::Founding {
                    story_id: &m.story_id,
                    event_id: &m.event_id,
                    id: &member.record_id,
                },
            })
            .collect(),
        StoryUpdate::EventLink(e) => vec![Change::Event {
            event_id: &e.event_id,
            merged: &e.merged_event_id,
        }],
    }
}

/// Column types for times, authors and reals. SQLite stores times as RFC 3339 text and authors as
/// a JSON array; `alternates` is JSON text in both (`[{"lang","url"}]`).
fn types(dialect: Dialect) -> (&'static str, &'static str, &'static str) {
    match dialect {
        Dialect::Sqlite => ("TEXT", "TEXT", "REAL"),
        Dialect::Postgres => ("TIMESTAMPTZ", "TEXT[]", "DOUBLE PRECISION"),
    }
}

/// The table version this newsfold writes, recorded in `newsfold_schema`.
/// v2 added `canonical_url`, `updated_at`, `alternates` and `lang_confidence`; v3 `event_id`
/// (filled with the story id in older rows: each story its own event).
pub const TABLE_VERSION: i32 = 3;

/// The statements that bring a table written by an older newsfold to `TABLE_VERSION`, or `None`
/// when there is nothing to do.
pub fn migrate_statements(table: &str, from: i32, dialect: Dialect) -> Option<String> {
    let (time, _, real) = types(dialect);
    let mut out = String::new();
    if from < 2 {
        out.push_str(&format!(
            "ALTER TABLE {table} ADD COLUMN canonical_url TEXT;
             ALTER TABLE {table} ADD COLUMN updated_at {time};
             ALTER TABLE {table} ADD COLUMN alternates TEXT NOT NULL DEFAULT '[]';
             ALTER TABLE {table} ADD COLUMN lang_confidence {real};\n"
        ));
    }
    if from < 3 {
        out.push_str(&format!(
            "ALTER TABLE {table} ADD COLUMN event_id TEXT NOT NULL DEFAULT '';
             UPDATE {table} SET event_id = story_id WHERE event_id = '';\n"
        ));
    }
    (!out.is_empty()).then(|| {
        out.push_str(&format!(
            "UPDATE newsfold_schema SET version = {TABLE_VERSION} WHERE table_name = '{table}';"
        ));
        out
    })
}

pub const DEFAULT_TABLE: &str = "news_records";

/// A table name must be a plain lowercase identifier: it is spliced into SQL.
pub fn valid_table(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

/// `table` of a SQL sink: the default, or a plain lowercase identifier.
pub fn table_name(cx: &mut crate::config::Cx<'_>, key: &str, table: Option<String>) -> String {
    let table = table.unwrap_or_else(|| DEFAULT_TABLE.to_string());
    if !valid_table(&table) {
        cx.error(
            &format!("{key}.table"),
            format!(
                "{} must be a lowercase identifier (a-z, 0-9, _)",
                crate::config::preview(&table)
            ),
        );
    }
    table
}

/// A connection or endpoint URL fit for logs and errors: a password in the user info and every
/// query value (`?password=…`, `?token=…`) are replaced by `***`.
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &base[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &base[..scheme + 3], &userinfo[..colon], &base[at..]),
                None => base.to_string(),
            }
        }
        _ => base.to_string(),
    };
    if let Some(q) = query {
        out.push('?');
        let masked: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) => format!("{k}=***"),
                None => pair.to_string(),
            })
            .collect();
        out.push_str(&masked.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_and_redaction() {
        assert!(valid_table("news_records"));
        assert!(!valid_table("News"));
        assert!(!valid_table("a; drop table x"));
        assert!(!valid_table(""));
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("postgres://u@h/db?password=hunter2&sslmode=require"),
            "postgres://u@h/db?password=***&sslmode=***"
        );
        assert_eq!(
            redact("https://hooks.example/in?token=abc&flag"),
            "https://hooks.example/in?token=***&flag"
        );
        assert_eq!(redact("nats://a:b@h:4222"), "nats://a:***@h:4222");
    }
}
