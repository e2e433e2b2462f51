//! The sink contract, which every sink kind passes: what is delivered can be read back intact, a
//! replayed record changes nothing in a table (at-least-once delivery, exactly-once effect; a JSON
//! Lines file appends it again and readers keep the last line per id), and the story updates (a
//! canonical change, a story merge, an event link) are applied. PostgreSQL is the real server on
//! 127.0.0.1 (see `util::postgres_url`).

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use serde_json::Value;

use newsfold::model::{
    CanonicalChange, EventLink, Lang, MergedMember, Record, Relation, SplitMember, StoryMerge, StorySplit, StoryUpdate,
};
use newsfold::sinks::jsonl::{Fsync, JsonlSettings, JsonlTarget};
use newsfold::sinks::nats::NatsSettings;
use newsfold::sinks::postgres::PostgresSettings;
use newsfold::sinks::sqlite::SqliteSettings;
use newsfold::sinks::webhook::WebhookSettings;
use newsfold::sinks::{DuplicatePolicy, SinkKind, SinkSpec};
use newsfold::sinks::{Item, Sink};

use crate::util::{Workspace, drain_stream, nats_url, postgres_url, read_records, unique_table};

fn record(n: u8, relation: Relation, duplicate_of: Option<&Record>, lang: Lang) -> Record {
    let id = format!("{:032x}", 0xabc0 + n as u128);
    Record {
        id: id.clone(),
        story_id: duplicate_of.map_or(id.clone(), |d| d.story_id.clone()),
        event_id: duplicate_of.map_or(id, |d| d.event_id.clone()),
        relation,
        duplicate_of: duplicate_of.map(|d| d.id.clone()),
        source: "seeds".into(),
        location: format!("/pages/{n}.txt"),
        original_url: (n == 2).then(|| "https://baoquangnam.vn/a.html".to_string()),
        lang: Some(lang),
        title: (n == 1).then(|| "Hội nghị sơ kết Nghị định 03/2019/NĐ-CP".to_string()),
        body: format!("Đoạn {n}: 611 đợt vận động với hơn 62.000 người tham dự.\n\nL'unité « {n} »."),
        published_at: Some(
            chrono::FixedOffset::east_opt(7 * 3600)
                .unwrap()
                .with_ymd_and_hms(2024, 1, 19, 14, 30, 0)
                .unwrap(),
        ),
        authors: vec!["Minh Thư".into(), format!("Author {n}")],
        content_hash: format!("{:032x}", 0xdef0 + n as u128),
        ingested_at: Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, n as u32).unwrap(),
        canonical_url: Some(format!("https://baoquangnam.vn/{n}.html")),
        updated_at: None,
        alternates: vec![newsfold::model::Alternate {
            lang: "fr".into(),
            url: format!("https://fr.example/{n}.html"),
        }],
        lang_confidence: Some(0.9),
    }
}

/// The effective state a sink holds: id → (relation, duplicate_of, story, event, body, authors,
/// published_at).
type Row = (
    String,
    Option<String>,
    String,
    String,
    String,
    Vec<String>,
    Option<String>,
);
type State = BTreeMap<String, Row>;

/// The contract's records and updates: a French original (1); a German page (3) and an English
/// one (4) each founding a story; then the Vietnamese original (2) joins the French story and
/// becomes its canonical member, direct evidence merges the German story into it, and the English
/// story's event is linked to it; a Spanish (5) and a Dutch (6) page that had joined the French
/// story are split off into a story of the Spanish page's.
struct Fixtures {
    first: Vec<Record>,
    vi: Record,
    updates: Vec<StoryUpdate>,
}

