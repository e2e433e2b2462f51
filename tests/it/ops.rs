//! Operating the daemon: the API (metrics, health, readiness, the status page in headless
//! Chromium), SIGHUP reloads, systemd's notify protocol, rate-limited failure lines, `once`'s
//! progress on a terminal, and the deploy/ files.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::util::{Workspace, seed, wait_for};
use crate::web::{Route, Site};

/// A `newsfold run` whose stderr (JSON log lines) is collected while it runs.
pub(crate) struct Daemon {
    child: Option<Child>,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Daemon {
    pub(crate) fn start(ws: &Workspace, envs: &[(&str, &str)]) -> Daemon {
        let config = ws.config().display().to_string();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsfold"));
        cmd.args(["run", "--config", &config])
            .current_dir(ws.path())
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start newsfold run");
        let stderr = child.stderr.take().expect("stderr");
        let lines: Arc<Mutex<Vec<Value>>> = Default::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let v = serde_json::from_str(&line).unwrap_or_else(|e| panic!("log line is not JSON {line:?}: {e}"));
                sink.lock().expect("lock").push(v);
            }
        });
        Daemon {
            child: Some(child),
            lines,
        }
    }

    pub(crate) fn lines(&self) -> Vec<Value> {
        self.lines.lock().expect("lock").clone()
    }

    pub(crate) fn logged(&self, message: &str) -> Vec<Value> {
        self.lines().into_iter().filter(|l| l["message"] == message).collect()
    }

    pub(crate) fn wait_logged(&self, message: &str, n: usize) -> Vec<Value> {
        wait_for(&format!("{n} log line(s) {message:?}"), Duration::from_secs(30), || {
            self.logged(message).len() >= n
        });
        self.logged(message)
    }

    /// The API's base URL, from the "api listening" line (the tests listen on port 0).
    pub(crate) fn api(&self) -> String {
        let line = self.wait_logged("api listening", 1).remove(0);
        format!("http://{}", line["listen"].as_str().expect("listen field"))
    }

    pub(crate) fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// SIGTERM, then the exit code once the daemon has drained.
    pub(crate) fn stop(&mut self) -> Option<i32> {
        self.signal("TERM");
        let mut child = self.child.take().expect("running");
        wait_for("the daemon to exit", Duration::from_secs(30), || {
            child.try_wait().expect("try_wait").is_some()
        });
        let status = child.wait().expect("wait");
        // Let the reader thread take the last lines.
        std::thread::sleep(Duration::from_millis(100));
        status.code()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A blocking client for the local API.
pub(crate) fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .no_proxy()
        .build()
        .expect("client")
}

pub(crate) fn get(url: &str) -> (u16, String) {
    let r = client().get(url).send().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status().as_u16();
    (status, r.text().expect("body"))
}

/// The value of one sample in Prometheus text, e.g. `newsfold_fold_index_documents` or
/// `newsfold_source_pages_read_total{source="pages"}`.
pub(crate) fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().expect("a number"))
    })
}

fn api_workspace(source_extra: &str, extra: &str) -> Workspace {
    let ws = Workspace::new();
    ws.write_config_with(
        source_extra,
        "duplicates = \"mark\"",
        &format!("[api]\nlisten = \"127.0.0.1:0\"\n\n{extra}"),
    );
    ws
}

