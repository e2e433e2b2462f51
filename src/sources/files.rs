//! `type = "files"`: a folder of saved pages. `.html`/`.htm` files are read as HTML, anything else
//! matched by the globs as article text. In `run` the folder is rescanned every `interval`, and
//! new or changed files are picked up.
//!
//! Identity: a file's key is its path relative to the folder, so ids survive moving the folder.
//! Within one process a file is sent once per (size, mtime); across processes the state store
//! decides, by content.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use glob::{MatchOptions, Pattern};

use serde::Deserialize;

use super::{Mode, SourceCtx};
use crate::config::{Cx, duration_opt, source_lang};
use crate::kinds::FailureKind;
use crate::model::Lang;
use crate::model::{Page, PageFormat, short_hash};
use crate::report::{SourceState, StageExit};

/// Folders deeper than this below the source folder are not walked.
const MAX_DEPTH: usize = 16;

pub const DEFAULT_FILES_GLOBS: &[&str] = &["*.txt", "*.html", "*.htm"];
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// One or several glob patterns.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Globs {
    One(String),
    Many(Vec<String>),
}

impl Globs {
    fn into_vec(self) -> Vec<String> {
        match self {
            Globs::One(s) => vec![s],
            Globs::Many(v) => v,
        }
    }
}

/// `type = "files"` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilesSource {
    pub path: PathBuf,
    #[serde(default)]
    pub glob: Option<Globs>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default, deserialize_with = "duration_opt")]
    pub interval: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FilesSettings {
    pub dir: PathBuf,
    pub patterns: Vec<Pattern>,
    pub lang: Option<Lang>,
    /// How often `run` rescans the folder.
    pub interval: Duration,
}

