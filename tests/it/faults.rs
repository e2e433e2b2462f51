//! Faults while the daemon runs: a sink's server going away and coming back.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{Workspace, postgres_url, stderr_lines, text, unique_table};

/// A TCP proxy on 127.0.0.1 that the test can cut: while cut, it closes every open connection
/// and refuses new ones (by closing them at once).
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    /// While set, connections stay open but nothing is forwarded (a server that stops answering).
    frozen: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let frozen = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (c, o, up, fr) = (cut.clone(), open.clone(), upstream.to_string(), frozen.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if c.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&up) else { continue };
                let mut list = o.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let frozen = fr.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    while frozen.load(Ordering::SeqCst) {
                                        std::thread::sleep(Duration::from_millis(20));
                                    }
                                    if to.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Proxy {
            port,
            cut,
            frozen,
            open,
        }
    }

    fn set_frozen(&self, frozen: bool) {
        self.frozen.store(frozen, Ordering::SeqCst);
    }

    fn set_cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::SeqCst);
        if cut {
            for s in self.open.lock().unwrap().drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

fn count(url: &str, table: &str) -> i64 {
    postgres::Client::connect(url, postgres::NoTls)
        .and_then(|mut c| c.query_one(&format!("SELECT count(*) FROM {table}"), &[]))
        .map(|r| r.get(0))
        .unwrap_or(-1)
}

/// Distinct pages of this genre, so each is a record of its own.
fn write_pages(ws: &Workspace, from: usize, to: usize) {
    let seed = std::fs::read_to_string(crate::util::seed("001_")).unwrap();
    for i in from..to {
        let text = format!("{seed}\nMã tin {i}: {} người tham dự.\n", 1000 + i * 7);
        std::fs::write(ws.pages().join(format!("p{i:04}.txt")), text).unwrap();
    }
}

#[test]
fn a_postgres_and_nats_outage_loses_nothing_and_recovers_without_restart() {
    let (Some(url), Some(nats)) = (postgres_url(), crate::util::nats_url()) else {
        return;
    };
    let proxy = Proxy::start("127.0.0.1:5432");
    let proxied = url.replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    assert_ne!(proxied, url, "the test URL goes through 127.0.0.1:5432");
    let nats_proxy = Proxy::start("127.0.0.1:4222");
    let nats_proxied = nats.replace("127.0.0.1:4222", &format!("127.0.0.1:{}", nats_proxy.port));
    assert_ne!(nats_proxied, nats, "the test NATS URL is 127.0.0.1:4222");
    let table = unique_table("outage");
    let stream = unique_table("outage").to_uppercase();
    let ws = Workspace::new();
    ws.write_config_with(
        "interval = \"200ms\"",
        "",
        &format!(
            "[sinks.archive]\ntype = \"postgres\"\nurl = \"{proxied}\"\ntable = \"{table}\"\n\n\
             [sinks.bus]\ntype = \"nats\"\nurl = \"{nats_proxied}\"\nstream = \"{stream}\"\nsubject = \"it.{}.{{source}}.{{lang}}\"\n",
            stream.to_lowercase()
        ),
    );
    write_pages(&ws, 0, 20);
    let config = ws.config().display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_newsfold"))
        .args(["run", "--config", &config])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let wait = |what: &str, secs: u64, f: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !f() {
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait("the first pages", 60, &|| count(&url, &table) == 20);

    proxy.set_cut(true);
    nats_proxy.set_cut(true);
    write_pages(&ws, 20, 40);
    std::thread::sleep(Duration::from_secs(20));
    assert_eq!(count(&url, &table), 20, "nothing got through the cut");
    proxy.set_cut(false);
    nats_proxy.set_cut(false);
    wait("the pages written during the outage", 90, &|| count(&url, &table) == 40);

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "daemon did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let rows = count(&url, &table);
    crate::util::drop_pg_table(&url, &table);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(rows, 40, "every record once");
    let stream_ids: std::collections::BTreeSet<String> = crate::util::drain_stream(&nats, &stream)
        .into_iter()
        .map(|(_, id, _)| id)
        .collect();
    let jsonl_ids: std::collections::BTreeSet<String> = crate::util::read_records(&ws.records_path())
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stream_ids, jsonl_ids, "the stream holds every record once");
    assert_eq!(
        crate::util::read_records(&ws.records_path()).len(),
        40,
        "the JSON Lines sink got everything too"
    );
    let logs = stderr_lines(&out);
    for sink in ["archive", "bus"] {
        let outages = logs
            .iter()
            .filter(|l| l["message"] == "sink unavailable; retrying with backoff" && l["sink"] == sink)
            .count();
        assert_eq!(outages, 1, "the {sink} outage is logged once");
        assert!(
            logs.iter()
                .any(|l| l["message"] == "sink recovered" && l["sink"] == sink),
            "{sink} recovered"
        );
        let summary = logs.iter().find(|l| l["message"] == "run finished").unwrap();
        assert!(
            summary["summary"]
                .as_str()
                .unwrap()
                .contains(&format!("sink {sink}: outages 1")),
            "{summary}"
        );
    }
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("password"),
        "no secret in the logs"
    );
}