#[test]
fn the_api_serves_metrics_health_and_readiness() {
    let ws = api_workspace(
        "interval = \"1s\"",
        "[sinks.db]\ntype = \"sqlite\"\npath = \"out/records.sqlite\"\n",
    );
    ws.add_all_seeds();
    let mut d = Daemon::start(&ws, &[]);
    let api = d.api();
    wait_for("five records", Duration::from_secs(30), || ws.records().len() == 5);

    assert_eq!(get(&format!("{api}/healthz")), (200, "ok\n".to_string()));
    let (status, body) = get(&format!("{api}/readyz"));
    assert_eq!(status, 200, "{body}");
    let ready: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(ready["ready"], true);
    let names: Vec<&str> = ready["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["state", "sink db", "sink out"]);

    // Each sink counts a batch once it is written: wait until both have.
    let mut metrics = String::new();
    wait_for("both sinks to count five", Duration::from_secs(10), || {
        metrics = get(&format!("{api}/metrics")).1;
        ["out", "db"]
            .iter()
            .all(|s| sample(&metrics, &format!("newsfold_sink_delivered_total{{sink=\"{s}\"}}")) == Some(5.0))
    });
    let index_bytes = sample(&metrics, "newsfold_fold_index_bytes").expect("index bytes");
    assert!(index_bytes > 0.0, "{metrics}");
    for (series, value) in [
        ("newsfold_source_pages_read_total{source=\"pages\"}", 5.0),
        ("newsfold_source_records_total{source=\"pages\"}", 5.0),
        ("newsfold_stage_received_total{stage=\"scrape\"}", 5.0),
        ("newsfold_stage_emitted_total{stage=\"fold\"}", 5.0),
        ("newsfold_fold_relations_total{relation=\"translation\"}", 1.0),
        ("newsfold_fold_relations_total{relation=\"original\"}", 4.0),
        ("newsfold_fold_index_documents", 5.0),
        ("newsfold_sink_delivered_total{sink=\"out\"}", 5.0),
        ("newsfold_sink_delivered_total{sink=\"db\"}", 5.0),
        ("newsfold_sink_dead_lettered_total{sink=\"out\"}", 0.0),
        ("newsfold_sink_queue_depth{sink=\"out\"}", 0.0),
        ("newsfold_sink_up{sink=\"db\"}", 1.0),
        ("newsfold_source_up{source=\"pages\"}", 1.0),
    ] {
        assert_eq!(sample(&metrics, series), Some(value), "{series} in\n{metrics}");
    }
    let age = sample(&metrics, "newsfold_source_last_success_age_seconds{source=\"pages\"}").expect("age");
    assert!((0.0..30.0).contains(&age), "{age}");
    assert!(metrics.contains("# HELP newsfold_fold_index_documents "));

    // A page the scrape stage refuses shows as an error of its source, by kind.
    std::fs::write(ws.pages().join("empty.txt"), "   \n").expect("write");
    wait_for("the refusal in the metrics", Duration::from_secs(20), || {
        let m = get(&format!("{api}/metrics")).1;
        sample(&m, "newsfold_stage_failed_total{stage=\"scrape\"}") == Some(1.0)
            && m.lines()
                .any(|l| l.starts_with("newsfold_source_errors_total{source=\"pages\",kind=\""))
    });

    // The SQLite sink's database goes away: not ready, naming the sink.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(ws.path().join(format!("out/records.sqlite{suffix}")));
    }
    let (status, body) = get(&format!("{api}/readyz"));
    assert_eq!(status, 503, "{body}");
    let ready: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(ready["ready"], false);
    let db = ready["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "sink db")
        .expect("db check");
    assert_eq!(db["ok"], false);
    assert!(db["error"].as_str().expect("error").contains("records.sqlite"), "{db}");
    assert_eq!(get(&format!("{api}/healthz")).0, 200, "alive though not ready");
    assert_eq!(d.stop(), Some(0));
}

#[test]
fn a_sink_outage_and_the_drain_make_the_daemon_unready_while_the_api_still_answers() {
    // A webhook that always answers 503: the sink retries, in an outage.
    let hook = crate::util::HookServer::start(|_, _| 503);
    let ws = Workspace::new();
    ws.write_config(&format!(
        "[api]\nlisten = \"127.0.0.1:0\"\n\n[pipeline]\ndrain_timeout = \"4s\"\n\n[sinks.hook]\ntype = \"webhook\"\nurl = \"{}\"\n",
        hook.url
    ));
    ws.add_seed("000");
    let mut d = Daemon::start(&ws, &[]);
    let api = d.api();
    d.wait_logged("sink unavailable; retrying with backoff", 1);
    let (status, body) = get(&format!("{api}/readyz"));
    assert_eq!(status, 503, "{body}");
    let ready: Value = serde_json::from_str(&body).expect("JSON");
    let hook_check = ready["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "sink hook")
        .expect("hook check")
        .clone();
    assert_eq!(hook_check["ok"], false);
    assert_eq!(hook_check["error"], "the last write failed; retrying");
    // Retries are counted after each failed attempt.
    let mut metrics = String::new();
    wait_for("a counted retry", Duration::from_secs(10), || {
        metrics = get(&format!("{api}/metrics")).1;
        sample(&metrics, "newsfold_sink_retries_total{sink=\"hook\"}").is_some_and(|r| r >= 1.0)
    });
    assert_eq!(sample(&metrics, "newsfold_sink_up{sink=\"hook\"}"), Some(0.0));
    assert_eq!(sample(&metrics, "newsfold_sink_up{sink=\"out\"}"), Some(1.0));
    assert_eq!(
        sample(&metrics, "newsfold_sink_outages_total{sink=\"hook\"}"),
        Some(1.0)
    );

    // SIGTERM: the drain waits for the hook up to drain_timeout; meanwhile the API still answers,
    // alive but not ready.
    let before_drain = hook.requests().len();
    d.signal("TERM");
    d.wait_logged(
        "shutdown requested; draining in-flight pages (signal again to exit now)",
        1,
    );
    let (status, body) = get(&format!("{api}/readyz"));
    assert_eq!(status, 503, "{body}");
    let ready: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(ready["checks"][0]["name"], "pipeline");
    assert_eq!(ready["checks"][0]["error"], "shutting down");
    assert_eq!(get(&format!("{api}/healthz")).0, 200);
    let mut child = d.child.take().expect("running");
    wait_for("the drain deadline", Duration::from_secs(30), || {
        child.try_wait().expect("try_wait").is_some()
    });
    assert_eq!(
        child.wait().expect("wait").code(),
        Some(1),
        "the hook never took its record"
    );
    assert!(hook.requests().len() >= 2, "retried");
    // Issue 16 (retry storm while draining): the drain keeps backing off, a handful of attempts
    // in 4 s rather than one a millisecond.
    let during_drain = hook.requests().len() - before_drain;
    assert!(during_drain <= 12, "{during_drain} attempts during a 4 s drain");
}

#[test]
fn api_listen_is_checked_and_a_taken_port_fails_the_start() {
    let ws = Workspace::new();
    ws.write_config("[api]\nlisten = \"localhost\"\n");
    let out = ws.newsfold(&["check", "--config", ws.config().to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(78), "EX_CONFIG");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("api.listen: \"localhost\" is not an address and port"),
        "{text}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    ws.write_config(&format!("[api]\nlisten = \"127.0.0.1:{port}\"\n"));
    ws.add_seed("000");
    let out = ws.newsfold(&["run", "--config", ws.config().to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains(&format!("api.listen: cannot listen on 127.0.0.1:{port}")),
        "{text}"
    );
}

/// Headless Chromium from Debian's package; in CI a missing browser fails the test.
fn chromium() -> Option<&'static str> {
    let path = "/usr/bin/chromium";
    if Path::new(path).exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("chromium is required in CI (apt-get install chromium); .ci/run installs it");
    }
    eprintln!("skipping: {path} not found (apt-get install chromium to run this test)");
    None
}

