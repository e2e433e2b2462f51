//! `scrape::scrape` on any bytes: as HTML (with and without a declared charset, with a source's
//! language hint) or as a saved text page. It may refuse the page; it must never panic, and what
//! it returns must hold together (a body, a confidence between 0 and 1).
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use newsfold::model::{Lang, Page, PageFormat};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else { return };
    let page = Page {
        source: Arc::from("fuzz"),
        key: "fuzz".into(),
        location: "https://example.org/a/b.html".into(),
        format: if mode & 1 == 0 { PageFormat::Html } else { PageFormat::Text },
        bytes: bytes.to_vec(),
        raw_hash: String::new(),
        lang_hint: (mode & 2 != 0).then_some(Lang::Vi),
        charset: match mode >> 2 & 3 {
            0 => None,
            1 => Some("utf-8".into()),
            2 => Some("windows-1258".into()),
            _ => Some("no-such-charset".into()),
        },
        rules: None,
    };
    if let Ok(article) = newsfold::scrape::scrape(&page) {
        assert!(!article.body().trim().is_empty());
        assert!((0.0..=1.0).contains(&article.lang_confidence));
    }
});
