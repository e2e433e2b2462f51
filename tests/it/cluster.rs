//! `[cluster]`: several `newsfold run` processes against the real NATS JetStream and PostgreSQL,
//! crawling local sites (`web::Site`, on 127.0.x.y) that measure politeness. Translation pairs
//! from the fold dev set are split across sites, so the two pages of a pair are usually fetched
//! by different members; filler pages make the rest of each site.

use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{nats_url, postgres_url, repo, wait_for};
use crate::web::{Route, Site};

/// Long enough that a second member on a host (gaps near zero) cannot hide in the jitter of the
/// server's accept stamps on a loaded machine.
const MIN_DELAY: Duration = Duration::from_millis(250);
const MAX_CONCURRENCY: usize = 2;

struct Cluster {
    dir: tempfile::TempDir,
    pg: String,
    nats: String,
    prefix: String,
    table: String,
    sites: Vec<Site>,
    /// Every page's URL.
    pages: Vec<String>,
    /// The URLs of each translation pair.
    pairs: Vec<(String, String)>,
    members: BTreeMap<String, Child>,
    /// Each member's API address.
    api: HashMap<String, String>,
}

/// Translation pairs of the dev set: a Vietnamese page and its French or English version.
fn pairs(n: usize) -> Vec<(String, String)> {
    let labels = std::fs::read_to_string(repo().join("tests/fold-dev/labels-v2.jsonl")).expect("labels");
    let mut groups: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for line in labels.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("label");
        groups
            .entry(v["group"].as_str().unwrap().to_string())
            .or_default()
            .push((
                v["lang"].as_str().unwrap().to_string(),
                v["path"].as_str().unwrap().to_string(),
            ));
    }
    groups
        .values()
        .filter_map(|members| {
            let vi = members.iter().find(|(l, _)| l == "vi")?;
            let other = members.iter().find(|(l, _)| l == "fr" || l == "en")?;
            Some((vi.1.clone(), other.1.clone()))
        })
        .take(n)
        .collect()
}

/// A filler page: its own story (a unique project, place and figures).
fn filler(site: usize, n: usize) -> String {
    format!(
        "0{}/0{}/2025\nNgày {} tháng {}, Ban quản lý dự án số {site}-{n} của huyện Hòa Vang {site} đã khởi công công trình \
         kè chống sạt lở dài {}{} mét với tổng vốn {} tỷ đồng, do Công ty xây dựng {}{} thi công.\n\
         Theo kế hoạch, công trình hoàn thành trong {} tháng và bảo vệ {} hộ dân ven sông thuộc xã {}-{site}.",
        n % 9 + 1,
        site % 9 + 1,
        n % 28 + 1,
        site % 12 + 1,
        site * 40 + n,
        n,
        100 + site * 7 + n,
        site,
        n * 13,
        6 + n % 30,
        200 + site * 41 + n,
        n
    )
}