/// Headless Chromium from a fresh profile, with nothing leaving the machine.
fn chromium_command(browser: &str, profile: &Path) -> Command {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        &format!("--user-data-dir={}", profile.display()),
    ])
    .stdin(Stdio::null());
    cmd
}

/// The page as Chromium rendered it (its DOM after layout).
fn render_in_chromium(browser: &str, url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = chromium_command(browser, profile.path())
        .args(["--virtual-time-budget=2000", "--dump-dom", url])
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 DOM")
}

#[test]
fn the_status_page_shows_the_translated_story_with_both_members_in_chromium() {
    let Some(browser) = chromium() else { return };
    let ws = api_workspace("interval = \"1s\"", "[fold]\nprefer_lang = [\"vi\"]\n");
    ws.add_all_seeds();
    let mut d = Daemon::start(&ws, &[]);
    let api = d.api();
    // Issue 16 (the flaky browser test): the JSON Lines file also holds a story update line when
    // the French page is folded before the Vietnamese one (prefer_lang makes the later one
    // canonical), so "five lines" held only in the arrival orders without one. Count records.
    let records_only = || {
        ws.records()
            .into_iter()
            .filter(|l| l.get("type").is_none())
            .collect::<Vec<_>>()
    };
    wait_for("five records", Duration::from_secs(30), || records_only().len() == 5);
    let records = records_only();
    let of = |prefix: &str| {
        records
            .iter()
            .find(|r| r["location"].as_str().is_some_and(|l| l.contains(prefix)))
            .unwrap_or_else(|| panic!("no record of {prefix}"))
    };
    let (fr, vi) = (of("000_"), of("001_"));
    assert_eq!(fr["story_id"], vi["story_id"]);
    let story = fr["story_id"].as_str().expect("story id");

    let dom = render_in_chromium(browser, &format!("{api}/"));
    assert!(dom.contains("<title>newsfold status</title>"), "{dom}");
    let start = dom
        .find(&format!("data-story=\"{story}\""))
        .unwrap_or_else(|| panic!("story {story} not on the page:\n{dom}"));
    let section = &dom[start..start + dom[start..].find("</section>").expect("section end")];
    for (r, lang) in [(fr, "fr"), (vi, "vi")] {
        let id = r["id"].as_str().expect("id");
        let at = section
            .find(&format!("data-record=\"{id}\""))
            .unwrap_or_else(|| panic!("member {id} not in the story:\n{section}"));
        assert!(section[at..].contains(&format!("data-lang=\"{lang}\"")));
        // The seeds are text: no title, so the body's first line (its first words here) shows.
        let body = r["body"].as_str().expect("body");
        let first_words: String = body.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
        assert!(
            section[at..].contains(&first_words),
            "{first_words:?} not shown:\n{section}"
        );
        let location = r["location"].as_str().expect("location");
        assert!(section[at..].contains(location), "{location} not shown");
    }
    assert_eq!(section.matches("<article class=\"member").count(), 2, "{section}");
    // The Vietnamese original is the canonical member (prefer_lang = ["vi"]).
    let vi_id = vi["id"].as_str().expect("id");
    assert!(
        section.contains(&format!("class=\"member canonical\" data-record=\"{vi_id}\"")),
        "{section}"
    );
    // Sources, the chart and the other stories are there too.
    assert!(dom.contains("data-source=\"pages\""));
    assert_eq!(dom.matches("<rect ").count(), 60, "one bar a minute");
    assert_eq!(
        dom.matches("class=\"story\"").count(),
        4,
        "four stories from five pages"
    );
    assert_eq!(d.stop(), Some(0));
}

