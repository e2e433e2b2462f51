//! Helpers shared by the integration tests: a throw-away workspace with seeds and a config, the
//! real binary, and the record schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::LazyLock;

use serde_json::Value;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn seeds_dir() -> PathBuf {
    repo().join("seeds")
}

/// The five seed files, sorted by name.
pub fn seed_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(seeds_dir())
        .expect("seeds/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    v.sort();
    v
}

pub fn seed(prefix: &str) -> PathBuf {
    seed_files()
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)))
        .unwrap_or_else(|| panic!("no seed {prefix}"))
}

/// A temporary folder with `pages/`, a config writing `out/records.jsonl`, and state in `state/`.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("pages")).expect("pages dir");
        let ws = Workspace { dir };
        ws.write_config("");
        ws
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn pages(&self) -> PathBuf {
        self.path().join("pages")
    }

    pub fn config(&self) -> PathBuf {
        self.path().join("newsfold.toml")
    }

    pub fn records_path(&self) -> PathBuf {
        self.path().join("out/records.jsonl")
    }

    /// Writes the standard config plus `extra` TOML appended (extra keys for the same tables are
    /// not possible in TOML, so `extra` adds tables).
    pub fn write_config(&self, extra: &str) {
        self.write_config_with("interval = \"60s\"", "duplicates = \"mark\"", extra);
    }

    pub fn write_config_with(&self, source_extra: &str, sink_extra: &str, extra: &str) {
        let text = format!(
            "[state]\npath = \"state/state.sqlite\"\n\n[sources.pages]\ntype = \"files\"\npath = \"pages\"\n{source_extra}\n\n[sinks.out]\ntype = \"jsonl\"\npath = \"out/records.jsonl\"\n{sink_extra}\n\n{extra}\n"
        );
        std::fs::write(self.config(), text).expect("write config");
    }

    pub fn add_page(&self, name: &str, from: &Path) {
        std::fs::copy(from, self.pages().join(name)).expect("copy page");
    }

    pub fn add_seed(&self, prefix: &str) {
        let from = seed(prefix);
        self.add_page(&from.file_name().expect("file name").to_string_lossy(), &from);
    }

    pub fn add_all_seeds(&self) {
        for s in seed_files() {
            self.add_page(&s.file_name().expect("file name").to_string_lossy(), &s);
        }
    }

    pub fn newsfold(&self, args: &[&str]) -> Output {
        newsfold(args, self.path())
    }

    /// `newsfold once` on this workspace's config.
    pub fn once(&self) -> Output {
        let config = self.config();
        self.newsfold(&["once", "--config", config.to_str().expect("utf-8 path")])
    }

    pub fn records(&self) -> Vec<Value> {
        read_records(&self.records_path())
    }
}

pub fn newsfold(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newsfold"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .expect("run newsfold")
}

/// The complete lines of a JSON Lines file: a running daemon may be writing the last one, which
/// is left out until its newline is there.
pub fn read_records(path: &Path) -> Vec<Value> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes[..bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
            .collect(),
        Err(_) => Vec::new(),
    }
}

pub fn stderr_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stderr line is not JSON {l:?}: {e}")))
        .collect()
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn validator(file: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schema").join(file)).expect("schema file");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

static RECORD: LazyLock<jsonschema::Validator> = LazyLock::new(|| validator("record-v1.json"));
static STORY_UPDATE: LazyLock<jsonschema::Validator> = LazyLock::new(|| validator("story-update-v1.json"));
static DECISION: LazyLock<jsonschema::Validator> = LazyLock::new(|| validator("decision-v1.json"));

/// Panics with every violation when `entry` does not match schema/decision-v1.json.
pub fn assert_decision_schema(entry: &Value) {
    let errors: Vec<String> = DECISION
        .iter_errors(entry)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "entry violates schema: {errors:?}\n{entry}");
}

/// Panics with every violation when a JSON Lines line matches neither schema/record-v1.json nor,
/// for update lines (any `"type"`), schema/story-update-v1.json.
pub fn assert_schema(line: &Value) {
    let v = if line.get("type").is_some() {
        &*STORY_UPDATE
    } else {
        &*RECORD
    };
    let errors: Vec<String> = v
        .iter_errors(line)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "line violates schema: {errors:?}\n{line}");
}

/// Of two records of one story, (the original, the other), whichever arrived first: scrape
/// workers run in parallel, so arrival order at the fold is not file order.
pub fn original_and_member<'a>(a: &'a Value, b: &'a Value) -> (&'a Value, &'a Value) {
    if a["relation"] == "original" { (a, b) } else { (b, a) }
}

/// The `relation` of the record whose location ends with `suffix`.
pub fn by_location<'a>(records: &'a [Value], suffix: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["location"].as_str().is_some_and(|l| l.ends_with(suffix)))
        .unwrap_or_else(|| panic!("no record for {suffix}"))
}

