//! Cluster benchmark: the same crawl by the embedded default (`once`), by a one-member cluster
//! and by a three-member cluster, in one run on this machine.
//!
//! `cargo bench --bench cluster -- HOSTS PAGES DELAY_MS MEMBERS` (bench/cluster.sh builds the
//! release binary and checks NATS and PostgreSQL). Each mode crawls a fresh set of HOSTS local
//! sites (sitemaps, one request at a time per host, DELAY_MS between requests to a host) into a
//! JSON Lines sink. The embedded run is timed by GNU time; a cluster run lasts from the first
//! member's start to the last record, and each member's CPU time and peak RSS are read from
//! /proc just before it is stopped. Prints pages/s, CPU seconds per 1,000 pages (all members
//! together; beside it the PostgreSQL and NATS servers' CPU over the same run), each member's
//! peak RSS, cluster CPU per page against the embedded one, and, in a last run, how long the
//! fold takes to move after its leader is killed.

// Shared with the integration tests, which use all of it.
#[allow(dead_code)]
#[path = "../tests/it/web.rs"]
mod web;

#[allow(dead_code)]
#[path = "support/sites.rs"]
mod sites;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sites::{Measured, politeness, sites, timed, vocabulary};

/// Distinct records in a JSON Lines sink's file, and its lines (records and story updates).
fn records(path: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    let mut ids = std::collections::HashSet::new();
    let mut n = 0;
    for line in complete.lines() {
        n += 1;
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
            && v.get("type").is_none()
            && let Some(id) = v.get("id").and_then(|i| i.as_str())
        {
            ids.insert(id.to_string());
        }
    }
    (ids.len(), n)
}

/// A member's CPU seconds and peak RSS (KiB) so far, from /proc.
fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat, 11 and 12 after the name and state.
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (cpu, hwm)
}

/// CPU seconds used so far by every PostgreSQL and NATS server process of this machine.
fn servers_cpu() -> f64 {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if matches!(comm.trim(), "postgres" | "nats-server") {
            total += usage(pid).0;
        }
    }
    total
}

fn sources(sitemaps: &[String], delay_ms: u64) -> String {
    sitemaps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "[sources.h{i}]\ntype = \"sitemap\"\nurl = \"{s}\"\ninterval = \"1h\"\nmin_delay = \"{delay_ms}ms\"\nmax_concurrency = 1\n"
            )
        })
        .collect()
}