/// A PNG screenshot of the page, as Chromium draws it at 1200×900: (width, height, bytes).
fn screenshot_in_chromium(browser: &str, url: &str, png: &Path) -> (u32, u32, usize) {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = chromium_command(browser, profile.path())
        .args([
            "--hide-scrollbars",
            "--window-size=1200,900",
            &format!("--screenshot={}", png.display()),
            url,
        ])
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(png).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    (be(16), be(20), bytes.len())
}

/// Issue 15: the story page shows both members of the seed pair side by side with the evidence
/// that joined them, and `/stories` finds the story by its words, source and language.
#[test]
fn the_story_page_shows_both_members_and_the_evidence_in_chromium() {
    let Some(browser) = chromium() else { return };
    let ws = api_workspace("interval = \"1s\"", "");
    ws.add_all_seeds();
    let mut d = Daemon::start(&ws, &[]);
    let api = d.api();
    wait_for("five records", Duration::from_secs(60), || ws.records().len() == 5);
    let records = ws.records();
    let of = |prefix: &str| {
        records
            .iter()
            .find(|r| r["location"].as_str().is_some_and(|l| l.contains(prefix)))
            .unwrap_or_else(|| panic!("no record of {prefix}"))
    };
    let (fr, vi) = (of("000_"), of("001_"));
    let story = fr["story_id"].as_str().expect("story id");
    assert_eq!(vi["story_id"], story);

    let dom = render_in_chromium(browser, &format!("{api}/stories/{story}"));
    assert_eq!(dom.matches("<article class=\"member").count(), 2, "{dom}");
    for (r, lang) in [(fr, "fr"), (vi, "vi")] {
        let id = r["id"].as_str().expect("id");
        let at = dom
            .find(&format!("data-record=\"{id}\""))
            .unwrap_or_else(|| panic!("{id} missing:\n{dom}"));
        assert!(dom[at..].contains(&format!("data-lang=\"{lang}\"")));
        let first_words: String = r["body"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .take(5)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            dom[at..].contains(&first_words),
            "the lead {first_words:?} is shown:\n{dom}"
        );
    }
    assert_eq!(dom.matches("class=\"member canonical\"").count(), 1, "{dom}");
    let why = &dom[dom.find("class=\"why\"").expect("the evidence is shown")..];
    let why = &why[..why.find("</div>").expect("end")];
    for fact in [
        "shares 03/2019/nd-cp",
        "62000",
        "event day 01-19 on both",
        "score ",
        " over 0.40",
    ] {
        assert!(why.contains(fact), "{fact:?} not in the evidence: {why}");
    }
    let png = ws.path().join("story.png");
    let (w, h, size) = screenshot_in_chromium(browser, &format!("{api}/stories/{story}"), &png);
    assert_eq!((w, h), (1200, 900));
    assert!(
        size > 20_000,
        "a page with two members drawn, not a blank one ({size} bytes)"
    );

    // The list: newest first, filtered by words, language and source.
    let list = |q: &str| get(&format!("{api}/stories{q}")).1;
    assert_eq!(list("").matches("<tr data-story=").count(), 4, "four stories");
    let found = list("?q=Qu%E1%BA%A3ng+Nam+Ngh%E1%BB%8B+%C4%91%E1%BB%8Bnh");
    assert!(found.contains(&format!("data-story=\"{story}\"")), "{found}");
    assert!(list("?q=zzqqxx").contains("No story matches."));
    assert!(list("?lang=fr").contains(&format!("data-story=\"{story}\"")));
    assert!(list("?source=elsewhere").contains("No story matches."));
    assert_eq!(get(&format!("{api}/stories/{}", "0".repeat(32))).0, 404);
    assert_eq!(get(&format!("{api}/stories/not-an-id")).0, 404);
    assert_eq!(d.stop(), Some(0));
}

/// Replaces the workspace config, atomically (a reload never reads a half-written file).
fn rewrite_config(ws: &Workspace, text: &str) {
    let tmp = ws.path().join("newsfold.toml.new");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, ws.config()).expect("rename");
}

fn two_folder_config(sources: &str, level: &str) -> String {
    format!(
        "[state]\npath = \"state/state.sqlite\"\n\n[log]\nlevel = \"{level}\"\n\n{sources}\n\n[sinks.out]\ntype = \"jsonl\"\npath = \"out/records.jsonl\"\nduplicates = \"mark\"\n"
    )
}

fn folder_source(name: &str, extra: &str) -> String {
    format!("[sources.{name}]\ntype = \"files\"\npath = \"{name}\"\ninterval = \"1s\"\n{extra}\n")
}

