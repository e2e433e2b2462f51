//! HTTP sources against real servers on loopback addresses (`web::Site`): each source kind's
//! happy path, revalidation and resumption, politeness measured by the server, and hostile
//! servers. Pages are built from the seeds in the shape of a Vietnamese provincial site and a
//! French aggregator (tests/fixtures/web).

use std::io::Write;
use std::time::Duration;

use serde_json::Value;

use crate::util::{Workspace, seed, stderr_lines, text};
use crate::web::{Route, Site};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// An article page from a fixture template and a seed's paragraphs.
fn article(template: &str, seed_prefix: &str, title: &str, canonical: &str) -> String {
    let text = std::fs::read_to_string(seed(seed_prefix)).expect("seed");
    let paragraphs: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("<p>{}</p>\n", escape(l)))
        .collect();
    let template = std::fs::read_to_string(crate::util::repo().join("tests/fixtures/web").join(template)).unwrap();
    template
        .replace("{{title}}", &escape(title))
        .replace("{{paragraphs}}", &paragraphs)
        .replace("{{canonical}}", canonical)
        .replace("{{slug}}", "hoi-nghi-nghi-dinh-03")
}

fn rss(items: &[(&str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(title, link)| {
            format!(
                "<item><title>{}</title>{link}<pubDate>Fri, 19 Jan 2024 10:05:00 +0000</pubDate></item>\n",
                escape(title)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Báo Quảng Nam</title><link>https://baoquangnam.vn/</link><description>Tin tức</description>\n{items}</channel></rss>"
    )
}

/// windows-1258 has the vowels with circumflex, breve and horn, and the five tones only as
/// combining marks, as legacy Vietnamese pages write them.
fn to_windows_1258(text: &str) -> Vec<u8> {
    use unicode_normalization::UnicodeNormalization;
    const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{303}', '\u{309}', '\u{323}'];
    let mut out = String::new();
    for c in text.chars() {
        let d: Vec<char> = std::iter::once(c).nfd().collect();
        let base: String = d
            .iter()
            .filter(|m| !TONES.contains(m))
            .collect::<String>()
            .nfc()
            .collect();
        out.push_str(&base);
        out.extend(d.iter().filter(|m| TONES.contains(m)));
    }
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1258.encode(&out);
    assert!(!unmappable, "{text}");
    bytes.into_owned()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A workspace whose config has `sources` (TOML tables) and `fetch` keys, writing JSONL.
fn workspace(sources: &str, fetch: &str) -> Workspace {
    let ws = Workspace::new();
    let text = format!(
        "[state]\npath = \"state/state.sqlite\"\n\n[fetch]\nbackoff = \"50ms\"\n{fetch}\n\n{sources}\n\n[sinks.out]\ntype = \"jsonl\"\npath = \"out/records.jsonl\"\n"
    );
    std::fs::write(ws.config(), text).unwrap();
    ws
}

fn location<'a>(records: &'a [Value], url: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["location"] == url)
        .unwrap_or_else(|| panic!("no record from {url} in {records:#?}"))
}

/// WARN lines about fetch failures: (source, url, kind).
fn failures(lines: &[Value]) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = lines
        .iter()
        .filter(|l| l["level"] == "WARN" && l["message"] == "fetch failed")
        .map(|f| {
            (
                f["source"].as_str().unwrap_or("").to_string(),
                f["url"].as_str().unwrap_or("").to_string(),
                f["kind"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_source_kind_delivers_and_a_second_run_fetches_nothing_again() {
    let robots = Route::typed("text/plain", "User-agent: *\nDisallow: /admin/\n");
    // A Vietnamese provincial site with an RSS feed.
    let vi = Site::start("127.0.0.2");
    let vi_url = vi.url("/thoi-su/hoi-nghi-nghi-dinh-03.html");
    vi.route("/robots.txt", robots.clone())
        .route(
            "/rss/home.rss",
            Route::typed(
                "application/rss+xml; charset=utf-8",
                rss(&[(
                    "Hội nghị sơ kết Nghị định 03",
                    &format!("<link>{vi_url}?utm_source=rss</link>"),
                )]),
            )
            .with("ETag", "\"feed-v1\""),
        )
        .route(
            "/thoi-su/hoi-nghi-nghi-dinh-03.html",
            Route::html(article(
                "vi-article.html",
                "001",
                "Sơ kết Nghị định 03/2019/NĐ-CP",
                &vi_url,
            )),
        );
    // A French aggregator with a sitemap index pointing at a gzipped news sitemap.
    let fr = Site::start("127.0.0.3");
    let fr_url = fr.url("/provinces/quang-nam-decret-03.html");
    let urlset = format!(
        "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"><url><loc>{fr_url}</loc><lastmod>2024-01-19</lastmod></url></urlset>"
    );
    fr.route("/robots.txt", Route::status(404, &[]))
        .route(
            "/sitemap.xml",
            Route::typed(
                "application/xml",
                format!(
                    "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"><sitemap><loc>{}</loc></sitemap></sitemapindex>",
                    fr.url("/sitemap-news.xml.gz")
                ),
            )
            .with("Last-Modified", "Fri, 19 Jan 2024 10:00:00 GMT"),
        )
        .route("/sitemap-news.xml.gz", Route::typed("application/x-gzip", gzip(urlset.as_bytes())))
        .route(
            "/provinces/quang-nam-decret-03.html",
            Route::html(article("fr-article.html", "000", "Quang Nam : bilan du décret 03/2019", &fr_url)),
        );
    // A listing section over two pages, and a plain list of pages.
    let lc = Site::start("127.0.0.4");
    lc.route("/robots.txt", robots)
        .route(
            "/thoi-su",
            Route::html(
                "<html><body><div class=list><h3 class=title><a href=\"/a/003.html\">Lao Cai</a></h3></div><a rel=next href=\"/thoi-su?page=2\">Trang sau</a></body></html>",
            ),
        )
        .route(
            "/thoi-su?page=2",
            Route::html("<html><body><div class=list><h3 class=title><a href=\"/a/004.html\">Quang Tri</a></h3></div><a rel=next href=\"/thoi-su?page=3\">Trang sau</a></body></html>"),
        )
        .route("/thoi-su?page=3", Route::html("<h3 class=title><a href=\"/a/never.html\">x</a></h3>"))
        .route("/a/003.html", Route::html(article("fr-article.html", "003", "Lao Cai", "/a/003.html")))
        .route("/a/004.html", Route::html(article("fr-article.html", "004", "Dong Ha", "/a/004.html")))
        .route("/a/002.html", Route::html(article("fr-article.html", "002", "Ha Giang", "/a/002.html")))
        .route("/old/002", Route::redirect("/a/002.html"));
    let sources = format!(
        r#"
[sources.quangnam]
type = "feed"
url = "{}"
min_delay = "0s"
lang = "vi"

[sources.aggregator]
type = "sitemap"
url = "{}"
min_delay = "0s"

[sources.laocai]
type = "listing"
url = "{}"
links = "h3.title a"
max_pages = 2
min_delay = "0s"

[sources.picked]
type = "pages"
urls = ["{}"]
"#,
        vi.url("/rss/home.rss"),
        fr.url("/sitemap.xml"),
        lc.url("/thoi-su"),
        lc.url("/old/002"),
    );
    let ws = workspace(&sources, "");
    let out = ws.once();
    assert!(out.status.success(), "{}", crate::util::text(&out));
    let records = ws.records();
    assert_eq!(records.len(), 5, "{records:#?}");
    for r in &records {
        crate::util::assert_schema(r);
    }
    let vi_rec = location(&records, &vi_url);
    let fr_rec = location(&records, &fr_url);
    assert_eq!(vi_rec["source"], "quangnam");
    assert_eq!(vi_rec["lang"], "vi");
    assert_eq!(fr_rec["lang"], "fr");
    assert_eq!(
        vi_rec["story_id"], fr_rec["story_id"],
        "the translation folds across sites"
    );
    for p in ["/a/002.html", "/a/003.html", "/a/004.html"] {
        location(&records, &lc.url(p));
    }
    assert!(lc.hits_of("/thoi-su?page=3").is_empty(), "max_pages = 2 stops the walk");
    // The decision log keeps where each page was listed and how it was fetched (issue 15).
    let config = ws.config().display().to_string();
    let explain = |url: &str| {
        let out = ws.newsfold(&["explain", "--config", &config, url]);
        assert!(out.status.success(), "{}", crate::util::text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = explain(&vi_url);
    for line in [
        format!("listed by  {}", vi.url("/rss/home.rss")),
        "fetched    HTTP 200, text/html".to_string(),
        "sources    title from ".to_string(),
    ] {
        assert!(shown.contains(&line), "{line:?} missing in\n{shown}");
    }
    let json = ws.newsfold(&["explain", "--json", "--config", &config, &vi_url]);
    let entry: Value = serde_json::from_slice(&json.stdout).expect("one JSON entry");
    crate::util::assert_decision_schema(&entry);
    assert_eq!(entry["input"]["fetch"]["listed_by"], vi.url("/rss/home.rss"));
    assert_eq!(entry["input"]["fetch"]["status"], 200);
    let shown = explain(&fr_url);
    assert!(
        shown.contains(&format!("listed by  {}", fr.url("/sitemap-news.xml.gz"))),
        "{shown}"
    );
    let shown = explain(&lc.url("/a/004.html"));
    assert!(
        shown.contains(&format!("listed by  {}", lc.url("/thoi-su?page=2"))),
        "{shown}"
    );
    let shown = explain(&lc.url("/a/002.html"));
    assert!(
        shown.contains("listed by  the source's configured pages")
            && shown.contains(&format!(
                "redirected {} → {}",
                lc.url("/old/002"),
                lc.url("/a/002.html")
            )),
        "{shown}"
    );
    let body = vi_rec["body"].as_str().unwrap();
    assert!(!body.contains("Ảnh: M.T") && !body.contains("Chia sẻ") && !body.contains("Tin liên quan"));
    assert_eq!(
        vi.hits_of("/robots.txt").len(),
        1,
        "robots.txt is fetched once per host"
    );
    for site in [&vi, &fr, &lc] {
        for hit in site.hits() {
            let ua = hit.headers.get("user-agent").cloned().unwrap_or_default();
            assert!(ua.starts_with("newsfold/") && ua.contains("+http"), "user agent {ua:?}");
        }
    }

    // Second run: the feed and the sitemap index are revalidated, no article is fetched again.
    let out = ws.once();
    assert!(out.status.success(), "{}", crate::util::text(&out));
    assert_eq!(ws.records().len(), 5, "nothing is delivered twice");
    let feed_hits = vi.hits_of("/rss/home.rss");
    assert_eq!(feed_hits.len(), 2);
    assert_eq!(
        feed_hits[1].headers.get("if-none-match").map(String::as_str),
        Some("\"feed-v1\"")
    );
    let index_hits = fr.hits_of("/sitemap.xml");
    assert_eq!(
        index_hits[1].headers.get("if-modified-since").map(String::as_str),
        Some("Fri, 19 Jan 2024 10:00:00 GMT")
    );
    assert_eq!(vi.hits_of("/thoi-su/hoi-nghi-nghi-dinh-03.html").len(), 1);
    assert_eq!(fr.hits_of("/provinces/quang-nam-decret-03.html").len(), 1);
    assert_eq!(lc.hits_of("/a/003.html").len(), 1);
    assert_eq!(lc.hits_of("/a/002.html").len(), 1);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("not modified: 1"), "{summary}");
}

#[test]
fn robots_txt_disallow_and_crawl_delay_are_obeyed() {
    let site = Site::start("127.0.0.5");
    site.route(
        "/robots.txt",
        Route::typed("text/plain", "User-agent: *\nDisallow: /private/\nCrawl-delay: 1\n"),
    );
    for p in ["/a.html", "/b.html", "/private/c.html"] {
        site.route(p, Route::html(article("vi-article.html", "001", "Quảng Nam", p)));
    }
    let sources = format!(
        "[sources.site]\ntype = \"pages\"\nurls = [\"{}\", \"{}\", \"{}\"]\nmin_delay = \"0s\"\n",
        site.url("/a.html"),
        site.url("/b.html"),
        site.url("/private/c.html")
    );
    let ws = workspace(&sources, "");
    let out = ws.once();
    assert!(out.status.success(), "{}", crate::util::text(&out));
    assert_eq!(ws.records().len(), 2);
    assert!(
        site.hits_of("/private/c.html").is_empty(),
        "a disallowed page is never requested"
    );
    let gap = site.min_gap().expect("several requests");
    assert!(
        // The server stamps connections when it accepts them, which a loaded machine delays a little.
        gap >= Duration::from_millis(800),
        "Crawl-delay: 1 held between requests, saw {gap:?}"
    );
    assert_eq!(
        failures(&stderr_lines(&out)),
        [("site".into(), site.url("/private/c.html"), "robots".into())]
    );
    // The decision log says why the page never became a record, and where the others went.
    let config = ws.config().display().to_string();
    let why = ws.newsfold(&["explain", "--config", &config, &site.url("/private/c.html")]);
    assert!(why.status.success(), "{}", crate::util::text(&why));
    let why = String::from_utf8_lossy(&why.stdout);
    assert!(
        why.contains("refused    at source:") && why.contains("(robots)"),
        "{why}"
    );
    let ok = ws.newsfold(&["explain", "--config", &config, &site.url("/a.html")]);
    let ok = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.contains("story ") && ok.contains("every sink acknowledged it"),
        "{ok}"
    );
}

#[test]
fn busy_and_failing_servers_are_retried_politely() {
    let site = Site::start("127.0.0.6");
    let page = |p: &str| Route::html(article("vi-article.html", "001", "Quảng Nam", p));
    site.route("/robots.txt", Route::status(404, &[]))
        .route(
            "/busy.html",
            Route::Seq(vec![Route::status(429, &[("Retry-After", "1")]), page("/busy.html")]),
        )
        .route(
            "/flaky.html",
            Route::Seq(vec![
                Route::status(500, &[]),
                Route::status(503, &[]),
                page("/flaky.html"),
            ]),
        )
        .route("/gone.html", Route::status(404, &[]));
    let sources = format!(
        "[sources.site]\ntype = \"pages\"\nurls = [\"{}\", \"{}\", \"{}\"]\nmin_delay = \"0s\"\n",
        site.url("/busy.html"),
        site.url("/flaky.html"),
        site.url("/gone.html")
    );
    let ws = workspace(&sources, "retries = 3");
    let out = ws.once();
    assert!(out.status.success(), "{}", crate::util::text(&out));
    let records = ws.records();
    assert_eq!(records.len(), 2, "{records:#?}");
    let busy = site.hits_of("/busy.html");
    assert_eq!(busy.len(), 2);
    assert!(
        busy[1].at - busy[0].at >= Duration::from_millis(800),
        "Retry-After: 1 honoured"
    );
    assert_eq!(site.hits_of("/flaky.html").len(), 3, "500 and 503 are retried");
    assert_eq!(site.hits_of("/gone.html").len(), 1, "a 404 is not retried");
    assert_eq!(site.max_active(), 1, "one request at a time per host by default");
    assert_eq!(
        failures(&stderr_lines(&out)),
        [("site".into(), site.url("/gone.html"), "http_4xx".into())]
    );
    // The decision log says what the fetch went through: its attempts and the time it waited.
    let config = ws.config().display().to_string();
    let out = ws.newsfold(&["explain", "--config", &config, &site.url("/busy.html")]);
    let shown = String::from_utf8_lossy(&out.stdout);
    let fetched = shown
        .lines()
        .find(|l| l.trim_start().starts_with("fetched "))
        .unwrap_or_else(|| panic!("no fetch line in\n{shown}"));
    assert!(
        fetched.contains("HTTP 200") && fetched.contains("after 2 attempts"),
        "{fetched}"
    );
    let waited: u64 = fetched
        .split("waited ")
        .nth(1)
        .and_then(|w| w.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no wait in {fetched}"));
    assert!(waited >= 1000, "Retry-After: 1 counted as waiting: {fetched}");
    let out = ws.newsfold(&["explain", "--config", &config, &site.url("/flaky.html")]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("after 3 attempts"),
        "{}",
        crate::util::text(&out)
    );
}

#[test]
fn hostile_servers_cost_one_log_line_each_and_the_good_pages_still_arrive() {
    let site = Site::start("127.0.0.7");
    let vi_text = std::fs::read_to_string(seed("001")).unwrap();
    let paragraphs: String = vi_text.lines().map(|l| format!("<p>{}</p>\n", escape(l))).collect();
    let cp1258 = to_windows_1258(&format!("<html><body><article>{paragraphs}</article></body></html>"));
    let legacy = |declared: &str| Route::Reply {
        status: 200,
        headers: vec![("Content-Type".into(), format!("text/html; charset={declared}"))],
        body: cp1258.clone(),
    };
    let bomb = gzip(&vec![0u8; 30 << 20]);
    site.route("/robots.txt", Route::status(404, &[]))
        .route(
            "/good.html",
            Route::html(article("fr-article.html", "002", "Ha Giang", "/good.html")),
        )
        .route("/cp1258.html", legacy("windows-1258"))
        .route("/mislabelled.html", legacy("utf-8"))
        .route("/loop-a", Route::redirect("/loop-b"))
        .route("/loop-b", Route::redirect("/loop-a"))
        .route("/reset", Route::Reset)
        .route(
            "/slow",
            Route::Trickle {
                body: vec![b'x'; 400],
                every: Duration::from_millis(50),
            },
        )
        .route("/huge", Route::Endless { bytes: 64 << 20 })
        .route(
            "/bomb",
            Route::typed("text/html", bomb).with("Content-Encoding", "gzip"),
        );
    let paths = [
        "/good.html",
        "/cp1258.html",
        "/mislabelled.html",
        "/loop-a",
        "/reset",
        "/slow",
        "/huge",
        "/bomb",
    ];
    let urls: Vec<String> = paths.iter().map(|p| format!("\"{}\"", site.url(p))).collect();
    let sources = format!(
        "[sources.hostile]\ntype = \"pages\"\nurls = [{}]\nmin_delay = \"0s\"\nmax_concurrency = 4\n",
        urls.join(", ")
    );
    let ws = workspace(&sources, "retries = 1\ntimeout = \"1s\"\nmax_body_bytes = 1048576");
    let out = ws.once();
    assert!(out.status.success(), "{}", crate::util::text(&out));
    let records = ws.records();
    assert_eq!(records.len(), 3, "{records:#?}\n{}", crate::util::text(&out));
    location(&records, &site.url("/good.html"));
    for p in ["/cp1258.html", "/mislabelled.html"] {
        let r = location(&records, &site.url(p));
        let body = r["body"].as_str().unwrap();
        assert!(
            body.contains("Chiều nay 19/1/2024, tại trụ sở Công an tỉnh Quảng Nam"),
            "{p}: {body:.200}"
        );
        assert_eq!(r["lang"], "vi");
    }
    let lines = stderr_lines(&out);
    let mut expected: Vec<(String, String, String)> = [
        ("/loop-a", "redirect_loop"),
        ("/reset", "connect"),
        ("/slow", "timeout"),
        ("/huge", "too_large"),
        ("/bomb", "too_large"),
    ]
    .iter()
    .map(|(p, k)| ("hostile".to_string(), site.url(p), k.to_string()))
    .collect();
    expected.sort();
    assert_eq!(failures(&lines), expected, "one WARN line per bad URL, with its reason");
    let finished = lines
        .iter()
        .find(|l| l["message"] == "run finished")
        .expect("a run finished line");
    let peak = finished["peak_rss_bytes"].as_u64().expect("peak RSS reported");
    assert!(
        peak < 120 << 20,
        "64 MiB and 30 MiB bodies were refused without being held: peak {peak}"
    );
}

#[test]
fn links_to_private_addresses_need_allow_private_and_bad_feed_items_are_skipped() {
    // `localhost` must reach the site, so it listens on 127.0.0.1.
    let site = Site::start("127.0.0.1");
    let port = site.addr.port();
    // The operator configured `localhost`; the feed links to 127.0.0.1, which only the page says.
    let own = |p: &str| format!("http://localhost:{port}{p}");
    let feed = rss(&[
        ("Good one", &format!("<link>{}</link>", own("/one.html"))),
        ("No link at all", ""),
        ("Loopback", &format!("<link>http://127.0.0.1:{port}/evil.html</link>")),
        ("Good two", &format!("<link>{}</link>", own("/two.html"))),
    ]);
    site.route("/robots.txt", Route::status(404, &[]))
        .route("/feed.rss", Route::typed("application/rss+xml", feed))
        .route(
            "/one.html",
            Route::html(article("fr-article.html", "002", "Ha Giang", "/one.html")),
        )
        .route(
            "/two.html",
            Route::html(article("fr-article.html", "003", "Lao Cai", "/two.html")),
        )
        .route(
            "/evil.html",
            Route::html(article("fr-article.html", "004", "Dong Ha", "/evil.html")),
        );
    let sources = |allow: bool| {
        format!(
            "[sources.feed]\ntype = \"feed\"\nurl = \"{}\"\nmin_delay = \"0s\"\nallow_hosts = [\"127.0.0.1\"]\nallow_private = {allow}\n",
            own("/feed.rss")
        )
    };
    let ws = workspace(&sources(false), "");
    let out = ws.once();
    assert!(out.status.success(), "{}", crate::util::text(&out));
    assert_eq!(ws.records().len(), 2);
    assert!(
        site.hits_of("/evil.html").is_empty(),
        "no request reaches a refused address"
    );
    let f = failures(&stderr_lines(&out));
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f.contains(&(
        "feed".into(),
        format!("http://127.0.0.1:{port}/evil.html"),
        "refused_address".into()
    )));
    assert!(f.contains(&("feed".into(), own("/feed.rss"), "bad_item".into())));

    // The same feed with allow_private: the loopback link is followed.
    std::fs::write(
        ws.config(),
        std::fs::read_to_string(ws.config())
            .unwrap()
            .replace("allow_private = false", "allow_private = true"),
    )
    .unwrap();
    let out = ws.once();
    assert!(out.status.success(), "{}", crate::util::text(&out));
    assert_eq!(ws.records().len(), 3);
    assert_eq!(site.hits_of("/evil.html").len(), 1);
    assert_eq!(
        site.hits_of("/one.html").len(),
        1,
        "delivered pages are not fetched again"
    );
}

#[test]
fn the_daemon_polls_feeds_picks_up_new_items_and_logs_a_dead_link_once() {
    let site = Site::start("127.0.0.9");
    let item = |title: &str, p: &str| (title.to_string(), format!("<link>{}</link>", site.url(p)));
    let feed = |items: &[(String, String)]| {
        let items: Vec<(&str, &str)> = items.iter().map(|(t, l)| (t.as_str(), l.as_str())).collect();
        Route::typed("application/rss+xml", rss(&items))
    };
    let first = vec![item("Ha Giang", "/a.html"), item("Gone", "/gone.html")];
    site.route("/robots.txt", Route::status(404, &[]))
        .route("/feed.rss", feed(&first))
        .route(
            "/a.html",
            Route::html(article("fr-article.html", "002", "Ha Giang", "/a.html")),
        )
        .route(
            "/b.html",
            Route::html(article("fr-article.html", "003", "Lao Cai", "/b.html")),
        )
        .route("/gone.html", Route::status(410, &[]));
    let sources = format!(
        "[sources.feed]\ntype = \"feed\"\nurl = \"{}\"\ninterval = \"1s\"\nmin_delay = \"0s\"\n",
        site.url("/feed.rss")
    );
    let ws = workspace(&sources, "");
    let config = ws.config().display().to_string();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_newsfold"))
        .args(["run", "--config", &config])
        .current_dir(ws.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::util::wait_for("the first item", Duration::from_secs(30), || ws.records().len() == 1);
    let mut second = first.clone();
    second.insert(0, item("Lao Cai", "/b.html"));
    site.route("/feed.rss", feed(&second));
    crate::util::wait_for("the new item", Duration::from_secs(30), || ws.records().len() == 2);
    crate::util::wait_for("more polls", Duration::from_secs(30), || {
        site.hits_of("/feed.rss").len() >= 4
    });
    let (status, out) = crate::util::terminate(child);
    assert_eq!(status.code(), Some(0), "{}", crate::util::text(&out));
    assert_eq!(
        site.hits_of("/a.html").len(),
        1,
        "a delivered page is not fetched again"
    );
    assert!(
        site.hits_of("/gone.html").len() >= 3,
        "the dead link is tried each poll"
    );
    assert_eq!(
        failures(&stderr_lines(&out)),
        [("feed".into(), site.url("/gone.html"), "http_4xx".into())],
        "and logged once"
    );
    let finished = stderr_lines(&out)
        .into_iter()
        .find(|l| l["message"] == "run finished")
        .expect("a summary");
    assert!(
        finished["failed"].as_u64().unwrap() >= 3,
        "every failure is counted: {finished}"
    );
}

#[test]
fn a_crawl_killed_midway_resumes_without_refetching_what_was_delivered() {
    let site = Site::start("127.0.0.10");
    site.route("/robots.txt", Route::status(404, &[]));
    let seeds = ["002", "003", "004"];
    let mut urls = Vec::new();
    for n in 0..30 {
        let p = format!("/p/{n}.html");
        // Distinct pages: each a seed with its own headline number.
        let html = article("fr-article.html", seeds[n % 3], &format!("Bulletin {n}"), &p)
            .replace("<h1>", &format!("<h1>N° {n} — "))
            .replace(
                "<div class=\"entry-content\">",
                &format!("<div class=\"entry-content\"><p>Dépêche n° {n}.</p>"),
            );
        site.route(&p, Route::html(html));
        urls.push(format!("\"{}\"", site.url(&p)));
    }
    let sources = format!(
        "[sources.site]\ntype = \"pages\"\nurls = [{}]\nmin_delay = \"100ms\"\n",
        urls.join(", ")
    );
    let ws = workspace(&sources, "");
    let config = ws.config().display().to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_newsfold"))
        .args(["once", "--config", &config])
        .current_dir(ws.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::util::wait_for("some records", Duration::from_secs(30), || ws.records().len() >= 8);
    child.kill().unwrap();
    child.wait().unwrap();
    // What the state store counts as delivered (a record written but not yet acknowledged by
    // every sink may be fetched again; that is the at-least-once contract).
    let before: Vec<String> = {
        let db = rusqlite::Connection::open(ws.path().join("state/state.sqlite")).unwrap();
        let mut stmt = db.prepare("SELECT key FROM done WHERE source = 'site'").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert!(
        !before.is_empty() && before.len() < 30,
        "the kill landed mid-crawl ({} done)",
        before.len()
    );
    let out = ws.once();
    assert!(out.status.success(), "{}", crate::util::text(&out));
    let mut after: Vec<String> = ws
        .records()
        .iter()
        .map(|r| r["location"].as_str().unwrap().to_string())
        .collect();
    after.sort();
    after.dedup();
    assert_eq!(after.len(), 30, "every page delivered once the crawl resumed");
    for url in &before {
        let path = url.trim_start_matches(&site.url(""));
        assert_eq!(
            site.hits_of(path).len(),
            1,
            "{path} was delivered before the kill and fetched again"
        );
    }
}

#[test]
fn extraction_rules_apply_to_fetched_pages_and_a_missed_rule_fails_only_its_page() {
    let site = Site::start("127.0.0.11");
    site.route("/robots.txt", Route::status(404, &[]))
        .route(
            "/a.html",
            Route::html(article("vi-article.html", "001", "Sơ kết Nghị định 03", "/a.html")),
        )
        // The same site after a redesign: no `div.article-content` any more.
        .route(
            "/b.html",
            Route::html(
                article("vi-article.html", "001", "Tin khác", "/b.html").replace("article-content", "noi-dung"),
            ),
        );
    let sources = format!(
        r#"[sources.qn]
type = "pages"
urls = ["{}", "{}"]
min_delay = "0s"

[sources.qn.extract]
title = "h1.article-title"
body = "div.article-content"
date = "meta[property='article:published_time']@content"
authors = "p.author"
remove = ["figure", ".share"]
"#,
        site.url("/a.html"),
        site.url("/b.html")
    );
    let ws = workspace(&sources, "");
    let out = ws.once();
    assert!(out.status.success(), "{}", crate::util::text(&out));
    let records = ws.records();
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = &records[0];
    assert_eq!(r["title"], "Sơ kết Nghị định 03");
    assert_eq!(r["published_at"], "2024-01-19T17:05:00+07:00");
    assert_eq!(r["authors"], serde_json::json!(["VĂN HOA"]));
    let body = r["body"].as_str().unwrap();
    assert!(
        body.contains("Chiều nay 19/1/2024, tại trụ sở Công an tỉnh Quảng Nam"),
        "{body:.120}"
    );
    assert!(!body.contains("Ảnh: M.T") && !body.contains("VĂN HOA"));
    let refused: Vec<Value> = stderr_lines(&out)
        .into_iter()
        .filter(|l| l["level"] == "WARN" && l["message"] == "page refused")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0]["kind"], "rule_missed");
    assert_eq!(refused[0]["location"], site.url("/b.html"));
    assert!(
        refused[0]["error"]
            .as_str()
            .unwrap()
            .contains("extract.body selector div.article-content matched nothing")
    );
}

#[test]
fn newsfold_scrape_prints_the_record_for_a_file_and_a_local_page() {
    // A file.
    let fixture = crate::util::repo().join("tests/fixtures/scrape/vi_jsonld_article.html");
    let out = crate::util::newsfold(&["scrape", fixture.to_str().unwrap()], &crate::util::repo());
    assert!(out.status.success(), "{}", crate::util::text(&out));
    let r: Value = serde_json::from_slice(&out.stdout).expect("pretty JSON on stdout");
    crate::util::assert_schema(&r);
    assert_eq!(r["title"], "Cụm thi đua số 7 tổng kết phong trào năm 2024");
    assert_eq!(r["updated_at"], "2024-11-29T15:40:00+07:00");
    assert_eq!(
        r["canonical_url"],
        "https://baoquangtri.vn/thoi-su/cum-thi-dua-so-7-tong-ket-190123.htm"
    );

    // A live page, with a source's rules from a config.
    let site = Site::start("127.0.0.12");
    site.route("/robots.txt", Route::status(404, &[])).route(
        "/a.html",
        Route::html(article("vi-article.html", "001", "Sơ kết Nghị định 03", "/a.html")),
    );
    let sources = format!(
        "[sources.qn]\ntype = \"pages\"\nurls = [\"{}\"]\n\n[sources.qn.extract]\nauthors = \"p.author\"\nremove = [\"figure\"]\n",
        site.url("/a.html")
    );
    let ws = workspace(&sources, "");
    let config = ws.config().display().to_string();
    let url = site.url("/a.html");
    let out = ws.newsfold(&["scrape", &url, "--source", "qn", "--config", &config]);
    assert!(out.status.success(), "{}", crate::util::text(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["source"], "qn");
    assert_eq!(r["location"], url);
    assert_eq!(r["authors"], serde_json::json!(["VĂN HOA"]));
    assert_eq!(r["alternates"][0]["lang"], "fr");
    assert!(r["body"].as_str().unwrap().contains("Chiều nay 19/1/2024"));

    // A reader that stops early (`| head`) is not an error.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_newsfold"))
        .args(["scrape", fixture.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Errors name what failed.
    let out = crate::util::newsfold(&["scrape", &site.url("/missing.html")], &crate::util::repo());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("HTTP 404"),
        "{}",
        crate::util::text(&out)
    );
}

/// Issue 16 (sitemap loops): an index that lists itself, and two indexes that list each other,
/// are read once each, and the loop is a warning and a counted failure, not silence.
#[test]
fn a_sitemap_index_that_loops_is_reported_and_read_once() {
    let site = Site::start("127.0.0.5");
    let page = site.url("/a.html");
    let index = |children: &[String]| {
        let items: String = children
            .iter()
            .map(|c| format!("<sitemap><loc>{c}</loc></sitemap>"))
            .collect();
        Route::typed(
            "application/xml",
            format!("<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{items}</sitemapindex>"),
        )
    };
    site.route("/robots.txt", Route::status(404, &[]))
        .route("/self.xml", index(&[site.url("/self.xml"), site.url("/b.xml")]))
        .route("/b.xml", index(&[site.url("/self.xml"), site.url("/urls.xml")]))
        .route(
            "/urls.xml",
            Route::typed(
                "application/xml",
                format!("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"><url><loc>{page}</loc></url></urlset>"),
            ),
        )
        .route("/a.html", Route::html(article("vi-article.html", "001", "Hội nghị", &page)));
    let ws = workspace(
        &format!(
            "[sources.loop]\ntype = \"sitemap\"\nurl = \"{}\"\nmin_delay = \"0s\"\n",
            site.url("/self.xml")
        ),
        "",
    );
    let out = ws.once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(ws.records().len(), 1, "the page behind the loop arrives once");
    assert_eq!(site.hits_of("/self.xml").len(), 1);
    assert_eq!(site.hits_of("/b.xml").len(), 1);
    let lines = stderr_lines(&out);
    let loops: Vec<&Value> = lines
        .iter()
        .filter(|l| l["level"] == "WARN" && l["kind"] == "bad_sitemap")
        .collect();
    // Both loops point back at /self.xml: one line, the repeat rate-limited; both counted.
    assert_eq!(loops.len(), 1, "{loops:?}");
    let summary = lines.iter().find(|l| l["message"] == "run finished").unwrap();
    assert!(
        summary["summary"].as_str().unwrap().contains("failed bad_sitemap: 2"),
        "{summary}"
    );
}
