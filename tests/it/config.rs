//! Config errors (every one, located) and the completeness of `config/example.toml`.

use std::path::Path;

use serde::de::{self, DeserializeOwned, Visitor};
use serde::forward_to_deserialize_any;

use newsfold::config::{self, RawApi, RawFetch, RawFold, RawLog, RawPipeline, RawState};
use newsfold::kinds::Named;
use newsfold::sinks::SinkType;
use newsfold::sinks::jsonl::RawJsonlSink;
use newsfold::sinks::nats::RawNatsSink;
use newsfold::sinks::postgres::RawPostgresSink;
use newsfold::sinks::sqlite::RawSqliteSink;
use newsfold::sinks::webhook::RawWebhookSink;
use newsfold::sources::SourceType;
use newsfold::sources::files::RawFilesSource;
use newsfold::sources::http::{RawExtract, RawHttpSource};

use crate::util::repo;

/// A deserializer that only records the field names a struct asks for.
struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("done"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut names = None;
    let _ = T::deserialize(FieldNames(&mut names));
    names.expect("a struct")
}

#[test]
fn example_config_documents_every_key() {
    let text = std::fs::read_to_string(repo().join("config/example.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let table = |key: &str| {
        doc.get(key)
            .and_then(|v| v.as_table())
            .unwrap_or_else(|| panic!("[{key}] missing"))
    };
    // A key that only fits some setups (a CA file for TLS) may be shown commented out.
    let commented = |f: &str| text.lines().any(|l| l.trim_start().starts_with(&format!("# {f} = ")));
    let check = |section: &str, t: &toml::Table, fields: &[&str]| {
        for f in fields {
            assert!(
                t.contains_key(*f) || commented(f),
                "config/example.toml: `{section}.{f}` is accepted but not documented"
            );
        }
    };
    check("state", table("state"), fields_of::<RawState>());
    check("api", table("api"), fields_of::<RawApi>());
    check("log", table("log"), fields_of::<RawLog>());
    check("pipeline", table("pipeline"), fields_of::<RawPipeline>());
    check("fold", table("fold"), fields_of::<RawFold>());
    check("fetch", table("fetch"), fields_of::<RawFetch>());
    // Shown commented out: the example runs on the embedded default.
    let cluster = doc
        .get("cluster")
        .and_then(|v| v.as_table())
        .cloned()
        .unwrap_or_default();
    check("cluster", &cluster, fields_of::<newsfold::cluster::RawCluster>());
    let typed = |section: &str, kind: &str| {
        table(section)
            .values()
            .filter_map(|v| v.as_table())
            .find(|t| t.get("type").and_then(|v| v.as_str()) == Some(kind))
            .unwrap_or_else(|| panic!("config/example.toml has no {section} of type {kind}"))
            .clone()
    };
    for kind in SourceType::ALL {
        let fields = match kind {
            SourceType::Files => fields_of::<RawFilesSource>().to_vec(),
            // One struct holds every HTTP key: the feed example shows the keys all HTTP kinds
            // share, each kind shows its own.
            SourceType::Feed => fields_of::<RawHttpSource>()
                .iter()
                .copied()
                .filter(|f| !["urls", "links", "next", "max_pages"].contains(f))
                .collect(),
            SourceType::Sitemap => vec!["url"],
            SourceType::Listing => vec!["url", "links", "next", "max_pages"],
            SourceType::Pages => vec!["urls"],
        };
        let kind = kind.name();
        check(&format!("sources.<{kind}>"), &typed("sources", kind), &fields);
        if kind == "feed" {
            let extract = typed("sources", kind)["extract"]
                .as_table()
                .expect("an extract table")
                .clone();
            check("sources.<feed>.extract", &extract, fields_of::<RawExtract>());
        }
    }
    for kind in SinkType::ALL {
        let fields = match kind {
            SinkType::Jsonl => fields_of::<RawJsonlSink>(),
            SinkType::Sqlite => fields_of::<RawSqliteSink>(),
            SinkType::Postgres => fields_of::<RawPostgresSink>(),
            SinkType::Nats => fields_of::<RawNatsSink>(),
            SinkType::Webhook => fields_of::<RawWebhookSink>(),
        };
        let kind = kind.name();
        check(&format!("sinks.<{kind}>"), &typed("sinks", kind), fields);
    }
}

fn errors(text: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pages")).unwrap();
    let file = dir.path().join("c.toml");
    match config::from_str(text, &file) {
        Ok(_) => Vec::new(),
        Err(e) => {
            e.0.iter()
                .map(|e| e.to_string().replace(&file.display().to_string(), "c.toml"))
                .collect()
        }
    }
}

#[test]
fn every_error_is_reported_with_line_column_and_key() {
    let text = r#"[state]
path = "s.sqlite"
colour = "red"

[sources.a]
type = "files"
path = "pages"
globb = "*.txt"

[sources.b]
type = "files"
path = 42

[sources.c]
type = "rss"

[sinks.out]
type = "jsonl"
path = "out.jsonl"
duplicates = "sometimes"

[extra]
x = 1
"#;
    let got = errors(text);
    let want = [
        "c.toml:3:1: state.colour: unknown field `colour`, expected `path` or `decision_log`",
        "c.toml:8:1: sources.a.globb: unknown field `globb`, expected one of `path`, `glob`, `lang`, `interval`",
        "c.toml:12:8: sources.b.path: invalid type: integer `42`, expected path string",
        "c.toml:15:8: sources.c.type: unknown source type `rss`, expected one of `files`, `feed`, `sitemap`, `listing`, `pages`",
        "c.toml:20:14: sinks.out.duplicates: unknown variant `sometimes`, expected `mark` or `drop`",
        "c.toml:22:2: extra: unknown section `extra`, expected one of `state`, `api`, `log`, `pipeline`, `fold`, `fetch`, `cluster`, `sources`, `sinks`",
    ];
    assert_eq!(got, want);
}

#[test]
fn validation_errors_are_all_reported() {
    let text = r#"[pipeline]
channel_capacity = 0
scrape_workers = 0

[fold]
min_score = 1.5

[sources.a]
type = "files"
path = "missing"
glob = ["*.txt", "[unclosed"]
lang = "zz"
interval = "0s"

[sources."bad name"]
type = "files"
path = "pages"

[sinks.out]
type = "jsonl"
path = "-"

[sinks.out2]
type = "jsonl"
path = "-"
"#;
    let got = errors(text);
    let has = |needle: &str| got.iter().any(|e| e.contains(needle));
    for needle in [
        "c.toml:2:20: pipeline.channel_capacity: must be at least 1",
        "c.toml:3:18: pipeline.scrape_workers: must be at least 1",
        "c.toml:6:13: fold.min_score: must be between 0 and 1",
        "c.toml:10:8: sources.a.path: no such directory",
        "c.toml:11:8: sources.a.glob: invalid pattern \"[unclosed\"",
        "c.toml:12:8: sources.a.lang: unknown language \"zz\"",
        "c.toml:13:12: sources.a.interval: must be longer than zero",
        "sources.bad name: name \"bad name\" must be",
        "sinks: at most one sink may write to stdout",
    ] {
        assert!(has(needle), "missing {needle:?} in {got:#?}");
    }
}

#[test]
fn a_config_without_sources_or_sinks_says_so() {
    let got = errors("[state]\npath = \"s.sqlite\"\n");
    assert!(got.iter().any(|e| e.contains("no sources configured")), "{got:?}");
    assert!(got.iter().any(|e| e.contains("no sinks configured")), "{got:?}");
}

#[test]
fn a_toml_syntax_error_is_located() {
    let got = errors("[state\npath = 1\n");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("c.toml:1:"), "{got:?}");
}

