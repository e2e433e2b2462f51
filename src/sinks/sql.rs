//! What the two SQL sinks (SQLite and PostgreSQL) share: the table's columns, the rules for table
//! names, and the contract. A record is inserted once by id (a replay changes nothing, so
//! at-least-once delivery has an exactly-once effect); a story update rewrites the previously
//! canonical row's `relation` and points its `duplicate_of` at the new canonical record.

/// Columns of the records table, in insert order.
pub const COLUMNS: &[&str] = &[
    "id",
    "story_id",
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
];

/// Where the two SQL dialects differ in the records table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The statements that create the schema-version table and the records table (idempotent).
pub fn create_statements(table: &str, dialect: Dialect) -> String {
    let (time, authors) = match dialect {
        // SQLite stores times as RFC 3339 text and authors as a JSON array.
        Dialect::Sqlite => ("TEXT", "TEXT"),
        Dialect::Postgres => ("TIMESTAMPTZ", "TEXT[]"),
    };
    format!(
        "CREATE TABLE IF NOT EXISTS newsfold_schema (table_name TEXT PRIMARY KEY, version INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS {table} (
            id TEXT PRIMARY KEY,
            story_id TEXT NOT NULL,
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
            ingested_at {time} NOT NULL
         );
         CREATE INDEX IF NOT EXISTS {table}_story ON {table} (story_id);"
    )
}

/// The table version this newsfold writes, recorded in `newsfold_schema`.
pub const TABLE_VERSION: i32 = 1;

pub const DEFAULT_TABLE: &str = "news_records";

/// A table name must be a plain lowercase identifier: it is spliced into SQL.
pub fn valid_table(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

/// A connection URL with any password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
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
    }
}