impl FilesSettings {
    pub fn build(cx: &mut Cx<'_>, key: &str, f: RawFilesSource) -> Option<FilesSettings> {
        let raw_path = cx.expand_env(&format!("{key}.path"), &f.path.to_string_lossy());
        let dir = cx.resolve(Path::new(&raw_path));
        if !dir.is_dir() {
            cx.error(&format!("{key}.path"), format!("no such directory: {}", dir.display()));
        }
        let globs = f
            .glob
            .map(Globs::into_vec)
            .unwrap_or_else(|| DEFAULT_FILES_GLOBS.iter().map(|s| s.to_string()).collect());
        if globs.is_empty() {
            cx.error(&format!("{key}.glob"), "needs at least one pattern");
        }
        let mut patterns = Vec::new();
        for g in &globs {
            match Pattern::new(g) {
                Ok(p) => patterns.push(p),
                Err(e) => cx.error(
                    &format!("{key}.glob"),
                    format!("invalid pattern {}: {e}", crate::config::preview(g)),
                ),
            }
        }
        let lang = source_lang(cx, key, f.lang.as_deref());
        let interval = f.interval.unwrap_or(DEFAULT_POLL_INTERVAL);
        if interval.is_zero() {
            cx.error(&format!("{key}.interval"), "must be longer than zero");
        }
        Some(FilesSettings {
            dir,
            patterns,
            lang,
            interval,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    path: PathBuf,
    key: String,
    len: u64,
    modified: Option<SystemTime>,
    /// Why the file's metadata could not be read (a dangling link, a permission problem).
    broken: Option<String>,
}

pub async fn run(id: &str, settings: FilesSettings, ctx: SourceCtx) -> StageExit {
    let source: Arc<str> = Arc::from(id);
    // What this process has already sent or refused, by key, with the (len, mtime) it had then.
    let mut known: HashMap<String, (u64, Option<SystemTime>)> = HashMap::new();
    let mut scan_failed = false;
    loop {
        ctx.stats.source_state(source.as_ref(), SourceState::Polling);
        let dir = settings.dir.clone();
        let patterns = settings.patterns.clone();
        let scanned = tokio::task::spawn_blocking(move || scan(&dir, &patterns)).await;
        match scanned {
            Ok(Ok(entries)) => {
                scan_failed = false;
                ctx.stats.succeeded(source.as_ref());
                for e in entries {
                    if known.get(&e.key) == Some(&(e.len, e.modified)) {
                        continue;
                    }
                    known.insert(e.key.clone(), (e.len, e.modified));
                    if let Err(exit) = handle(&source, &settings, &ctx, e).await {
                        return exit;
                    }
                }
            }
            Ok(Err(e)) => {
                ctx.stats
                    .failed_with(id, FailureKind::Unlistable, &format!("{}: {e}", settings.dir.display()));
                if !scan_failed {
                    tracing::warn!(stage = "source", source = %id, location = %settings.dir.display(), error = %e, "cannot list folder");
                }
                scan_failed = true;
                if ctx.mode == Mode::Once {
                    return StageExit::Failed(format!("cannot list {}: {e}", settings.dir.display()));
                }
            }
            Err(e) => return StageExit::Failed(format!("folder scan panicked: {e}")),
        }
        if ctx.mode == Mode::Once {
            return StageExit::Completed;
        }
        ctx.stats.source_state(source.as_ref(), SourceState::Idle);
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return StageExit::Cancelled,
            _ = tokio::time::sleep(settings.interval) => {}
        }
    }
}

async fn handle(source: &Arc<str>, settings: &FilesSettings, ctx: &SourceCtx, e: Entry) -> Result<(), StageExit> {
    let location = e.path.display().to_string();
    if let Some(err) = &e.broken {
        tracing::warn!(stage = "source", source = %source, location = %location, kind = FailureKind::Unreadable.as_str(), error = %err, "page refused");
        ctx.stats.failed_with(source, FailureKind::Unreadable, &location);
        return Ok(());
    }
    if e.len > ctx.max_page_bytes {
        tracing::warn!(
            stage = "source", source = %source, location = %location, kind = FailureKind::TooLarge.as_str(),
            error = %format!("{} bytes is over the {} byte cap (pipeline.max_page_bytes)", e.len, ctx.max_page_bytes),
            "page refused"
        );
        ctx.stats.failed_with(source, FailureKind::TooLarge, &location);
        return Ok(());
    }
    let bytes = match tokio::fs::read(&e.path).await {
        Ok(b) => b,
        Err(err) => {
            tracing::warn!(stage = "source", source = %source, location = %location, kind = FailureKind::Unreadable.as_str(), error = %err, "page refused");
            ctx.stats.failed_with(source, FailureKind::Unreadable, &location);
            return Ok(());
        }
    };
    // A file that grew since it was listed meets the cap again in `SourceCtx::send`.
    let raw_hash = short_hash(&blake3::hash(&bytes));
    // A file listed mid-write is listed again once written, and must not be sent twice when its
    // bytes are the same.
    if ctx.sent.get(&e.key).as_ref() == Some(&raw_hash) {
        tracing::debug!(stage = "source", source = %source, location = %location, "unchanged since sent");
        return Ok(());
    }
    if ctx.is_done(source, &e.key, &raw_hash).await {
        tracing::debug!(stage = "source", source = %source, location = %location, "already delivered");
        ctx.stats.already_done(source);
        return Ok(());
    }
    let format = PageFormat::of_path(&e.path);
    tracing::debug!(stage = "source", source = %source, location = %location, bytes = bytes.len(), "page read");
    ctx.send(Page {
        source: source.clone(),
        key: e.key,
        location,
        format,
        bytes,
        raw_hash,
        lang_hint: settings.lang,
        charset: None,
        rules: None,
        fetch: None,
    })
    .await
}

/// Lists matching files below `dir`, sorted by key. Hidden files and folders are skipped.
fn scan(dir: &Path, patterns: &[Pattern]) -> std::io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let opts = MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((folder, depth)) = stack.pop() {
        let read = match std::fs::read_dir(&folder) {
            Ok(r) => r,
            // The top folder must be listable; a subfolder we cannot read is skipped.
            Err(e) if depth == 0 => return Err(e),
            Err(_) => continue,
        };
        for entry in read.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Ok(rel) = path.strip_prefix(dir) else { continue };
            let key = rel.to_string_lossy().replace('\\', "/");
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    if patterns.iter().any(|p| p.matches_with(&key, opts)) {
                        out.push(Entry {
                            path,
                            key,
                            len: 0,
                            modified: None,
                            broken: Some(e.to_string()),
                        });
                    }
                    continue;
                }
            };
            if meta.is_dir() {
                if depth < MAX_DEPTH {
                    stack.push((path, depth + 1));
                }
            } else if patterns.iter().any(|p| p.matches_with(&key, opts)) {
                out.push(Entry {
                    path,
                    key,
                    len: meta.len(),
                    modified: meta.modified().ok(),
                    broken: None,
                });
            }
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_matches_globs_relative_to_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for f in ["b.txt", "a.html", "c.md", ".hidden.txt", "sub/d.txt"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let pats = |v: &[&str]| v.iter().map(|p| Pattern::new(p).unwrap()).collect::<Vec<_>>();
        let keys = |v: Vec<Entry>| v.into_iter().map(|e| e.key).collect::<Vec<_>>();
        assert_eq!(
            keys(scan(dir.path(), &pats(&["*.txt", "*.html"])).unwrap()),
            vec!["a.html", "b.txt"]
        );
        assert_eq!(
            keys(scan(dir.path(), &pats(&["**/*.txt"])).unwrap()),
            vec!["b.txt", "sub/d.txt"]
        );
        assert!(scan(&dir.path().join("missing"), &pats(&["*"])).is_err());
    }
}