impl Cluster {
    /// `sites` sites of `per_site` pages (sitemaps on even sites, RSS on odd ones) and `pair_count`
    /// translation pairs, each half on another site.
    fn start(sites: usize, per_site: usize, pair_count: usize) -> Option<Cluster> {
        let (pg, nats) = (postgres_url()?, nats_url()?);
        let prefix = format!("itc{}_{:x}", std::process::id(), fastrand::u32(..));
        let table = format!("{prefix}_records");
        let pair_files = pairs(pair_count);
        assert_eq!(
            pair_files.len(),
            pair_count,
            "the dev set has {pair_count} translation pairs"
        );
        let mut placed: Vec<Vec<String>> = (0..sites).map(|_| Vec::new()).collect();
        for (i, (a, b)) in pair_files.iter().enumerate() {
            placed[(2 * i) % sites].push(a.clone());
            placed[(2 * i + 1 + sites / 2) % sites].push(b.clone());
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = format!(
            "[state]\npath = \"state/state.sqlite\"\n[pipeline]\nscrape_workers = 1\n\
             [api]\nlisten = \"${{NEWSFOLD_API}}\"\n\
             [cluster]\nnats = \"{nats}\"\npostgres = \"{pg}\"\nname = \"${{NEWSFOLD_MEMBER}}\"\nprefix = \"{prefix}\"\nlease_ttl = \"2s\"\n\
             [sinks.pg]\ntype = \"postgres\"\nurl = \"{pg}\"\ntable = \"{table}\"\nduplicates = \"mark\"\n"
        );
        let mut out_sites = Vec::new();
        let (mut pages, mut pair_urls) = (Vec::new(), HashMap::new());
        for (s, dev_pages) in placed.iter().enumerate() {
            let site = Site::start(&format!("127.0.{}.{}", 40 + s / 200, s % 200 + 2));
            site.route(
                "/robots.txt",
                Route::typed("text/plain", "User-agent: *\nDisallow: /admin/\n"),
            );
            let mut urls = Vec::new();
            for n in 0..per_site {
                let path = format!("/a/{n}.txt");
                let body = match dev_pages.get(n) {
                    Some(file) => {
                        let url = site.url(&path);
                        pair_urls.insert(file.clone(), url);
                        std::fs::read(repo().join("tests/fold-dev").join(file)).expect("dev page")
                    }
                    None => filler(s, n).into_bytes(),
                };
                site.route(&path, Route::typed("text/plain; charset=utf-8", body));
                urls.push(site.url(&path));
            }
            let kind = if s % 2 == 0 { "sitemap" } else { "feed" };
            let index = if s % 2 == 0 {
                let locs: String = urls.iter().map(|u| format!("<url><loc>{u}</loc></url>")).collect();
                site.route(
                    "/sitemap.xml",
                    Route::typed(
                        "application/xml",
                        format!("<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{locs}</urlset>"),
                    ),
                );
                site.url("/sitemap.xml")
            } else {
                let items: String = urls
                    .iter()
                    .map(|u| format!("<item><title>Tin</title><link>{u}</link></item>"))
                    .collect();
                site.route(
                    "/rss",
                    Route::typed(
                        "application/rss+xml",
                        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Báo</title>{items}</channel></rss>"),
                    ),
                );
                site.url("/rss")
            };
            config.push_str(&format!(
                "[sources.site{s:02}]\ntype = \"{kind}\"\nurl = \"{index}\"\ninterval = \"1h\"\nmax_concurrency = {MAX_CONCURRENCY}\nmin_delay = \"{}ms\"\n",
                MIN_DELAY.as_millis()
            ));
            pages.extend(urls);
            out_sites.push(site);
        }
        std::fs::write(dir.path().join("newsfold.toml"), config).expect("config");
        let pairs = pair_files
            .iter()
            .map(|(a, b)| (pair_urls[a].clone(), pair_urls[b].clone()))
            .collect();
        Some(Cluster {
            dir,
            pg,
            nats,
            prefix,
            table,
            sites: out_sites,
            pages,
            pairs,
            members: BTreeMap::new(),
            api: HashMap::new(),
        })
    }

    fn config(&self) -> std::path::PathBuf {
        self.dir.path().join("newsfold.toml")
    }

    fn spawn(&mut self, name: &str) {
        let log = std::fs::File::create(self.log_path(name)).expect("log file");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let api = format!("127.0.0.1:{port}");
        self.api.insert(name.to_string(), api.clone());
        let child = Command::new(env!("CARGO_BIN_EXE_newsfold"))
            .args(["run", "--config", self.config().to_str().unwrap()])
            .current_dir(self.dir.path())
            .env("NEWSFOLD_MEMBER", name)
            .env("NEWSFOLD_API", api)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a member");
        self.members.insert(name.to_string(), child);
    }

    fn log_path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log_path(name)).unwrap_or_default()
    }

    fn kill9(&mut self, name: &str) {
        let mut child = self.members.remove(name).expect("a running member");
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }

    fn db(&self) -> postgres::Client {
        postgres::Client::connect(&self.pg, postgres::NoTls).expect("PostgreSQL")
    }

    fn rows(&self) -> i64 {
        self.db()
            .query_one(&format!("SELECT COUNT(*) FROM {}", self.table), &[])
            .map(|r| r.get(0))
            .unwrap_or(0)
    }

    /// `newsfold ARGS --config …` as an observer (not a member), with its output.
    fn observe(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_newsfold"))
            .args(args)
            .args(["--config", self.config().to_str().unwrap()])
            .env("NEWSFOLD_MEMBER", "observer")
            .env("NEWSFOLD_API", "127.0.0.1:1")
            .output()
            .expect("run newsfold")
    }

    /// The member holding the fold lease, as the status command prints it.
    fn leader(&self) -> Option<String> {
        let out = self.observe(&["cluster", "status"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix("fold leader: "))
            .filter(|l| !l.starts_with("none"))
            .map(str::to_string)
    }

    fn status(&self) -> String {
        let out = self.observe(&["cluster", "status"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for_rows(&self, n: usize, timeout: Duration) {
        wait_for(&format!("{n} rows in {}", self.table), timeout, || {
            self.rows() >= n as i64
        });
    }

    /// Every page is exactly one row, every pair one story, and no site saw more than its limits.
    fn check(&self) {
        let mut db = self.db();
        let rows = db
            .query(&format!("SELECT location, story_id FROM {}", self.table), &[])
            .expect("rows");
        let mut story: HashMap<String, String> = HashMap::new();
        for r in &rows {
            let previous = story.insert(r.get(0), r.get(1));
            assert!(previous.is_none(), "two rows for {}", r.get::<_, String>(0));
        }
        assert_eq!(rows.len(), self.pages.len(), "one row per page");
        for p in &self.pages {
            assert!(story.contains_key(p), "no row for {p}");
        }
        for (a, b) in &self.pairs {
            assert_eq!(story[a], story[b], "{a} and its translation {b} are one story");
        }
        let duplicated: i64 = db
            .query_one(
                &format!(
                    "SELECT COUNT(*) FROM (SELECT record_id FROM {}_decisions WHERE record_id IS NOT NULL
                     GROUP BY record_id HAVING COUNT(*) > 1) d",
                    self.prefix
                ),
                &[],
            )
            .expect("decisions")
            .get(0);
        assert_eq!(duplicated, 0, "no record decided twice");
        for site in &self.sites {
            assert!(
                site.max_active() <= MAX_CONCURRENCY,
                "{} had {} requests open at once",
                site.addr,
                site.max_active()
            );
            // The server stamps connections when it accepts them, which a loaded machine delays
            // (a late stamp shortens the next gap): every gap is far from the near-zero of two
            // members fetching at once, and the gaps average the delay.
            let gap = site.min_gap().expect("the site was crawled");
            assert!(gap >= MIN_DELAY / 10, "{} saw two requests {gap:?} apart", site.addr);
            let mut at: Vec<std::time::Instant> = site.hits().iter().map(|h| h.at).collect();
            at.sort();
            if let (Some(first), Some(last)) = (at.first(), at.last())
                && at.len() > 2
            {
                let mean = (*last - *first) / (at.len() as u32 - 1);
                assert!(
                    mean >= MIN_DELAY * 4 / 5,
                    "{} saw requests {mean:?} apart on average",
                    site.addr
                );
            }
            assert!(!site.hits_of("/robots.txt").is_empty(), "{} robots.txt read", site.addr);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, mut child) in std::mem::take(&mut self.members) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let Ok(mut db) = postgres::Client::connect(&self.pg, postgres::NoTls) else {
            return;
        };
        let p = &self.prefix;
        let _ = db.batch_execute(&format!(
            "DROP TABLE IF EXISTS {t}; DELETE FROM newsfold_schema WHERE table_name = '{t}';
             DROP TABLE IF EXISTS {}",
            newsfold::state::shared_tables(p).join(", "),
            t = self.table
        ));
        let (nats, prefix) = (self.nats.clone(), self.prefix.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            if let Ok(client) = async_nats::connect(nats.as_str()).await {
                let js = async_nats::jetstream::new(client);
                let _ = js.delete_stream(format!("{prefix}_pages")).await;
                let _ = js.delete_key_value(format!("{prefix}_leases")).await;
                let _ = js.delete_key_value(format!("{prefix}_members")).await;
            }
        });
    }
}

fn terminate_all(c: &mut Cluster) {
    for (name, child) in std::mem::take(&mut c.members) {
        let (status, _) = crate::util::terminate(child);
        assert!(status.success(), "{name} stopped cleanly: {status}\n{}", c.log(&name));
    }
}

#[test]
fn three_members_share_the_crawl_and_one_story_index_and_a_fourth_joins() {
    let Some(mut c) = Cluster::start(50, 40, 24) else {
        return;
    };
    for name in ["m1", "m2", "m3"] {
        c.spawn(name);
    }
    let total = c.pages.len();
    c.wait_for_rows(total / 4, Duration::from_secs(240));
    c.spawn("m4");
    c.wait_for_rows(total, Duration::from_secs(300));
    let status = c.status();
    assert!(status.contains("members: 4"), "{status}");
    assert!(status.contains("partitions: 50 (50 held, 0 free)"), "{status}");
    assert!(status.contains("dead letters: 0"), "{status}");
    // Every member's API shows its part: the members it sees, its partitions, the leader.
    let mut held = 0.0;
    let mut leading = 0.0;
    for name in ["m1", "m2", "m3", "m4"] {
        let base = format!("http://{}", c.api[name]);
        let (code, metrics) = crate::ops::get(&format!("{base}/metrics"));
        assert_eq!(code, 200);
        let series = |s: &str| crate::ops::sample(&metrics, &format!("{s}{{member=\"{name}\"}}"));
        assert_eq!(series("newsfold_cluster_members"), Some(4.0), "{metrics}");
        assert_eq!(series("newsfold_cluster_partitions"), Some(50.0));
        held += series("newsfold_cluster_partitions_held").expect("partitions held");
        leading += series("newsfold_cluster_fold_leader").expect("leader gauge");
        let (_, page) = crate::ops::get(&format!("{base}/"));
        assert!(
            page.contains("<li>m4</li>") && page.contains(&format!("member <b>{name}</b>")),
            "{page}"
        );
    }
    assert_eq!((held, leading), (50.0, 1.0), "every partition held once, one leader");
    // The decision log is the shared one: a member's /stories finds a pair by a word of its
    // translation (PostgreSQL's text search), `explain` reads it too.
    let (_, translation) = &c.pairs[0];
    let story: String = c
        .db()
        .query_one(
            &format!("SELECT story_id FROM {} WHERE location = $1", c.table),
            &[translation],
        )
        .expect("the translation's row")
        .get(0);
    let (_, body) = crate::ops::get(translation);
    let word = body
        .split(|ch: char| !ch.is_ascii_alphabetic())
        .find(|w| w.len() >= 8)
        .expect("a long word")
        .to_string();
    let (code, page) = crate::ops::get(&format!("http://{}/stories?q={word}", c.api["m2"]));
    assert_eq!(code, 200);
    assert!(page.contains(&story), "/stories?q={word} lists story {story}: {page}");
    let out = c.observe(&["explain", translation]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains(&story),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Stopping hands the fold on: the members stopped after the leader may lead for a moment.
    terminate_all(&mut c);
    c.check();
    for name in ["m1", "m2", "m3", "m4"] {
        assert!(
            c.log(name).contains("\"partition taken\""),
            "{name} held partitions:\n{}",
            c.log(name)
        );
    }
}

#[test]
fn killing_a_worker_and_then_the_leader_loses_and_doubles_nothing() {
    let Some(mut c) = Cluster::start(20, 30, 12) else {
        return;
    };
    for name in ["k1", "k2", "k3"] {
        c.spawn(name);
    }
    let total = c.pages.len();
    c.wait_for_rows(total / 5, Duration::from_secs(240));
    let leader = c.leader().expect("a leader");
    let worker = ["k1", "k2", "k3"]
        .into_iter()
        .find(|n| *n != leader)
        .unwrap()
        .to_string();
    c.kill9(&worker);
    assert!(c.rows() < total as i64, "the worker died mid-run");
    c.wait_for_rows(total / 2, Duration::from_secs(240));
    c.kill9(&leader);
    assert!(c.rows() < total as i64, "the leader died mid-run");
    wait_for("another member to lead", Duration::from_secs(60), || {
        c.leader().is_some_and(|l| l != leader)
    });
    c.wait_for_rows(total, Duration::from_secs(300));
    terminate_all(&mut c);
    c.check();
}

/// The status command works on a cluster nobody started yet, naming what is missing.
#[test]
fn status_of_an_idle_cluster_says_what_is_missing() {
    let Some(c) = Cluster::start(2, 1, 0) else { return };
    let text = c.status();
    assert!(text.contains("members: 0"), "{text}");
    assert!(text.contains("fold leader: none"), "{text}");
    assert!(text.contains("partitions: 2 (0 held, 2 free)"), "{text}");
    assert!(text.contains("not created yet"), "{text}");
}
