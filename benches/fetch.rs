//! Fetch benchmark: newsfold and Scrapy crawl the same local sites with the same politeness.
//!
//! `cargo bench --bench fetch -- HOSTS PAGES DELAY_MS PYTHON` (bench/fetch.sh installs Scrapy
//! and passes its Python). HOSTS sites on their own loopback addresses each serve robots.txt, a
//! sitemap and PAGES/HOSTS article pages; newsfold (`once`, one sitemap source per host, JSONL
//! out) and then Scrapy (a SitemapSpider, JSON Lines out) each crawl a fresh set of them with one
//! request at a time per host and DELAY_MS between requests to a host. Each side's wall time,
//! CPU time and peak RSS come from GNU time; politeness is measured by the servers.

// Shared with the integration tests, which use all of it.
#[allow(dead_code)]
#[path = "../tests/it/web.rs"]
mod web;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

#[path = "support/sites.rs"]
mod sites;

use sites::{politeness, sites, timed, vocabulary};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let hosts: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(200);
    let pages: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let delay_ms: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let python = args.get(3).cloned().unwrap_or_else(|| "python3".into());
    let delay = Duration::from_millis(delay_ms);
    let per_host = pages / hosts;
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let words = vocabulary(&repo);
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    println!(
        "{hosts} hosts x {per_host} pages, 1 request at a time per host, {delay_ms} ms between requests to a host"
    );

    // newsfold
    let (nf_sites, sitemaps) = sites(2, hosts, per_host, &words);
    let mut config = String::from(
        "[state]\npath = \"state.sqlite\"\n[fetch]\nmax_concurrency = 64\nretries = 1\n[sinks.out]\ntype = \"jsonl\"\npath = \"newsfold.jsonl\"\n",
    );
    for (i, s) in sitemaps.iter().enumerate() {
        config.push_str(&format!(
            "[sources.h{i}]\ntype = \"sitemap\"\nurl = \"{s}\"\nmin_delay = \"{delay_ms}ms\"\nmax_concurrency = 1\n"
        ));
    }
    std::fs::write(dir.join("newsfold.toml"), config).expect("config");
    let mut cmd = Command::new(repo.join("target/release/newsfold"));
    cmd.args(["once", "--config", "newsfold.toml", "--log-level", "warn"]);
    let newsfold = timed(cmd, dir, "newsfold");
    let nf_polite = politeness(&nf_sites);
    drop(nf_sites);

    // Scrapy, on a fresh set of the same sites.
    let (sc_sites, sitemaps) = sites(3, hosts, per_host, &words);
    std::fs::write(dir.join("sitemaps.txt"), sitemaps.join("\n")).expect("sitemaps");
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "scrapy", "runspider"])
        .arg(repo.join("bench/scrapy_spider.py"))
        .args(["-a", "sitemaps=sitemaps.txt", "-a"])
        .arg(format!("delay={}", delay.as_secs_f64()))
        .args(["-O", "scrapy.jsonl"]);
    let scrapy = timed(cmd, dir, "scrapy");
    let sc_polite = politeness(&sc_sites);

    println!(
        "{:<10} {:>7} {:>9} {:>12} {:>16} {:>13} {:>10} {:>12}",
        "",
        "pages",
        "wall s",
        "pages/s",
        "CPU s/1000 pages",
        "pages/CPU s",
        "peak MiB",
        "per host: max open, gap min/p1"
    );
    for (name, m, p) in [("newsfold", &newsfold, nf_polite), ("scrapy", &scrapy, sc_polite)] {
        println!(
            "{name:<10} {:>7} {:>9.1} {:>12.0} {:>16.2} {:>13.0} {:>10.1} {:>7} {:>4}ms/{}ms",
            m.pages,
            m.wall,
            m.pages as f64 / m.wall,
            m.cpu * 1000.0 / m.pages.max(1) as f64,
            m.pages as f64 / m.cpu.max(1e-9),
            m.peak_kb as f64 / 1024.0,
            p.0,
            p.1.as_millis(),
            p.2.as_millis()
        );
    }
    println!(
        "newsfold / scrapy, pages per CPU second: {:.1}x",
        (newsfold.pages as f64 / newsfold.cpu.max(1e-9)) / (scrapy.pages as f64 / scrapy.cpu.max(1e-9))
    );
}
