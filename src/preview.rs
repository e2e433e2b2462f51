//! `newsfold scrape <URL|FILE> [--source ID] [--config FILE]`: one page through the scrape stage,
//! printed as the record it would become (pretty JSON), so users can write and debug a source's
//! extraction rules against a live page.
//!
//! A URL is fetched with the shared fetcher's rules (robots.txt, timeouts, body cap, charset); the
//! URL was named by the user, so its host is trusted like a configured one. With `--source` the
//! source's extraction rules, language hint, User-Agent and allowed hosts apply.
//!
//! `replay` (`newsfold explain --replay`) takes a decision log entry, reads or refetches its page
//! the same way, scrapes it and folds it against the fold index as it stood before the page was
//! decided (the persisted documents up to it), and says what differs from what was decided: so a
//! change to the extractor or the fold can be checked against history. Nothing is written.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use url::Url;

use crate::config::{Config, FetchSettings};
use crate::fetch::hosts::Limits;
use crate::fetch::urls::Scope;
use crate::fetch::{Expect, Fetcher, Outcome, Policy};
use crate::model::{Page, PageFormat, Relation, record_id, short_hash};
use crate::scrape::stage::{Placement, Scraped};
use crate::sources::SourceKind;

/// What `--source` brings.
#[derive(Default)]
struct SourceView {
    id: String,
    rules: Option<Arc<crate::scrape::rules::Rules>>,
    lang: Option<crate::model::Lang>,
    user_agent: Option<String>,
    allow_hosts: Vec<String>,
}

fn source_view(config: Option<&Config>, source: Option<&str>) -> anyhow::Result<SourceView> {
    let Some(id) = source else {
        return Ok(SourceView {
            id: "scrape".into(),
            ..SourceView::default()
        });
    };
    let config = config.context("--source needs a config (--config FILE)")?;
    let spec = config
        .sources
        .iter()
        .find(|s| s.id == id)
        .with_context(|| format!("no source {id:?} in {}", config.file.display()))?;
    Ok(match &spec.kind {
        SourceKind::Http(h) => SourceView {
            id: id.to_string(),
            rules: h.extract.clone(),
            lang: h.lang,
            user_agent: Some(h.user_agent.clone()),
            allow_hosts: h.allow_hosts.clone(),
        },
        SourceKind::Files(f) => SourceView {
            id: id.to_string(),
            lang: f.lang,
            ..SourceView::default()
        },
    })
}

/// Reads or fetches `target` and returns the record it would make, as pretty JSON.
pub fn preview(target: &str, config: Option<&Config>, source: Option<&str>) -> anyhow::Result<String> {
    let view = source_view(config, source)?;
    let page = if target.starts_with("http://") || target.starts_with("https://") {
        let settings = config.map(|c| c.fetch.clone()).unwrap_or_default();
        fetch_page(target, settings, &view)?
    } else {
        read_page(Path::new(target), &view)?
    };
    let article = crate::scrape::scrape(&page).map_err(|e| anyhow::anyhow!("{}: {e}", page.location))?;
    let body = article.body();
    let id = record_id(&view.id, &page.key, &page.raw_hash);
    let content_hash = crate::fold::normalize::content_hash(&body);
    let alone = Placement {
        story_id: id.clone(),
        event_id: id.clone(),
        relation: Relation::Original,
        duplicate_of: None,
    };
    let record = Scraped::new(page, article).into_record(id, body, content_hash, alone);
    Ok(serde_json::to_string_pretty(&record)?)
}

fn read_page(path: &Path, view: &SourceView) -> anyhow::Result<Page> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let format = PageFormat::of_path(path);
    Ok(Page {
        source: Arc::from(view.id.as_str()),
        key: path.display().to_string(),
        location: std::fs::canonicalize(path)
            .unwrap_or(path.to_path_buf())
            .display()
            .to_string(),
        format,
        raw_hash: short_hash(&blake3::hash(&bytes)),
        bytes,
        lang_hint: view.lang,
        charset: None,
        rules: view.rules.clone(),
        fetch: None,
    })
}