fn locations(ws: &Workspace) -> Vec<String> {
    let mut v: Vec<String> = ws
        .records()
        .iter()
        .map(|r| r["location"].as_str().expect("location").to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn sighup_applies_sources_and_log_level_and_keeps_running_on_a_bad_config() {
    let ws = Workspace::new();
    for dir in ["a", "b"] {
        std::fs::create_dir(ws.path().join(dir)).expect("mkdir");
    }
    std::fs::copy(seed("002"), ws.path().join("a/002.txt")).expect("copy");
    std::fs::copy(seed("000"), ws.path().join("b/000.txt")).expect("copy");
    std::fs::copy(seed("001"), ws.path().join("b/001.txt")).expect("copy");
    rewrite_config(&ws, &two_folder_config(&folder_source("a", ""), "info"));
    let mut d = Daemon::start(&ws, &[]);
    wait_for("a's record", Duration::from_secs(30), || ws.records().len() == 1);
    assert!(d.logged("page scraped").is_empty(), "no DEBUG at info");

    // Add b and turn on DEBUG.
    let both = format!("{}{}", folder_source("a", ""), folder_source("b", ""));
    rewrite_config(&ws, &two_folder_config(&both, "info,newsfold=debug"));
    d.signal("HUP");
    let reloaded = d.wait_logged("config reloaded", 1);
    assert_eq!(reloaded[0]["added"], "b");
    assert_eq!(reloaded[0]["removed"], "");
    wait_for("b's records", Duration::from_secs(30), || ws.records().len() == 3);
    assert_eq!(d.wait_logged("log level changed", 1)[0]["level"], "info,newsfold=debug");
    d.wait_logged("page scraped", 2);
    let records = ws.records();
    assert_eq!(records[1]["story_id"], records[2]["story_id"], "the pair folds");

    // A broken config is reported like `check` reports it, and the running one stays.
    rewrite_config(
        &ws,
        &format!(
            "{}\n[sources.c]\ntype = \"files\"\npaht = \"c\"\n",
            two_folder_config(&both, "info")
        ),
    );
    d.signal("HUP");
    let failed = d.wait_logged("config reload failed; the running config stays", 1);
    assert_eq!(failed[0]["level"], "ERROR");
    let invalid = d.logged("invalid config");
    assert!(!invalid.is_empty());
    let check = ws.newsfold(&["check", "--config", ws.config().to_str().expect("utf-8")]);
    let check_text = String::from_utf8_lossy(&check.stderr);
    for line in &invalid {
        let e = line["error"].as_str().expect("error");
        assert!(check_text.contains(e), "{e:?} is what check says:\n{check_text}");
        assert!(e.contains("sources.c"), "{e}");
    }
    std::fs::copy(seed("003"), ws.path().join("b/003.txt")).expect("copy");
    wait_for("b still read", Duration::from_secs(30), || ws.records().len() == 4);
    assert!(
        d.logged("page scraped").len() >= 3,
        "DEBUG stayed on: the bad config changed nothing"
    );

    // Remove a, change b (its glob), back to info; a pipeline setting waits for a restart.
    let b_only = folder_source("b", "glob = [\"*.txt\", \"*.md\"]");
    rewrite_config(
        &ws,
        &format!(
            "{}\n[pipeline]\nchannel_capacity = 8\n",
            two_folder_config(&b_only, "info")
        ),
    );
    d.signal("HUP");
    let reloaded = d.wait_logged("config reloaded", 2);
    assert_eq!(reloaded[1]["removed"], "a");
    assert_eq!(reloaded[1]["changed"], "b");
    let restart = d.logged("these settings change only on restart; the running ones stay");
    assert_eq!(restart.len(), 1, "{restart:?}");
    assert_eq!(restart[0]["sections"], "pipeline");
    d.wait_logged("source restarted with its new settings", 1);
    std::fs::copy(seed("004"), ws.path().join("b/004.md")).expect("copy");
    std::fs::copy(seed("004"), ws.path().join("a/004.txt")).expect("copy");
    wait_for("b's .md page", Duration::from_secs(30), || ws.records().len() == 5);
    std::thread::sleep(Duration::from_millis(2500));
    let locs = locations(&ws);
    assert!(locs.iter().any(|l| l.ends_with("b/004.md")), "{locs:?}");
    assert!(
        !locs.iter().any(|l| l.ends_with("a/004.txt")),
        "a was removed: {locs:?}"
    );
    assert_eq!(d.stop(), Some(0));
    let mut ids: Vec<String> = ws.records().iter().map(|r| r["id"].to_string()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "no record twice");
}

#[test]
fn a_reload_mid_stream_loses_and_repeats_nothing() {
    let ws = Workspace::new();
    std::fs::create_dir(ws.path().join("bulk")).expect("mkdir");
    // 400 distinct pages: the seeds with a numbered line each.
    let seeds: Vec<String> = ["000", "002", "003", "004"]
        .iter()
        .map(|p| std::fs::read_to_string(seed(p)).expect("seed"))
        .collect();
    for i in 0..400 {
        let text = format!(
            "{}\nBản tin số {i} ngày 12/3/2024, mã {i}/2024/QĐ-UBND.\n",
            seeds[i % 4]
        );
        std::fs::write(ws.path().join(format!("bulk/{i:04}.txt")), text).expect("write");
    }
    let config = |extra: &str| {
        format!(
            "[state]\npath = \"state/state.sqlite\"\n\n[pipeline]\nchannel_capacity = 4\nscrape_workers = 1\n\n{}\n[sinks.out]\ntype = \"jsonl\"\npath = \"out/records.jsonl\"\nduplicates = \"mark\"\n",
            folder_source("bulk", extra)
        )
    };
    rewrite_config(&ws, &config(""));
    let mut d = Daemon::start(&ws, &[]);
    wait_for("the stream to start", Duration::from_secs(30), || {
        ws.records().len() >= 20
    });
    // Change the source while pages are in the queues (4 per queue, one scrape worker).
    rewrite_config(&ws, &config("glob = [\"*.txt\", \"*.md\"]"));
    d.signal("HUP");
    let reloaded = d.wait_logged("config reloaded", 1);
    assert_eq!(reloaded[0]["changed"], "bulk");
    let at_reload = ws.records().len();
    assert!(at_reload < 400, "the reload came mid-stream ({at_reload} of 400 done)");
    wait_for("every page", Duration::from_secs(120), || ws.records().len() >= 400);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(d.stop(), Some(0));
    let records = ws.records();
    let mut ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().expect("id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((records.len(), ids.len()), (400, 400), "each page exactly once");
}

#[test]
fn systemd_hears_ready_watchdog_reloading_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let ws = Workspace::new();
    ws.write_config_with("interval = \"1s\"", "", "");
    ws.add_seed("000");
    let socket_path = ws.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind notify socket");
    socket.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let received: Arc<Mutex<Vec<String>>> = Default::default();
    let r = received.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = socket.recv(&mut buf) {
            r.lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    });
    let notify = socket_path.display().to_string();
    // WATCHDOG_USEC = 400 ms: a ping every 200 ms.
    let mut d = Daemon::start(&ws, &[("NOTIFY_SOCKET", &notify), ("WATCHDOG_USEC", "400000")]);
    let has = |needle: &str| {
        received
            .lock()
            .expect("lock")
            .iter()
            .filter(|m| m.contains(needle))
            .count()
    };
    wait_for("READY=1", Duration::from_secs(20), || has("READY=1") == 1);
    wait_for("watchdog pings", Duration::from_secs(20), || has("WATCHDOG=1") >= 5);
    d.signal("HUP");
    wait_for("RELOADING=1 then READY=1", Duration::from_secs(20), || {
        has("RELOADING=1") == 1 && has("READY=1") == 2
    });
    let reloading = received
        .lock()
        .expect("lock")
        .iter()
        .find(|m| m.contains("RELOADING=1"))
        .cloned()
        .expect("reloading message");
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    assert_eq!(d.stop(), Some(0));
    wait_for("STOPPING=1", Duration::from_secs(5), || has("STOPPING=1") == 1);
    let messages = received.lock().expect("lock").clone();
    let ready = messages.iter().position(|m| m.contains("READY=1")).expect("ready");
    let stopping = messages
        .iter()
        .position(|m| m.contains("STOPPING=1"))
        .expect("stopping");
    assert!(ready < stopping);
}

#[test]
fn a_dead_feed_is_logged_once_per_window_and_every_failure_counted() {
    let site = Site::start("127.0.0.61");
    site.route("/feed.rss", Route::status(404, &[]));
    let ws = Workspace::new();
    let text = format!(
        "[state]\npath = \"state/state.sqlite\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n[log]\nrepeat_window = \"3s\"\n\n[sources.dead]\ntype = \"feed\"\nurl = \"{}\"\ninterval = \"1s\"\nmin_delay = \"0s\"\n\n[sinks.out]\ntype = \"jsonl\"\npath = \"out/records.jsonl\"\n",
        site.url("/feed.rss")
    );
    rewrite_config(&ws, &text);
    let mut d = Daemon::start(&ws, &[]);
    let api = d.api();
    let errors_of = |m: &str| sample(m, "newsfold_source_errors_total{source=\"dead\",kind=\"http_4xx\"}");
    let mut metrics = String::new();
    wait_for("eight failed polls", Duration::from_secs(60), || {
        metrics = get(&format!("{api}/metrics")).1;
        errors_of(&metrics).is_some_and(|e| e >= 8.0)
    });
    let polls = site.hits_of("/feed.rss").len() as f64;
    let errors = errors_of(&metrics).expect("errors");
    let suppressed = sample(&metrics, "newsfold_source_log_suppressed_total{source=\"dead\"}").expect("suppressed");
    assert_eq!(d.stop(), Some(0));
    let lines: Vec<Value> = d
        .lines()
        .into_iter()
        .filter(|l| l["level"] == "WARN" && l["url"] == site.url("/feed.rss").as_str())
        .collect();
    assert!(
        errors >= 8.0 && errors <= polls,
        "every poll counted: {errors} of {polls}"
    );
    assert!(
        lines.len() >= 2 && lines.len() < 8,
        "one line per 3 s window, not per poll: {lines:#?}"
    );
    assert_eq!(lines[0]["message"], "fetch failed");
    assert_eq!(lines[1]["message"], "fetch still failing");
    let repeated: f64 = lines.iter().filter_map(|l| l["repeated"].as_f64()).sum();
    assert!(repeated >= 1.0);
    // Every failure up to the metrics read is either a line or counted as left out.
    assert!(
        lines.len() as f64 + suppressed >= errors,
        "{} lines + {suppressed} left out < {errors}",
        lines.len()
    );
    let finished = d.logged("run finished");
    let summary = finished[0]["summary"].as_str().expect("summary");
    assert!(summary.contains("repeated failures not logged again: "), "{summary}");
}

#[test]
fn once_draws_progress_on_a_terminal_and_only_the_summary_elsewhere() {
    let ws = Workspace::new();
    ws.add_all_seeds();
    // Not a terminal: the summary table alone on stdout, no progress line on stderr.
    let out = ws.once();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("source "), "{stdout}");
    assert!(stdout.contains("relations: original 4, translation 1"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\r'));

    // A terminal, from util-linux `script` (a pseudo-terminal for stdin, stdout and stderr).
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipping the terminal half: `script` (util-linux) is not installed");
        return;
    }
    let ws = Workspace::new();
    for i in 0..300 {
        let text = format!(
            "{}\nBản tin số {i}.\n",
            std::fs::read_to_string(seed("001")).expect("seed")
        );
        std::fs::write(ws.pages().join(format!("{i:03}.txt")), text).expect("write");
    }
    // A webhook that answers its first batch after 1.2 s keeps the run open past the second
    // redraw (every 500 ms) however fast the machine folds: the first is drawn before the
    // source reports.
    let hook = crate::util::HookServer::start(|i, _| {
        if i == 0 {
            std::thread::sleep(Duration::from_millis(1200));
        }
        200
    });
    ws.write_config(&format!("[sinks.hook]\ntype = \"webhook\"\nurl = \"{}\"\n", hook.url));
    let cmd = format!(
        "{} --log-level error once --config {}",
        env!("CARGO_BIN_EXE_newsfold"),
        ws.config().display()
    );
    let out = Command::new("script")
        .args(["-qefc", &cmd, "/dev/null"])
        .current_dir(ws.path())
        .env_remove("RUST_LOG")
        .output()
        .expect("script");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let screen = String::from_utf8_lossy(&out.stdout);
    let first = screen
        .find("\r\x1b[2Kpages ")
        .unwrap_or_else(|| panic!("no progress line in {screen:?}"));
    let progress = &screen[first..];
    assert!(progress.contains("/s) · records "), "{progress:?}");
    assert!(progress.contains("· pages "), "the source's state: {progress:?}");
    // The line is erased before the summary, which ends the output.
    let (_, summary) = screen.rsplit_once("\r\x1b[2K").expect("erased");
    assert!(summary.starts_with("source "), "{screen:?}");
    assert!(summary.contains("relations: "), "{screen:?}");
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit = std::fs::read_to_string(crate::util::repo().join("deploy/newsfold.service")).expect("unit");
    for directive in [
        "Type=notify",
        "WatchdogSec=",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=newsfold",
        "NoNewPrivileges=yes",
        "Restart=on-failure",
    ] {
        assert!(unit.contains(directive), "{directive} missing");
    }
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("skipping verify: systemd-analyze is not installed");
        return;
    }
    // Verify the unit as installed, with the binary this build made.
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("newsfold.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/newsfold", env!("CARGO_BIN_EXE_newsfold")),
    )
    .expect("write");
    let out = Command::new("systemd-analyze")
        .args(["verify", path.to_str().expect("utf-8")])
        .output()
        .expect("systemd-analyze");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("newsfold.service"), "warnings about the unit: {said}");
}