fn fixtures() -> Fixtures {
    let fr = record(1, Relation::Original, None, Lang::Fr);
    let de = record(3, Relation::Original, None, Lang::De);
    let en = record(4, Relation::Original, None, Lang::En);
    let es = record(5, Relation::Translation, Some(&fr), Lang::Es);
    let nl = record(6, Relation::Translation, Some(&es), Lang::Nl);
    let mut vi = record(2, Relation::Original, None, Lang::Vi);
    vi.story_id = fr.story_id.clone();
    vi.event_id = fr.event_id.clone();
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 1, 0).unwrap();
    let updates = vec![
        StoryUpdate::Canonical(CanonicalChange {
            story_id: fr.story_id.clone(),
            canonical: vi.id.clone(),
            record_id: fr.id.clone(),
            relation: Relation::Translation,
            updated_at: at,
        }),
        StoryUpdate::StoryMerge(StoryMerge {
            story_id: fr.story_id.clone(),
            merged_story_id: de.story_id.clone(),
            event_id: fr.event_id.clone(),
            members: vec![MergedMember {
                record_id: de.id.clone(),
                relation: Relation::Translation,
                duplicate_of: vi.id.clone(),
            }],
            updated_at: at,
        }),
        StoryUpdate::EventLink(EventLink {
            event_id: fr.event_id.clone(),
            merged_event_id: en.event_id.clone(),
            updated_at: at,
        }),
        StoryUpdate::StorySplit(StorySplit {
            story_id: es.id.clone(),
            split_from: fr.story_id.clone(),
            event_id: es.id.clone(),
            members: vec![
                SplitMember {
                    record_id: es.id.clone(),
                    relation: Relation::Original,
                    duplicate_of: None,
                },
                SplitMember {
                    record_id: nl.id.clone(),
                    relation: Relation::Translation,
                    duplicate_of: Some(es.id.clone()),
                },
            ],
            updated_at: at,
        }),
    ];
    Fixtures {
        first: vec![fr, de, en, es, nl],
        vi,
        updates,
    }
}

fn deliver(spec: &SinkSpec, f: &Fixtures) {
    let mut sink = Sink::open(spec).expect("sink opens");
    let first: Vec<Item<'_>> = f.first.iter().map(Item::Record).collect();
    sink.write(&first).expect("first batch");
    // The Vietnamese original arrives with the updates its evidence made; then the same batch is
    // replayed, as after a crash before acknowledgement.
    let mut second = vec![Item::Record(&f.vi)];
    second.extend(f.updates.iter().map(Item::Update));
    for _ in 0..2 {
        sink.write(&second).expect("second batch");
    }
    drop(sink);
    // A sink reopened on existing storage keeps working (migrations are idempotent).
    let mut again = Sink::open(spec).expect("sink reopens");
    again.write(&[Item::Record(&f.first[0])]).expect("replay after reopen");
}

fn expected(f: &Fixtures) -> State {
    let [fr, de, en, es, nl] = [&f.first[0], &f.first[1], &f.first[2], &f.first[3], &f.first[4]];
    let vi = &f.vi;
    let row = |r: &Record, relation: &str, dup: Option<&Record>, story: &Record, event: &Record| -> Row {
        (
            relation.into(),
            dup.map(|d| d.id.clone()),
            story.id.clone(),
            event.id.clone(),
            r.body.clone(),
            r.authors.clone(),
            Some("2024-01-19T07:30:00Z".into()),
        )
    };
    let mut s = State::new();
    s.insert(fr.id.clone(), row(fr, "translation", Some(vi), fr, fr));
    s.insert(vi.id.clone(), row(vi, "original", None, fr, fr));
    s.insert(de.id.clone(), row(de, "translation", Some(vi), fr, fr));
    s.insert(en.id.clone(), row(en, "original", None, en, fr));
    s.insert(es.id.clone(), row(es, "original", None, es, es));
    s.insert(nl.id.clone(), row(nl, "translation", Some(es), es, es));
    s
}