/// Issue 16: a PostgreSQL that stopped answering but kept the connection open stalled the
/// pipeline silently (no timeout, no log, `newsfold_sink_up` 1). Each batch has a deadline
/// (`timeout`): the stall is an outage, logged once, and delivery resumes when the server answers.
#[test]
fn a_postgres_that_stops_answering_is_an_outage_within_its_timeout() {
    let Some(url) = postgres_url() else { return };
    let proxy = Proxy::start("127.0.0.1:5432");
    let proxied = url.replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    let table = unique_table("stall");
    let ws = Workspace::new();
    ws.write_config_with(
        "interval = \"200ms\"",
        "",
        &format!("[sinks.archive]\ntype = \"postgres\"\nurl = \"{proxied}\"\ntable = \"{table}\"\ntimeout = \"2s\"\n"),
    );
    write_pages(&ws, 0, 5);
    let mut d = crate::ops::Daemon::start(&ws, &[]);
    crate::util::wait_for("the first pages", Duration::from_secs(60), || count(&url, &table) == 5);
    proxy.set_frozen(true);
    write_pages(&ws, 5, 10);
    let outage = d.wait_logged("sink unavailable; retrying with backoff", 1).remove(0);
    assert_eq!(outage["sink"], "archive");
    assert!(
        outage["error"].as_str().unwrap().contains("did not answer within 2s"),
        "{outage}"
    );
    assert_eq!(count(&url, &table), 5, "nothing got through the stall");
    proxy.set_frozen(false);
    crate::util::wait_for("the pages written during the stall", Duration::from_secs(60), || {
        count(&url, &table) == 10
    });
    d.wait_logged("sink recovered", 1);
    assert_eq!(d.stop(), Some(0));
    crate::util::drop_pg_table(&url, &table);
    assert_eq!(
        d.logged("sink unavailable; retrying with backoff").len(),
        1,
        "logged once"
    );
}

/// Issue 16: `newsfold run` exited 1 when PostgreSQL was down at start. A daemon starts, reports
/// the sink down, and delivers once the server is up.
#[test]
fn run_starts_with_postgres_down_and_delivers_once_it_is_up() {
    let Some(url) = postgres_url() else { return };
    let proxy = Proxy::start("127.0.0.1:5432");
    proxy.set_cut(true);
    let proxied = url.replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    let table = unique_table("down");
    let ws = Workspace::new();
    ws.write_config_with(
        "interval = \"200ms\"",
        "",
        &format!(
            "[sinks.archive]\ntype = \"postgres\"\nurl = \"{proxied}\"\ntable = \"{table}\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n"
        ),
    );
    write_pages(&ws, 0, 5);
    let mut d = crate::ops::Daemon::start(&ws, &[]);
    let down = d
        .wait_logged("sink unavailable at start; retrying with backoff", 1)
        .remove(0);
    assert_eq!(down["sink"], "archive");
    let api = d.api();
    let ready = crate::ops::client().get(format!("{api}/readyz")).send().unwrap();
    assert_eq!(ready.status().as_u16(), 503, "not ready while the sink is down");
    assert_eq!(count(&url, &table), -1, "no table yet");
    proxy.set_cut(false);
    crate::util::wait_for("the pages once the server is up", Duration::from_secs(60), || {
        count(&url, &table) == 5
    });
    d.wait_logged("sink recovered", 1);
    assert_eq!(d.stop(), Some(0));
    crate::util::drop_pg_table(&url, &table);
}

/// Distinct stories: each its own facts, so each page is one record.
fn write_stories(ws: &Workspace, n: usize) {
    let provinces = ["Quảng Nam", "Quảng Trị", "Hà Giang", "Lào Cai", "Bình Định"];
    for i in 0..n {
        let text = format!(
            "(QNO) - Sáng {d}/{m}/2024, tại {p}, Công an tỉnh tổ chức hội nghị số {i}.\n\
             Các lực lượng đã phối hợp tổ chức {a} đợt vận động với hơn {b}.{c:03} người tham dự.\n\
             Lực lượng chức năng thu giữ {k},{j}kg ma túy và {t} triệu đồng trong vụ án mã {i}.\n",
            d = 1 + i % 28,
            m = 1 + (i / 28) % 12,
            p = provinces[i % provinces.len()],
            a = 100 + i,
            b = 10 + i % 90,
            c = i % 1000,
            k = 1 + i % 9,
            j = i % 10,
            t = 200 + i
        );
        std::fs::write(ws.pages().join(format!("s{i:05}.txt")), text).unwrap();
    }
}