fn fetch_page(target: &str, settings: FetchSettings, view: &SourceView) -> anyhow::Result<Page> {
    let url = Url::parse(target)
        .ok()
        .and_then(crate::fetch::urls::normalize)
        .with_context(|| format!("{target:?} is not an http(s) URL"))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let user_agent = view.user_agent.clone().unwrap_or_else(|| settings.user_agent.clone());
    let fetched = runtime.block_on(async {
        let fetcher = Fetcher::new(settings, tokio_util::sync::CancellationToken::new())?;
        let policy = Policy {
            user_agent: Arc::from(user_agent.as_str()),
            allow_private: false,
            trusted: Arc::new(HashSet::from([crate::fetch::host_key(&url)])),
            limits: Limits {
                concurrency: 1,
                min_delay: std::time::Duration::ZERO,
            },
            scope: Arc::new(Scope::new([&url], &view.allow_hosts)),
        };
        anyhow::Ok(fetcher.fetch(&policy, &url, None, Expect::Page).await)
    })?;
    let fetched = match fetched {
        Ok(Outcome::Fetched(f)) => *f,
        Ok(Outcome::NotModified) => bail!("{url}: the server answered 304 to an unconditional request"),
        Err(e) => bail!("{url}: {e} ({})", e.kind()),
    };
    let trail = fetched.trail(&url, None);
    Ok(Page {
        source: Arc::from(view.id.as_str()),
        key: url.to_string(),
        location: fetched.url.to_string(),
        format: fetched.format(),
        raw_hash: short_hash(&blake3::hash(&fetched.body)),
        bytes: fetched.body,
        lang_hint: view.lang,
        charset: fetched.charset,
        rules: view.rules.clone(),
        fetch: Some(Box::new(trail)),
    })
}

/// Re-runs scrape and fold for a logged record and lists what differs from the log.
pub fn replay(
    config: &Config,
    state: &crate::state::StateStore,
    entry: &crate::explain::Entry,
) -> anyhow::Result<String> {
    use std::fmt::Write;
    let logged = entry
        .fold
        .as_ref()
        .context("only a record's decision can be replayed")?;
    let view = source_view(Some(config), Some(&entry.input.source))?;
    let location = &entry.input.location;
    let mut page = if location.starts_with("http://") || location.starts_with("https://") {
        fetch_page(location, config.fetch.clone(), &view)?
    } else {
        read_page(Path::new(location), &view)?
    };
    if let Some(key) = &entry.input.key {
        page.key = key.clone();
    }
    let mut article = crate::scrape::scrape(&page).map_err(|e| anyhow::anyhow!("{location}: {e}"))?;
    // The site's template as learnt so far (read, not taught: a replay changes nothing). A page
    // decided before its site's template was learnt replays without the lines learnt since.
    if let Some(host) = crate::scrape::template::host_of(&page.location)
        && let Some(t) = state.load_template(&host)?
        && article.paragraphs.iter().any(|p| !t.is_furniture(p))
    {
        article.paragraphs.retain(|p| !t.is_furniture(p));
    }
    // (field, as decided, as replayed)
    let mut fields: Vec<(&str, String, String)> = Vec::new();
    if entry.input.raw_hash.as_deref() != Some(page.raw_hash.as_str()) {
        fields.push((
            "bytes",
            format!("{:?}", entry.input.bytes),
            format!("Some({}) (the page changed)", page.bytes.len()),
        ));
    }
    if let Some(x) = &entry.extraction {
        fields.extend([
            ("title", format!("{:?}", x.title), format!("{:?}", article.title)),
            (
                "published",
                format!("{:?}", x.published_at),
                format!("{:?}", article.published_at),
            ),
            ("authors", format!("{:?}", x.authors), format!("{:?}", article.authors)),
            ("language", format!("{:?}", x.lang), format!("{:?}", article.lang)),
            (
                "paragraphs",
                x.paragraphs.to_string(),
                article.paragraphs.len().to_string(),
            ),
        ]);
    }
    // The index as it stood before this page was decided.
    let mut folder = crate::fold::Folder::new(&config.fold);
    for row in state.load_docs()? {
        if row.record_id == logged.record_id {
            break;
        }
        let doc = crate::fold::index::IndexedDoc::from_row(&row)
            .map_err(|e| anyhow::anyhow!("fold document {}: {e}", row.record_id))?;
        folder.restore(&doc);
    }
    let body = article.body();
    let id = record_id(&page.source, &page.key, &page.raw_hash);
    let input = crate::fold::FoldInput::from_article(
        id,
        page.location.clone(),
        &article,
        &body,
        chrono::Utc::now().timestamp(),
    );
    let (decision, _) = folder.fold(input);
    fields.extend([
        (
            "relation",
            logged.relation.clone(),
            decision.relation.as_str().to_string(),
        ),
        (
            "joined",
            format!("{:?}", logged.duplicate_of),
            format!("{:?}", decision.duplicate_of),
        ),
        ("story", logged.story_id.clone(), decision.story_id.clone()),
        ("event", logged.event_id.clone(), decision.event_id.clone()),
    ]);
    let mut out = format!("{location} replayed\n");
    let mut diffs = 0;
    for (what, was, now) in fields.iter().filter(|(_, was, now)| was != now) {
        diffs += 1;
        let _ = writeln!(out, "  {what:<10} was {was}, now {now}");
    }
    if diffs == 0 {
        let _ = writeln!(
            out,
            "  same as decided: {} of story {}",
            logged.relation, logged.story_id
        );
    }
    Ok(out)
}
