//! Extraction benchmark: every page of ../shared/data/article-extraction-benchmark through the
//! daemon's own scrape code (`scrape::scrape` on an HTML `Page`, no source rules), one thread.
//!
//! `cargo bench --bench extract -- DATA_DIR OUT_DIR [ROUNDS]` writes OUT_DIR/<id>.txt and
//! OUT_DIR/<id>.json (title, authors, published_at) (the
//! record body) for the benchmark's scorer and prints pages/s over ROUNDS passes (default 3).
//! bench/extract.sh runs it beside trafilatura and scores both.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use newsfold::model::{Page, PageFormat};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let data = PathBuf::from(args.first().expect("DATA_DIR"));
    let out = PathBuf::from(args.get(1).expect("OUT_DIR"));
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    std::fs::create_dir_all(&out).expect("out dir");
    let mut pages = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(data.join("html")).expect("html/").flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".html.gz") else {
            continue;
        };
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(e.path()).expect("open"))
            .read_to_end(&mut bytes)
            .expect("gunzip");
        pages.push(Page {
            source: Arc::from("bench"),
            key: id.to_string(),
            location: format!("https://example.org/{id}"),
            format: PageFormat::Html,
            bytes,
            raw_hash: String::new(),
            lang_hint: None,
            charset: Some("utf-8".into()),
            rules: None,
            fetch: None,
        });
    }
    let bytes: usize = pages.iter().map(|p| p.bytes.len()).sum();
    let mut best = f64::MAX;
    let mut failed = 0;
    for round in 0..rounds {
        let start = Instant::now();
        let mut bodies = Vec::with_capacity(pages.len());
        for p in &pages {
            bodies.push(newsfold::scrape::scrape(p));
        }
        best = best.min(start.elapsed().as_secs_f64());
        if round == 0 {
            for (p, b) in pages.iter().zip(&bodies) {
                match b {
                    Ok(a) => {
                        std::fs::write(out.join(format!("{}.txt", p.key)), a.body()).expect("write");
                        // The metadata, as the readability test pages' score.py reads it.
                        let meta = serde_json::json!({
                            "title": a.title,
                            "authors": a.authors,
                            "published_at": a.published_at.map(|d| d.to_rfc3339()),
                        });
                        std::fs::write(out.join(format!("{}.json", p.key)), meta.to_string()).expect("write");
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("{}: {e}", p.key);
                    }
                }
            }
        }
    }
    // The floor: html5ever parsing alone, as scraper does it, no extraction.
    let mut floor = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        for p in &pages {
            let html = scraper::Html::parse_document(&String::from_utf8_lossy(&p.bytes));
            std::hint::black_box(html.tree.nodes().count());
        }
        floor = floor.min(start.elapsed().as_secs_f64());
    }
    println!(
        "scraper parse alone (the floor): {:.0} pages/s, {:.1} MB/s",
        pages.len() as f64 / floor,
        bytes as f64 / 1e6 / floor
    );
    println!(
        "newsfold: {} pages ({:.1} MB) in {:.2}s = {:.0} pages/s, {:.1} MB/s (best of {rounds}, one thread); {failed} without text",
        pages.len(),
        bytes as f64 / 1e6,
        best,
        pages.len() as f64 / best,
        bytes as f64 / 1e6 / best
    );
    // Hostile nesting (issue 16): scrape time must stay linear in the page's size.
    for n in [10_000, 40_000, 100_000] {
        let html = format!(
            "<html><body>{}<p>Text inside a deep nest, long enough to be a paragraph of news.</p>{}</body></html>",
            "<div>".repeat(n),
            "</div>".repeat(n)
        );
        let page = Page {
            source: Arc::from("bench"),
            key: format!("nested-{n}"),
            location: format!("https://example.org/nested-{n}"),
            format: PageFormat::Html,
            raw_hash: String::new(),
            lang_hint: None,
            charset: Some("utf-8".into()),
            rules: None,
            fetch: None,
            bytes: html.into_bytes(),
        };
        let start = Instant::now();
        let ok = newsfold::scrape::scrape(&page).is_ok();
        println!(
            "nested divs: {n} deep ({:.1} MB) in {:.3}s (goal < 2 s){}",
            page.bytes.len() as f64 / 1e6,
            start.elapsed().as_secs_f64(),
            if ok { "" } else { ", no text" }
        );
    }
}