/// The PostgreSQL the service tests use (`NEWSFOLD_TEST_POSTGRES`, default the local server).
/// Unreachable: in CI (`CI` set) the test fails; elsewhere it is skipped with a message.
pub fn postgres_url() -> Option<String> {
    let url =
        std::env::var("NEWSFOLD_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    match postgres::Client::connect(&url, postgres::NoTls) {
        Ok(_) => Some(url),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("PostgreSQL is required in CI but unreachable at {url}: {e}")
        }
        Err(e) => {
            eprintln!(
                "skipping: PostgreSQL is not reachable at {url} ({e}); set NEWSFOLD_TEST_POSTGRES to run this test"
            );
            None
        }
    }
}

/// A table name no other test run uses.
pub fn unique_table(prefix: &str) -> String {
    format!("it_{prefix}_{}_{:x}", std::process::id(), fastrand::u64(..))
}

/// The NATS server the service tests use (`NEWSFOLD_TEST_NATS`, default the local one), under the
/// same rule as `postgres_url`.
pub fn nats_url() -> Option<String> {
    let url = std::env::var("NEWSFOLD_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let reachable = rt.block_on(async {
        async_nats::ConnectOptions::new()
            .connection_timeout(std::time::Duration::from_secs(3))
            .connect(url.as_str())
            .await
    });
    match reachable {
        Ok(_) => Some(url),
        Err(e) if std::env::var_os("CI").is_some() => panic!("NATS is required in CI but unreachable at {url}: {e}"),
        Err(e) => {
            eprintln!("skipping: NATS is not reachable at {url} ({e}); set NEWSFOLD_TEST_NATS to run this test");
            None
        }
    }
}

/// Every message of a JetStream stream, in order, as (subject, Nats-Msg-Id, JSON); the stream is
/// deleted afterwards.
pub fn drain_stream(url: &str, stream: &str) -> Vec<(String, String, Value)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = async_nats::connect(url).await.expect("connect");
        let js = async_nats::jetstream::new(client);
        let mut s = js.get_stream(stream).await.expect("stream exists");
        let last = s.info().await.expect("stream info").state.last_sequence;
        let mut out = Vec::new();
        for seq in 1..=last {
            let m = s.get_raw_message(seq).await.expect("message");
            let id = m.headers.get("Nats-Msg-Id").map(|v| v.to_string()).unwrap_or_default();
            out.push((
                m.subject.to_string(),
                id,
                serde_json::from_slice(&m.payload).expect("JSON payload"),
            ));
        }
        js.delete_stream(stream).await.expect("delete stream");
        out
    })
}

/// A request a `HookServer` received.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 for webhook tests: `answer(n, &request)` gives the
/// status for the n-th request (from 0); every request is kept.
pub struct HookServer {
    pub url: String,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
}

impl HookServer {
    pub fn start(answer: impl Fn(usize, &Received) -> u16 + Send + Sync + 'static) -> HookServer {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://127.0.0.1:{}/ingest",
            listener.local_addr().expect("addr").port()
        );
        let received: std::sync::Arc<std::sync::Mutex<Vec<Received>>> = Default::default();
        let (r, answer) = (received.clone(), std::sync::Arc::new(answer));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (r, answer) = (r.clone(), answer.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut headers = Vec::new();
                    let mut line = String::new();
                    let _ = reader.read_line(&mut line); // request line
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.trim_end().split_once(':') {
                            headers.push((k.trim().to_string(), v.trim().to_string()));
                        }
                    }
                    let len = headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0usize);
                    let mut body = vec![0; len];
                    let _ = reader.read_exact(&mut body);
                    let req = Received { headers, body };
                    let n = {
                        let mut list = r.lock().expect("lock");
                        list.push(req.clone());
                        list.len() - 1
                    };
                    let status = answer(n, &req);
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                });
            }
        });
        HookServer { url, received }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

/// Drops a test table and its schema row (best effort: a test that failed may leave neither).
pub fn drop_pg_table(url: &str, table: &str) {
    if let Ok(mut c) = postgres::Client::connect(url, postgres::NoTls) {
        let _ = c.batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; DELETE FROM newsfold_schema WHERE table_name = '{table}'"
        ));
    }
}

/// Polls `f` every 50 ms until it holds, failing the test after `timeout`.
pub fn wait_for(what: &str, timeout: std::time::Duration, mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Sends SIGTERM to `child` and returns its exit status and output, failing after 20 s.
pub fn terminate(mut child: std::process::Child) -> (std::process::ExitStatus, Output) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    wait_for(
        "the daemon to stop after SIGTERM",
        std::time::Duration::from_secs(20),
        || child.try_wait().expect("try_wait").is_some(),
    );
    let out = child.wait_with_output().expect("output");
    (out.status, out)
}