#[test]
fn kill_9_at_random_points_loses_and_doubles_nothing() {
    let (Some(pg), Some(nats)) = (postgres_url(), crate::util::nats_url()) else {
        return;
    };
    let table = unique_table("kill");
    let stream = unique_table("kill").to_uppercase();
    let ws = Workspace::new();
    ws.write_config_with(
        "interval = \"200ms\"",
        "",
        &format!(
            "[pipeline]\nsink_batch = 64\n\n[sinks.archive]\ntype = \"postgres\"\nurl = \"{pg}\"\ntable = \"{table}\"\n\n\
             [sinks.bus]\ntype = \"nats\"\nurl = \"{nats}\"\nstream = \"{stream}\"\nsubject = \"it.{}.{{source}}.{{lang}}\"\n",
            stream.to_lowercase()
        ),
    );
    const PAGES: usize = 2000;
    write_stories(&ws, PAGES);
    let config = ws.config().display().to_string();
    let mut rng = fastrand::Rng::with_seed(2026);
    // Rows in the table at each kill: the test only means something if kills land mid-ingest.
    // Each run is killed once the table has grown by a random share of what is left (or after a
    // random wait once nothing is), watched rather than timed, so the kills land mid-ingest on a
    // machine of any speed and load.
    let mut rows_at_kill = Vec::new();
    while rows_at_kill.len() < 12 {
        let before = count(&pg, &table);
        let left = (PAGES as i64 - before).max(0);
        let target = before + rng.i64(1..=left.max(1)) / 2 + 1;
        let mut child = Command::new(env!("CARGO_BIN_EXE_newsfold"))
            .args(["run", "--config", &config])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let patience = Duration::from_millis(if left == 0 { rng.u64(150..900) } else { 60_000 });
        while started.elapsed() < patience && (left == 0 || count(&pg, &table) < target) {
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = Command::new("kill").args(["-KILL", &child.id().to_string()]).status();
        let _ = child.wait();
        rows_at_kill.push(count(&pg, &table));
    }
    assert!(
        rows_at_kill.iter().any(|&n| 0 < n && n < PAGES as i64),
        "no kill landed mid-ingest: rows at each kill {rows_at_kill:?}"
    );
    // Then let it finish.
    let out = ws.once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let jsonl_ids: std::collections::BTreeSet<String> = ws
        .records()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(jsonl_ids.len(), PAGES, "every page became a record");
    let mut client = postgres::Client::connect(&pg, postgres::NoTls).unwrap();
    let rows: Vec<String> = client
        .query(&format!("SELECT id FROM {table}"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    crate::util::drop_pg_table(&pg, &table);
    let pg_ids: std::collections::BTreeSet<String> = rows.iter().cloned().collect();
    assert_eq!(rows.len(), PAGES, "no duplicate rows");
    assert_eq!(pg_ids, jsonl_ids, "none missing");
    let stream_ids: std::collections::BTreeSet<String> = crate::util::drain_stream(&nats, &stream)
        .into_iter()
        .map(|(_, id, _)| id)
        .collect();
    assert!(jsonl_ids.is_subset(&stream_ids), "the stream holds every record id");
    assert_eq!(stream_ids.len(), PAGES, "and only those");
}

/// Issue 16 (secrets leak): a run at DEBUG with a password in every URL form (NATS user info, a
/// webhook token in the query string) prints none of them, on stdout or stderr.
#[test]
fn secrets_appear_in_no_output_at_debug() {
    let Some(nats) = crate::util::nats_url() else { return };
    let server = crate::util::HookServer::start(|n, _| if n == 0 { 503 } else { 200 });
    let ws = Workspace::new();
    let nats_with_password = nats.replacen("nats://", "nats://newsfold:nats-pw-s3cret@", 1);
    let stream = unique_table("secrets").to_uppercase();
    ws.write_config(&format!(
        "[sinks.bus]\ntype = \"nats\"\nurl = \"{nats_with_password}\"\nstream = \"{stream}\"\nsubject = \"it.{}.{{source}}\"\n\n[sinks.hook]\ntype = \"webhook\"\nurl = \"{}?token=hook-token-s3cret\"\n",
        stream.to_lowercase(),
        server.url
    ));
    ws.add_all_seeds();
    let config = ws.config();
    let out = ws.newsfold(&["--log-level", "debug", "once", "--config", config.to_str().unwrap()]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("DEBUG") || all.contains("\"level\":\"DEBUG\""),
        "the run logged at DEBUG"
    );
    for secret in ["nats-pw-s3cret", "hook-token-s3cret"] {
        assert!(!all.contains(secret), "{secret} leaked:\n{all}");
    }
    // Five records reached the stream (and the stream is removed).
    assert_eq!(crate::util::drain_stream(&nats, &stream).len(), 5);
}