#[test]
fn relative_paths_resolve_against_the_config_folder() {
    let c = config::load(Path::new(&repo().join("config/newsfold.toml"))).unwrap();
    assert_eq!(c.state_path, repo().join("config/../data/state.sqlite"));
    match &c.sources[0].kind {
        newsfold::sources::SourceKind::Files(f) => assert_eq!(f.dir, repo().join("config/../seeds")),
        other => panic!("the default source reads files, not {other:?}"),
    }
}

#[test]
fn http_source_errors_name_their_keys() {
    let got = errors(
        r#"
[fetch]
timeout = "0s"
max_concurrency = 0

[sources.a]
type = "feed"

[sources.b]
type = "listing"
url = "https://baolaocai.vn/thoi-su"
links = "h3["

[sources.c]
type = "pages"
urls = ["ftp://baoquangtri.vn/a"]
links = "a"

[sources.d]
type = "sitemap"
url = "not a url"
max_concurrency = 0
allow_hosts = ["ok.vn", "bad host/"]

[sinks.out]
type = "jsonl"
path = "-"
"#,
    );
    let expect = [
        "c.toml:3:11: fetch.timeout: must be longer than zero",
        "c.toml:4:19: fetch.max_concurrency: must be between 1 and 1024",
        "sources.a: missing `url`: the feed to read",
        "c.toml:12:9: sources.b.links: invalid CSS selector \"h3[\"",
        "sources.c.urls: \"ftp://baoquangtri.vn/a\" must be an http:// or https:// URL with a host",
        "sources.c.links: is not a key of pages sources (only of listing)",
        "sources.d.url: \"not a url\" is not a URL",
        "sources.d.max_concurrency: must be between 1 and 64",
        "sources.d.allow_hosts: \"bad host/\" is not a host name",
    ];
    for e in expect {
        assert!(got.iter().any(|g| g.contains(e)), "missing {e:?} in {got:#?}");
    }
    assert_eq!(got.len(), expect.len(), "{got:#?}");
}