fn utc(ts: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(ts)
        .unwrap()
        .with_timezone(&Utc)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn jsonl_state(lines: &[Value]) -> State {
    let mut s = State::new();
    let text = |v: &Value| v.as_str().unwrap().to_string();
    for l in lines {
        match l["type"].as_str() {
            Some("story_update") => {
                let e = s
                    .get_mut(l["record_id"].as_str().unwrap())
                    .expect("update follows its record");
                e.0 = text(&l["relation"]);
                e.1 = Some(text(&l["canonical"]));
                continue;
            }
            Some("story_merge") => {
                for m in l["members"].as_array().unwrap() {
                    let e = s
                        .get_mut(m["record_id"].as_str().unwrap())
                        .expect("merged member known");
                    e.0 = text(&m["relation"]);
                    e.1 = Some(text(&m["duplicate_of"]));
                    e.2 = text(&l["story_id"]);
                    e.3 = text(&l["event_id"]);
                }
                continue;
            }
            Some("story_split") => {
                for m in l["members"].as_array().unwrap() {
                    let e = s.get_mut(m["record_id"].as_str().unwrap()).expect("split member known");
                    e.0 = text(&m["relation"]);
                    e.1 = m["duplicate_of"].as_str().map(str::to_string);
                    e.2 = text(&l["story_id"]);
                    e.3 = text(&l["event_id"]);
                }
                continue;
            }
            Some("event_link") => {
                for e in s.values_mut() {
                    if e.3 == text(&l["merged_event_id"]) {
                        e.3 = text(&l["event_id"]);
                    }
                }
                continue;
            }
            Some(other) => panic!("unknown update type {other}"),
            None => {}
        }
        // Readers keep the last line per id; a replayed line is the same record again.
        let id = text(&l["id"]);
        if s.contains_key(&id) {
            continue;
        }
        s.insert(
            id,
            (
                text(&l["relation"]),
                l["duplicate_of"].as_str().map(str::to_string),
                text(&l["story_id"]),
                text(&l["event_id"]),
                text(&l["body"]),
                l["authors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect(),
                l["published_at"].as_str().map(utc),
            ),
        );
    }
    s
}

fn jsonl_spec(path: &std::path::Path, fsync: Fsync, rotate_bytes: u64) -> SinkSpec {
    SinkSpec {
        id: "out".into(),
        duplicates: DuplicatePolicy::Mark,
        kind: SinkKind::Jsonl(JsonlSettings {
            target: JsonlTarget::File(path.to_path_buf()),
            fsync,
            rotate_bytes,
        }),
    }
}

#[test]
fn jsonl_passes_the_sink_contract() {
    let ws = Workspace::new();
    let path = ws.path().join("out/records.jsonl");
    let spec = jsonl_spec(&path, Fsync::Batch, 0);
    let f = fixtures();
    deliver(&spec, &f);
    let lines = read_records(&path);
    for l in &lines {
        crate::util::assert_schema(l);
    }
    assert_eq!(jsonl_state(&lines), expected(&f));
}

#[test]
fn a_jsonl_file_torn_by_a_crash_is_cut_to_its_last_whole_line() {
    let ws = Workspace::new();
    let path = ws.path().join("out/records.jsonl");
    let spec = jsonl_spec(&path, Fsync::Batch, 0);
    let f = fixtures();
    let mut sink = Sink::open(&spec).expect("sink opens");
    sink.write(&[Item::Record(&f.first[0])]).expect("first record");
    drop(sink);
    // A crash in the middle of the next batch's write: half a line, no newline.
    let whole = std::fs::read(&path).unwrap();
    let mut torn = whole.clone();
    torn.extend_from_slice(&serde_json::to_vec(&f.first[1]).unwrap()[..40]);
    std::fs::write(&path, &torn).unwrap();
    // The batch comes again after the restart.
    let mut sink = Sink::open(&spec).expect("sink reopens");
    sink.write(&[Item::Record(&f.first[1])]).expect("batch again");
    drop(sink);
    let lines = read_records(&path);
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [f.first[0].id.as_str(), f.first[1].id.as_str()]);
    assert!(std::fs::read(&path).unwrap().starts_with(&whole));
    // A file that is one torn line is emptied the same way.
    std::fs::write(&path, b"{\"id\": \"half").unwrap();
    drop(Sink::open(&spec).expect("sink opens on a torn file"));
    assert_eq!(std::fs::read(&path).unwrap(), b"");
}

fn sqlite_spec(path: &std::path::Path) -> SinkSpec {
    SinkSpec {
        id: "local".into(),
        duplicates: DuplicatePolicy::Mark,
        kind: SinkKind::Sqlite(SqliteSettings {
            path: path.to_path_buf(),
            table: "news_records".into(),
        }),
    }
}

#[test]
fn sqlite_passes_the_sink_contract() {
    let ws = Workspace::new();
    let path = ws.path().join("out/records.sqlite");
    let spec = sqlite_spec(&path);
    let f = fixtures();
    deliver(&spec, &f);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT id, relation, duplicate_of, story_id, event_id, body, authors, published_at FROM news_records ORDER BY id",
        )
        .unwrap();
    let state: State = stmt
        .query_map([], |r| {
            let authors: String = r.get(6)?;
            let published: Option<String> = r.get(7)?;
            Ok((
                r.get::<_, String>(0)?,
                (
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    serde_json::from_str(&authors).unwrap(),
                    published.as_deref().map(utc),
                ),
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(state, expected(&f));
}

#[test]
fn postgres_passes_the_sink_contract() {
    let Some(url) = postgres_url() else { return };
    let table = unique_table("contract");
    let spec = SinkSpec {
        id: "archive".into(),
        duplicates: DuplicatePolicy::Mark,
        kind: SinkKind::Postgres(PostgresSettings::plain(&url, &table)),
    };
    let f = fixtures();
    deliver(&spec, &f);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let rows = client
        .query(
            &format!(
                "SELECT id, relation, duplicate_of, story_id, event_id, body, authors, published_at FROM {table} ORDER BY id"
            ),
            &[],
        )
        .unwrap();
    let state: State = rows
        .iter()
        .map(|r| {
            let published: Option<chrono::DateTime<Utc>> = r.get(7);
            (
                r.get::<_, String>(0),
                (
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                    published.map(|p| p.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                ),
            )
        })
        .collect();
    crate::util::drop_pg_table(&url, &table);
    assert_eq!(state, expected(&f));
}

#[test]
fn once_into_sqlite_and_postgres_holds_each_record_once() {
    let Some(url) = postgres_url() else { return };
    let table = unique_table("seeds");
    let ws = Workspace::new();
    let extra = format!(
        "[sinks.local]\ntype = \"sqlite\"\npath = \"out/records.sqlite\"\n\n[sinks.archive]\ntype = \"postgres\"\nurl = \"${{NEWSFOLD_IT_PG}}\"\ntable = \"{table}\"\n"
    );
    ws.write_config(&extra);
    ws.add_all_seeds();
    let config = ws.config().display().to_string();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_newsfold"))
            .args(["once", "--config", &config])
            .env("NEWSFOLD_IT_PG", &url)
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", crate::util::text(&out));
    assert!(
        !crate::util::text(&out).contains(&url) || !url.contains(':'),
        "the URL is not logged"
    );
    // A second run, and a replay of everything from scratch state, change nothing.
    assert_eq!(run().status.code(), Some(0));
    std::fs::remove_dir_all(ws.path().join("state")).unwrap();
    assert_eq!(run().status.code(), Some(0));

    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let pg: Vec<(String, String)> = client
        .query(&format!("SELECT id, story_id FROM {table} ORDER BY id"), &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    crate::util::drop_pg_table(&url, &table);
    let conn = rusqlite::Connection::open(ws.path().join("out/records.sqlite")).unwrap();
    let lite: Vec<(String, String)> = conn
        .prepare("SELECT id, story_id FROM news_records ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(pg.len(), 5, "five records, no duplicate rows");
    assert_eq!(pg, lite);
    let stories: std::collections::BTreeSet<&String> = pg.iter().map(|(_, s)| s).collect();
    assert_eq!(stories.len(), 4);
}

#[test]
fn a_missing_environment_variable_is_a_config_error() {
    let ws = Workspace::new();
    ws.write_config("[sinks.archive]\ntype = \"postgres\"\nurl = \"${NEWSFOLD_SURELY_UNSET_VAR}\"\n");
    let out = ws.once();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sinks.archive.url: environment variable NEWSFOLD_SURELY_UNSET_VAR is not set"),
        "{err}"
    );
}

/// Hands a record to a sink's queue the way the fold stage does: its receipt registered first.
fn send(
    tx: &async_channel::Sender<std::sync::Arc<newsfold::model::Delivery>>,
    acks: &newsfold::sinks::Acks,
    record: Record,
) {
    use newsfold::model::{Delivery, Receipt};
    let receipt = Receipt {
        source: std::sync::Arc::from("seeds"),
        key: record.id.clone(),
        raw_hash: "h".into(),
        record_id: record.id.clone(),
        alias: None,
    };
    acks.expect(receipt.clone());
    tx.send_blocking(std::sync::Arc::new(Delivery {
        record,
        updates: Vec::new(),
        receipt,
    }))
    .unwrap();
}

/// Runs a sink thread's loop over `records` (each with a receipt), to the end of its input.
fn run_sink(
    spec: &SinkSpec,
    records: Vec<Record>,
    ws: &Workspace,
) -> (
    newsfold::report::StageExit,
    newsfold::stats::Stats,
    newsfold::sinks::Acks,
    std::sync::Arc<newsfold::state::StateStore>,
) {
    use std::sync::Arc;
    let state = Arc::new(newsfold::state::StateStore::open(&ws.path().join("state.sqlite")).unwrap());
    let acks = newsfold::sinks::Acks::new(1, state.clone(), None);
    let stats = newsfold::stats::Stats::default();
    let (tx, rx) = async_channel::bounded(8);
    for r in records {
        send(&tx, &acks, r);
    }
    drop(tx);
    let retry = newsfold::sinks::Retry {
        shutdown: tokio_util::sync::CancellationToken::new(),
        drain_timeout: std::time::Duration::from_secs(5),
        dead_letter: ws.path().join(format!("dead-letter/{}.jsonl", spec.id)),
        linger: std::time::Duration::ZERO,
    };
    let sink = Sink::open(spec).unwrap();
    let exit = newsfold::sinks::run(spec, Some(sink), rx, &acks, &stats, 16, &retry);
    (exit, stats, acks, state)
}

#[test]
fn a_record_postgres_rejects_is_dead_lettered_and_the_rest_delivered() {
    use newsfold::report::StageExit;

    let Some(url) = postgres_url() else { return };
    let table = unique_table("reject");
    let ws = Workspace::new();
    let spec = SinkSpec {
        id: "archive".into(),
        duplicates: DuplicatePolicy::Mark,
        kind: SinkKind::Postgres(PostgresSettings::plain(&url, &table)),
    };
    let mut bad = record(2, Relation::Original, None, Lang::Vi);
    bad.body = "PostgreSQL refuses a NUL \u{0} in text".into();
    let records = vec![
        record(1, Relation::Original, None, Lang::Fr),
        bad.clone(),
        record(3, Relation::Original, None, Lang::En),
    ];
    let (exit, _, acks, state) = run_sink(&spec, records, &ws);
    assert_eq!(exit, StageExit::InputClosed);

    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let ids: Vec<String> = client
        .query(&format!("SELECT id FROM {table} ORDER BY id"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    crate::util::drop_pg_table(&url, &table);
    assert_eq!(
        ids,
        vec![
            record(1, Relation::Original, None, Lang::Fr).id,
            record(3, Relation::Original, None, Lang::En).id
        ]
    );
    let dead = read_records(&ws.path().join("dead-letter/archive.jsonl"));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["item"]["id"], bad.id);
    assert!(
        dead[0]["reason"].as_str().unwrap().contains("22021") || dead[0]["reason"].as_str().unwrap().contains("0x00"),
        "{}",
        dead[0]
    );
    assert_eq!(acks.pending(), 0, "a dead-lettered record counts as handled");
    assert!(state.is_done("seeds", &bad.id, "h").unwrap());
}

#[test]
fn nats_passes_the_sink_contract() {
    let Some(url) = nats_url() else { return };
    let stream = unique_table("contract").to_uppercase();
    let subject = format!("it.{}.{{source}}.{{lang}}", stream.to_lowercase());
    let spec = SinkSpec {
        id: "bus".into(),
        duplicates: DuplicatePolicy::Mark,
        kind: SinkKind::Nats(NatsSettings {
            url: url.clone(),
            stream: stream.clone(),
            subject,
            create_stream: true,
        }),
    };
    let f = fixtures();
    deliver(&spec, &f);
    let messages = drain_stream(&url, &stream);
    // Replays inside the duplicate window are stored once: the first records, vi, the updates.
    let ids: Vec<&str> = messages.iter().map(|(_, id, _)| id.as_str()).collect();
    let mut want: Vec<String> = f.first.iter().map(|r| r.id.clone()).collect();
    want.push(f.vi.id.clone());
    want.extend(f.updates.iter().map(StoryUpdate::id));
    assert_eq!(ids, want);
    assert!(messages[0].0.ends_with(".seeds.fr"), "{}", messages[0].0);
    let vi = f.first.len();
    assert!(messages[vi].0.ends_with(".seeds.vi"), "{}", messages[vi].0);
    let lines: Vec<Value> = messages.into_iter().map(|(_, _, v)| v).collect();
    for l in &lines {
        crate::util::assert_schema(l);
    }
    assert_eq!(jsonl_state(&lines), expected(&f));
}

#[test]
fn once_into_nats_publishes_every_record_once() {
    let Some(url) = nats_url() else { return };
    let stream = unique_table("seeds").to_uppercase();
    let subject = format!("it.{}.{{source}}.{{lang}}", stream.to_lowercase());
    let ws = Workspace::new();
    ws.write_config(&format!(
        "[sinks.bus]\ntype = \"nats\"\nurl = \"{url}\"\nstream = \"{stream}\"\nsubject = \"{subject}\"\n"
    ));
    ws.add_all_seeds();
    assert_eq!(ws.once().status.code(), Some(0));
    // Forget what was delivered: everything is published again, and JetStream keeps one copy.
    std::fs::remove_dir_all(ws.path().join("state")).unwrap();
    let out = ws.once();
    assert_eq!(out.status.code(), Some(0), "{}", crate::util::text(&out));
    let messages = drain_stream(&url, &stream);
    let ids: std::collections::BTreeSet<&str> = messages.iter().map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(messages.len(), 5, "one message per record");
    let records: std::collections::BTreeSet<String> = ws
        .records()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, records.iter().map(String::as_str).collect());
}

#[test]
fn jsonl_rotates_by_size_without_splitting_lines() {
    let ws = Workspace::new();
    let path = ws.path().join("out/records.jsonl");
    let spec = jsonl_spec(&path, Fsync::Never, 2000);
    let mut sink = Sink::open(&spec).unwrap();
    let records: Vec<Record> = (0..12u8)
        .map(|n| record(n, Relation::Original, None, Lang::Vi))
        .collect();
    for pair in records.chunks(2) {
        let items: Vec<Item<'_>> = pair.iter().map(Item::Record).collect();
        sink.write(&items).unwrap();
        // Rotated names carry a millisecond time: keep them apart.
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    drop(sink);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(ws.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != &path)
        .collect();
    files.sort();
    assert!(files.len() >= 2, "rotated at least twice: {files:?}");
    files.push(path);
    let mut ids = Vec::new();
    for f in &files {
        let lines = read_records(f);
        assert!(
            std::fs::metadata(f).unwrap().len() < 2000 + 2 * 2048,
            "{} ends near the threshold",
            f.display()
        );
        ids.extend(lines.into_iter().map(|l| l["id"].as_str().unwrap().to_string()));
    }
    assert_eq!(
        ids,
        records.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        "every line once, in order"
    );
}

fn webhook_spec(url: &str, secret: Option<&str>) -> SinkSpec {
    SinkSpec {
        id: "hook".into(),
        duplicates: DuplicatePolicy::Mark,
        kind: SinkKind::Webhook(WebhookSettings {
            url: url.into(),
            secret: secret.map(str::to_string),
            timeout: std::time::Duration::from_secs(5),
        }),
    }
}

#[test]
fn webhook_passes_the_sink_contract_with_signed_batches() {
    let server = crate::util::HookServer::start(|_, _| 200);
    let spec = webhook_spec(&server.url, Some("s3cret"));
    let f = fixtures();
    deliver(&spec, &f);
    let requests = server.requests();
    assert_eq!(requests.len(), 4, "one POST per batch");
    let mut lines = Vec::new();
    for r in &requests {
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(
            r.header("X-Newsfold-Signature"),
            Some(newsfold::sinks::webhook::signature("s3cret", &r.body).as_str())
        );
        let batch: Vec<Value> = serde_json::from_slice(&r.body).expect("a JSON array");
        lines.extend(batch);
    }
    for l in &lines {
        crate::util::assert_schema(l);
    }
    assert_eq!(jsonl_state(&lines), expected(&f));
}

#[test]
fn webhook_retries_5xx_and_dead_letters_4xx() {
    use newsfold::report::StageExit;

    let bad = record(2, Relation::Original, None, Lang::Vi);
    let bad_id = bad.id.clone();
    // Two outages, then the receiver refuses any batch holding the bad record.
    let server = crate::util::HookServer::start(move |n, req| {
        if n < 2 {
            503
        } else if String::from_utf8_lossy(&req.body).contains(&bad_id) {
            422
        } else {
            200
        }
    });
    let ws = Workspace::new();
    let spec = webhook_spec(&server.url, None);
    let records = vec![
        record(1, Relation::Original, None, Lang::Fr),
        bad.clone(),
        record(3, Relation::Original, None, Lang::En),
    ];
    let (exit, stats, acks, _) = run_sink(&spec, records, &ws);
    assert_eq!(exit, StageExit::InputClosed);
    let delivered: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| !String::from_utf8_lossy(&r.body).contains(&bad.id))
        .flat_map(|r| serde_json::from_slice::<Vec<Value>>(&r.body).unwrap())
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    assert!(delivered.contains(&record(1, Relation::Original, None, Lang::Fr).id));
    assert!(delivered.contains(&record(3, Relation::Original, None, Lang::En).id));
    let dead = read_records(&ws.path().join("dead-letter/hook.jsonl"));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["item"]["id"], bad.id);
    assert!(dead[0]["reason"].as_str().unwrap().contains("422"), "{}", dead[0]);
    let report = stats.snapshot();
    let events = &report.sink_events["hook"];
    assert_eq!(events.outages, 1);
    assert!(events.retries >= 2);
    assert_eq!(events.dead_lettered, 1);
    assert_eq!(acks.pending(), 0);
}

#[test]
fn a_linger_time_gathers_records_into_one_batch() {
    use newsfold::sinks::{Acks, Retry, run};
    use newsfold::state::StateStore;
    use newsfold::stats::Stats;
    use std::sync::Arc;

    // Sends three records 30 ms apart, or (with `one_by_one`) each once the previous one was
    // POSTed; returns the number of POSTs and the slowest send-to-POST time.
    let posts = |linger_ms: u64, one_by_one: bool| {
        let server = crate::util::HookServer::start(|_, _| 200);
        let ws = Workspace::new();
        let spec = webhook_spec(&server.url, None);
        let state = Arc::new(StateStore::open(&ws.path().join("state.sqlite")).unwrap());
        let acks = Arc::new(Acks::new(1, state, None));
        let (tx, rx) = async_channel::bounded(8);
        let retry = Retry {
            shutdown: tokio_util::sync::CancellationToken::new(),
            drain_timeout: std::time::Duration::from_secs(5),
            dead_letter: ws.path().join("dead-letter/hook.jsonl"),
            linger: std::time::Duration::from_millis(linger_ms),
        };
        let a = acks.clone();
        let worker = std::thread::spawn(move || {
            let sink = Sink::open(&spec).unwrap();
            run(&spec, Some(sink), rx, &a, &Stats::default(), 16, &retry)
        });
        let mut slowest = std::time::Duration::ZERO;
        for n in 1..=3u8 {
            let sent = std::time::Instant::now();
            send(&tx, &acks, record(n, Relation::Original, None, Lang::Vi));
            if one_by_one {
                while server.requests().len() < n as usize {
                    assert!(
                        sent.elapsed() < std::time::Duration::from_secs(10),
                        "record {n} was never POSTed"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                slowest = slowest.max(sent.elapsed());
            } else {
                std::thread::sleep(std::time::Duration::from_millis(30));
            }
        }
        drop(tx);
        worker.join().unwrap();
        (server.requests().len(), slowest)
    };
    assert_eq!(posts(2000, false).0, 1, "one POST for the three records");
    let (n, slowest) = posts(0, true);
    assert_eq!(n, 3);
    assert!(
        slowest < std::time::Duration::from_millis(1000),
        "without linger a record goes at once ({slowest:?})"
    );
}

#[test]
fn a_version_1_sqlite_table_is_migrated_and_keeps_its_rows() {
    let ws = Workspace::new();
    let path = ws.path().join("old.sqlite");
    {
        // The table as newsfold 0.1 (table version 1) created it, with one row.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE newsfold_schema (table_name TEXT PRIMARY KEY, version INTEGER NOT NULL);
             INSERT INTO newsfold_schema VALUES ('news_records', 1);
             CREATE TABLE news_records (id TEXT PRIMARY KEY, story_id TEXT NOT NULL, relation TEXT NOT NULL,
                duplicate_of TEXT, source TEXT NOT NULL, location TEXT NOT NULL, original_url TEXT, lang TEXT,
                title TEXT, body TEXT NOT NULL, published_at TEXT, authors TEXT NOT NULL,
                content_hash TEXT NOT NULL, ingested_at TEXT NOT NULL);
             INSERT INTO news_records VALUES ('old', 'old', 'original', NULL, 'seeds', '/a.txt', NULL, 'vi', NULL,
                'Thân bài', NULL, '[]', 'h', '2026-01-01T00:00:00Z');",
        )
        .unwrap();
    }
    let spec = sqlite_spec(&path);
    let fr = fixtures().first.remove(0);
    let mut sink = Sink::open(&spec).expect("the old table is migrated");
    sink.write(&[Item::Record(&fr)]).unwrap();
    drop(sink);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i32 = conn
        .query_row(
            "SELECT version FROM newsfold_schema WHERE table_name = 'news_records'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, newsfold::sinks::sql::TABLE_VERSION);
    let rows: Vec<(String, Option<String>, String, Option<f64>)> = conn
        .prepare("SELECT id, canonical_url, alternates, lang_confidence FROM news_records ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.contains(&("old".into(), None, "[]".into(), None)));
    let new = rows.iter().find(|r| r.0 == fr.id).unwrap();
    assert_eq!(new.1, fr.canonical_url);
    assert_eq!(new.2, serde_json::to_string(&fr.alternates).unwrap());
    assert_eq!(new.3, Some(0.9));
    // Each old story is its own event.
    let event: String = conn
        .query_row("SELECT event_id FROM news_records WHERE id = 'old'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(event, "old");
}