#[test]
fn the_deploy_configs_pass_check_and_the_image_copies_what_exists() {
    let repo = crate::util::repo();
    let out = crate::util::newsfold(&["check", "--config", "deploy/newsfold.toml"], &repo);
    assert_eq!(out.status.code(), Some(0), "{}", crate::util::text(&out));
    // The compose config reads /srv/seeds inside the container: check it against seeds/ here.
    let compose = std::fs::read_to_string(repo.join("deploy/compose.toml")).expect("compose.toml");
    let dir = tempfile::tempdir().expect("dir");
    let local = dir.path().join("compose.toml");
    std::fs::write(
        &local,
        compose.replace("/srv/seeds", &repo.join("seeds").display().to_string()),
    )
    .expect("write");
    let out = crate::util::newsfold(&["check", "--config", local.to_str().expect("utf-8")], &repo);
    assert_eq!(out.status.code(), Some(0), "{}", crate::util::text(&out));
    let yaml = std::fs::read_to_string(repo.join("deploy/compose.yaml")).expect("compose.yaml");
    for host in ["postgres:5432", "nats:4222"] {
        assert!(compose.contains(host), "compose.toml talks to {host}");
    }
    for service in ["  newsfold:", "  postgres:", "  nats:"] {
        assert!(yaml.contains(service), "compose.yaml defines {service}");
    }
    assert!(yaml.contains("./compose.toml:/etc/newsfold/compose.toml:ro"));
    // The three-member cluster: its config passes check, JetStream fsyncs before acknowledging.
    for service in ["  member-1:", "  member-2:", "  member-3:"] {
        assert!(yaml.contains(service), "compose.yaml defines {service}");
    }
    let cluster = std::fs::read_to_string(repo.join("deploy/cluster.toml")).expect("cluster.toml");
    let local = dir.path().join("cluster.toml");
    std::fs::write(
        &local,
        cluster.replace("/srv/seeds", &repo.join("seeds").display().to_string()),
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_newsfold"))
        .args(["check", "--config", local.to_str().expect("utf-8")])
        .env("NEWSFOLD_MEMBER", "member-1")
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(0), "{}", crate::util::text(&out));
    let nats = std::fs::read_to_string(repo.join("deploy/nats-server.conf")).expect("nats-server.conf");
    assert!(nats.contains("sync_interval: always"), "{nats}");
    assert!(yaml.contains("./nats-server.conf:/etc/nats/nats-server.conf:ro"));
    let dockerfile = std::fs::read_to_string(repo.join("deploy/Dockerfile")).expect("Dockerfile");
    assert!(dockerfile.contains("\nUSER newsfold"), "runs as a non-root user");
    assert!(dockerfile.contains("VOLUME [\"/var/lib/newsfold\"]"));
    for line in dockerfile
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        for src in &parts[1..parts.len() - 1] {
            assert!(repo.join(src).exists(), "{line}: {src} does not exist");
        }
    }
}

