//! What the crawling benchmarks share: local sites of generated pages in the genre, a run under
//! GNU time, and politeness as the servers measured it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::web::{Route, Site};

/// Words drawn for page text: the seeds' vocabulary, so pages look like the genre to the scraper
/// and the language detector, with numbers and codes that make every page its own story.
pub fn vocabulary(repo: &Path) -> Vec<String> {
    let mut words = Vec::new();
    for entry in std::fs::read_dir(repo.join("seeds")).expect("seeds/") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).unwrap_or_default();
        if text.contains("Quảng Nam") {
            words.extend(
                text.split_whitespace()
                    .filter(|w| w.chars().all(char::is_alphabetic))
                    .map(str::to_string),
            );
        }
    }
    words.sort();
    words.dedup();
    words
}

pub fn page(words: &[String], rng: &mut fastrand::Rng, host: usize, n: usize) -> String {
    let mut paragraphs = String::new();
    for p in 0..6 {
        let mut line: Vec<&str> = (0..40).map(|_| words[rng.usize(..words.len())].as_str()).collect();
        let facts = format!(
            "{}.{:03} {}/{}/2024 {}/{}/NĐ-CP",
            rng.u32(1..999),
            rng.u32(0..999),
            host % 28 + 1,
            p + 1,
            n,
            host
        );
        line.insert(rng.usize(..line.len()), &facts);
        paragraphs.push_str(&format!("<p>{}.</p>\n", line.join(" ")));
    }
    format!(
        "<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Tin {host}-{n}</title></head><body>\
         <header><nav><a href=\"/\">Trang chủ</a> <a href=\"/thoi-su\">Thời sự</a></nav></header><main><article>\
         <h1>Bản tin {host}-{n}</h1><div class=\"article-content\" itemprop=\"articleBody\">{paragraphs}</div>\
         </article><aside class=\"related\"><a href=\"/a/1.html\">Tin liên quan</a></aside></main><footer>© Báo</footer></body></html>"
    )
}

/// Starts `hosts` sites on 127.`net`.x.y with `per_host` pages each; returns them and their sitemaps.
pub fn sites(net: u8, hosts: usize, per_host: usize, words: &[String]) -> (Vec<Site>, Vec<String>) {
    let mut rng = fastrand::Rng::with_seed(u64::from(net));
    let mut out = Vec::new();
    let mut sitemaps = Vec::new();
    for h in 0..hosts {
        let site = Site::start(&format!("127.{net}.{}.{}", h / 250, h % 250 + 1));
        site.route(
            "/robots.txt",
            Route::typed("text/plain", "User-agent: *\nDisallow: /admin/\n"),
        );
        let mut urlset =
            String::from("<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">");
        for n in 0..per_host {
            let path = format!("/a/{n}.html");
            urlset.push_str(&format!("<url><loc>{}</loc></url>", site.url(&path)));
            site.route(&path, Route::html(page(words, &mut rng, h, n)));
        }
        urlset.push_str("</urlset>");
        site.route("/sitemap.xml", Route::typed("application/xml", urlset));
        sitemaps.push(site.url("/sitemap.xml"));
        out.push(site);
    }
    (out, sitemaps)
}

pub struct Measured {
    pub pages: usize,
    pub wall: f64,
    pub cpu: f64,
    pub peak_kb: u64,
}

/// Runs `cmd` under GNU time; its output is `<name>.jsonl`, one page a line.
pub fn timed(cmd: Command, dir: &Path, name: &str) -> Measured {
    let times = dir.join(format!("{name}.time"));
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("log file");
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let status = Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&times)
        .arg("-f")
        .arg("%e %U %S %M")
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .status()
        .expect("run under /usr/bin/time");
    assert!(
        status.success(),
        "{name} failed: see {}",
        dir.join(format!("{name}.log")).display()
    );
    let t = std::fs::read_to_string(&times).expect("time output");
    let last = t.lines().last().unwrap_or_default();
    let v: Vec<f64> = last.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    assert_eq!(v.len(), 4, "unexpected time output {t:?}");
    Measured {
        pages: lines(&dir.join(format!("{name}.jsonl"))),
        wall: v[0],
        cpu: v[1] + v[2],
        peak_kb: v[3] as u64,
    }
}

pub fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0)
}

/// The most requests any site had open at once (must be 1), and the shortest and 1st-percentile
/// gap between two connections to one site (the delay, less the jitter of accepting connections
/// on a machine whose two cores also run the client).
pub fn politeness(sites: &[Site]) -> (usize, Duration, Duration) {
    let max_active = sites.iter().map(Site::max_active).max().unwrap_or(0);
    assert!(max_active <= 1, "a host saw {max_active} requests at once");
    let mut gaps: Vec<Duration> = Vec::new();
    for site in sites {
        let mut at: Vec<_> = site.hits().iter().map(|h| h.at).collect();
        at.sort();
        gaps.extend(at.windows(2).map(|w| w[1] - w[0]));
    }
    gaps.sort();
    let min = gaps.first().copied().unwrap_or_default();
    let p1 = gaps.get(gaps.len() / 100).copied().unwrap_or_default();
    (max_active, min, p1)
}