/// Runs `members` members until `pages` records are out (politeness is checked by the caller).
/// With `kill_leader`, the fold leader is killed (SIGKILL) once a third is out; returns the time
/// from the kill until another member holds the fold lease, too.
fn cluster(
    binary: &Path,
    dir: &Path,
    config: &str,
    members: usize,
    pages: usize,
    kill_leader: bool,
) -> (Measured, Vec<u64>, Option<f64>) {
    std::fs::write(dir.join("newsfold.toml"), config).expect("config");
    let started = Instant::now();
    let mut children: Vec<Child> = (0..members)
        .map(|m| {
            let log = std::fs::File::create(dir.join(format!("member{m}.log"))).expect("log");
            Command::new(binary)
                .args(["run", "--config", "newsfold.toml", "--log-level", "warn"])
                .env("NEWSFOLD_MEMBER", format!("bench{m}"))
                .current_dir(dir)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start a member")
        })
        .collect();
    let out = dir.join("records.jsonl");
    let deadline = Instant::now() + Duration::from_secs(3600);
    let (mut killed, mut takeover, mut dead_cpu) = (None::<(Instant, String)>, None, 0.0);
    let mut polled = Instant::now();
    while records(&out).0 < pages {
        assert!(Instant::now() < deadline, "the cluster did not finish within an hour");
        let (done, _) = records(&out);
        if kill_leader && killed.is_none() && done >= pages / 3 {
            let leader = leader_of(binary, dir).expect("a fold leader");
            let i: usize = leader.trim_start_matches("bench").parse().expect("a bench member");
            dead_cpu = usage(children[i].id()).0;
            let _ = children[i].kill();
            let _ = children[i].wait();
            killed = Some((Instant::now(), leader));
        }
        if let Some((at, dead)) = &killed
            && takeover.is_none()
            && polled.elapsed() > Duration::from_millis(200)
        {
            polled = Instant::now();
            if leader_of(binary, dir).is_some_and(|l| l != *dead) {
                takeover = Some(at.elapsed().as_secs_f64());
            }
        }
        for c in &mut children {
            if let Ok(Some(status)) = c.try_wait()
                && killed.is_none()
            {
                panic!("a member exited early ({status}): see {}", dir.display());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let wall = started.elapsed().as_secs_f64();
    let (mut cpu, mut peaks) = (dead_cpu, Vec::new());
    for c in &mut children {
        if let Ok(None) = c.try_wait() {
            let (c_cpu, c_peak) = usage(c.id());
            cpu += c_cpu;
            peaks.push(c_peak);
        }
    }
    for c in &mut children {
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
    }
    for c in &mut children {
        let _ = c.wait();
    }
    let m = Measured {
        pages: records(&out).0,
        wall,
        cpu,
        peak_kb: peaks.iter().copied().max().unwrap_or(0),
    };
    (m, peaks, takeover)
}

/// The fold leader's name, from `newsfold cluster status`.
fn leader_of(binary: &Path, dir: &Path) -> Option<String> {
    let out = Command::new(binary)
        .args(["cluster", "status", "--config", "newsfold.toml"])
        .env("NEWSFOLD_MEMBER", "observer")
        .current_dir(dir)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("fold leader: "))
        .filter(|l| !l.starts_with("none"))
        .map(str::to_string)
}

fn cleanup(pg: &str, nats: &str, prefix: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if let Ok(client) = async_nats::connect(nats).await {
            let js = async_nats::jetstream::new(client);
            let _ = js.delete_stream(format!("{prefix}_pages")).await;
            let _ = js.delete_key_value(format!("{prefix}_leases")).await;
            let _ = js.delete_key_value(format!("{prefix}_members")).await;
        }
    });
    if let Ok(mut db) = postgres::Client::connect(pg, postgres::NoTls) {
        let _ = db.batch_execute(&format!(
            "DROP TABLE IF EXISTS {}",
            newsfold::state::shared_tables(prefix).join(", ")
        ));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let hosts: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(200);
    let pages: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let delay_ms: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let members: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(3);
    let pg =
        std::env::var("NEWSFOLD_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let nats = std::env::var("NEWSFOLD_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let per_host = pages / hosts;
    let pages = per_host * hosts;
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let binary = repo.join("target/release/newsfold");
    let words = vocabulary(&repo);
    println!(
        "{hosts} hosts x {per_host} pages, 1 request at a time per host, {delay_ms} ms between requests to a host"
    );

    let mut rows = Vec::new();
    let mut server_cpu = Vec::new();
    // The embedded default.
    {
        let work = tempfile::tempdir().expect("temp dir");
        let (s, sitemaps) = sites(7, hosts, per_host, &words);
        let config = format!(
            "[state]\npath = \"state.sqlite\"\n[fetch]\nmax_concurrency = 64\nretries = 1\n[sinks.out]\ntype = \"jsonl\"\npath = \"embedded.jsonl\"\n{}",
            sources(&sitemaps, delay_ms)
        );
        std::fs::write(work.path().join("newsfold.toml"), config).expect("config");
        let mut cmd = Command::new(&binary);
        cmd.args(["once", "--config", "newsfold.toml", "--log-level", "warn"]);
        let before = servers_cpu();
        let mut m = timed(cmd, work.path(), "embedded");
        server_cpu.push(servers_cpu() - before);
        m.pages = records(&work.path().join("embedded.jsonl")).0;
        rows.push(("embedded".to_string(), vec![m.peak_kb], m, politeness(&s)));
    }
    let mut takeover = None;
    for (net, n, kill) in [(8u8, 1usize, false), (9, members, false), (10, members, true)] {
        let work = tempfile::tempdir().expect("temp dir");
        let prefix = format!("bench{}_{n}", std::process::id());
        let (s, sitemaps) = sites(net, hosts, per_host, &words);
        let config = format!(
            "[state]\npath = \"state.sqlite\"\n[fetch]\nmax_concurrency = 64\nretries = 1\n\
             [cluster]\nnats = \"{nats}\"\npostgres = \"{pg}\"\nname = \"${{NEWSFOLD_MEMBER}}\"\nprefix = \"{prefix}\"\nlease_ttl = \"4s\"\n\
             [sinks.out]\ntype = \"jsonl\"\npath = \"records.jsonl\"\n{}",
            sources(&sitemaps, delay_ms)
        );
        let before = servers_cpu();
        let (m, peaks, t) = cluster(&binary, work.path(), &config, n, pages, kill);
        let servers = servers_cpu() - before;
        cleanup(&pg, &nats, &prefix);
        if kill {
            let (distinct, lines) = records(&work.path().join("records.jsonl"));
            takeover = Some((t, distinct, lines));
            continue;
        }
        server_cpu.push(servers);
        rows.push((format!("cluster of {n}"), peaks, m, politeness(&s)));
    }
    println!(
        "{:<14} {:>7} {:>8} {:>9} {:>17} {:>15} {:>24} {:>9} {:>16}",
        "",
        "records",
        "wall s",
        "pages/s",
        "CPU s/1000 pages",
        "+ servers'",
        "peak MiB per member",
        "max open",
        "gap min/p1"
    );
    for ((name, peaks, m, p), servers) in rows.iter().zip(&server_cpu) {
        let peaks: Vec<String> = peaks.iter().map(|k| format!("{:.0}", *k as f64 / 1024.0)).collect();
        println!(
            "{name:<14} {:>7} {:>8.1} {:>9.0} {:>17.2} {:>15.2} {:>24} {:>9} {:>9}ms/{}ms",
            m.pages,
            m.wall,
            m.pages as f64 / m.wall,
            m.cpu * 1000.0 / m.pages.max(1) as f64,
            servers * 1000.0 / m.pages.max(1) as f64,
            peaks.join(", "),
            p.0,
            p.1.as_millis(),
            p.2.as_millis()
        );
    }
    let per_page = |m: &Measured| m.cpu / m.pages.max(1) as f64;
    let embedded = per_page(&rows[0].2);
    for (name, _, m, _) in &rows[1..] {
        println!(
            "{name}: CPU per page {:.2}x the embedded default's",
            per_page(m) / embedded.max(1e-12)
        );
    }
    if let Some((t, distinct, lines)) = takeover {
        println!(
            "leader killed (SIGKILL) a third of the way, {members} members, lease_ttl 4s: another member led {} after the kill; {distinct} of {pages} pages out ({lines} lines: a JSON Lines sink appends a replayed record again)",
            t.map_or("never".to_string(), |t: f64| format!("{t:.1} s")),
        );
    }
}