/// Issue 16 (API authentication): with `[api] token`, everything but `/healthz` asks for the
/// bearer token; the token never appears in the logs.
#[test]
fn an_api_token_guards_everything_but_healthz() {
    let ws = Workspace::new();
    ws.write_config("[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"${NEWSFOLD_IT_API_TOKEN}\"\n");
    ws.add_seed("000");
    let token = "it-api-token-0123456789";
    let mut d = Daemon::start(&ws, &[("NEWSFOLD_IT_API_TOKEN", token)]);
    let api = d.api();
    let client = client();
    let status = |path: &str, bearer: Option<&str>| {
        let mut req = client.get(format!("{api}{path}"));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        req.send().expect("request").status().as_u16()
    };
    assert_eq!(status("/healthz", None), 200);
    for path in ["/", "/metrics", "/readyz"] {
        assert_eq!(status(path, None), 401, "{path} without a token");
        assert_eq!(
            status(path, Some("it-api-token-wrong-value")),
            401,
            "{path} with a wrong token"
        );
    }
    assert_eq!(status("/metrics", Some(token)), 200);
    assert_eq!(d.stop(), Some(0));
    let logs = format!("{:?}", d.lines());
    assert!(!logs.contains(token), "the token is never logged");
}

/// Issue 16: 1,100 idle connections exhausted the daemon's file handles and `/healthz` timed out.
/// Connections that send nothing, half a request, or idle after one are closed after
/// `header_timeout`; past `max_connections` one more is closed at once, counted and logged once.
#[test]
fn idle_and_half_sent_api_connections_are_closed_and_capped() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let ws = Workspace::new();
    ws.write_config("[api]\nlisten = \"127.0.0.1:0\"\nheader_timeout = \"4s\"\nmax_connections = 6\n");
    ws.add_seed("000");
    let mut d = Daemon::start(&ws, &[]);
    let api = d.api();
    let addr = api.trim_start_matches("http://").to_string();
    let connect = || {
        let c = TcpStream::connect(&addr).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
        c
    };
    // Reads until the server closes; `None` if it never does within the read timeout.
    let until_closed = |c: &mut TcpStream| -> Option<Vec<u8>> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match c.read(&mut buf) {
                Ok(0) => return Some(got),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(got),
                Err(_) => return None,
            }
        }
    };
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(connect()); // sends nothing
    }
    for _ in 0..2 {
        let mut c = connect();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .expect("half a request");
        held.push(c);
    }
    for _ in 0..2 {
        let mut c = connect();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("a request");
        let mut first = [0u8; 12];
        c.read_exact(&mut first).expect("an answer");
        assert_eq!(&first, b"HTTP/1.1 200", "served while under the cap");
        held.push(c); // then idles, kept alive
    }
    // Six are open: the seventh is closed without an answer.
    let mut seventh = connect();
    let _ = seventh.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = until_closed(&mut seventh).expect("closed at once");
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    for (i, c) in held.iter_mut().enumerate() {
        assert!(until_closed(c).is_some(), "connection {i} was never closed");
    }
    // Once they are gone the API answers again and counts what it refused.
    let (status, metrics) = get(&format!("{api}/metrics"));
    assert_eq!(status, 200);
    assert!(
        sample(&metrics, "newsfold_api_connections_refused_total").is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    assert_eq!(d.stop(), Some(0));
    let refusals = d
        .lines()
        .iter()
        .filter(|l| l["message"] == "api connection refused: too many open")
        .count();
    assert_eq!(refusals, 1, "logged once");
}
