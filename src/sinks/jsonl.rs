//! The JSON Lines sink: one record a line, appended to a file (created with its folder) or written
//! to stdout. A batch is flushed, and with `fsync = "batch"` synced to disk, before it is
//! acknowledged; a half line a crash left at the end is cut when the file is opened. With
//! `rotate_bytes`, a file that reached that size after a batch is renamed to `<path>.<UTC time>`
//! and a new one started, so no line is ever split across files.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use serde::Deserialize;

use super::{DuplicatePolicy, Item};
use crate::config::Cx;

/// `type = "jsonl"` as written: one JSON record a line, to a file or stdout (`-`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJsonlSink {
    pub path: String,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
    #[serde(default)]
    pub fsync: Fsync,
    /// Rotate the file once it reaches this many bytes; 0 never rotates.
    #[serde(default)]
    pub rotate_bytes: u64,
}

/// When a file sink forces its writes to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Fsync {
    /// Leave it to the OS (a flushed batch survives a crash of newsfold, not of the machine).
    #[default]
    Never,
    /// `fsync` every batch before acknowledging it.
    Batch,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonlTarget {
    Stdout,
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct JsonlSettings {
    pub target: JsonlTarget,
    pub fsync: Fsync,
    pub rotate_bytes: u64,
}

impl JsonlSettings {
    pub fn build(cx: &mut Cx<'_>, key: &str, raw: RawJsonlSink) -> Option<(JsonlSettings, DuplicatePolicy)> {
        let path = cx.expand_env(&format!("{key}.path"), &raw.path);
        let target = if path == "-" {
            JsonlTarget::Stdout
        } else if path.trim().is_empty() {
            cx.error(&format!("{key}.path"), "must not be empty (use \"-\" for stdout)");
            JsonlTarget::Stdout
        } else {
            JsonlTarget::File(cx.resolve(Path::new(&path)))
        };
        let settings = JsonlSettings {
            target,
            fsync: raw.fsync,
            rotate_bytes: raw.rotate_bytes,
        };
        Some((settings, raw.duplicates))
    }

    /// `/readyz`: the folder exists and the file, if present, opens for appending.
    pub fn probe(&self) -> anyhow::Result<()> {
        let JsonlTarget::File(path) = &self.target else {
            return Ok(());
        };
        if path.exists() {
            OpenOptions::new()
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open {} for appending", path.display()))?;
        } else {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            if let Some(dir) = dir
                && !dir.is_dir()
            {
                anyhow::bail!("folder {} is missing", dir.display());
            }
        }
        Ok(())
    }
}

enum Out {
    Stdout(BufWriter<std::io::Stdout>),
    File {
        w: BufWriter<File>,
        path: PathBuf,
        size: u64,
    },
}

pub struct JsonlSink {
    out: Out,
    fsync: Fsync,
    rotate_bytes: u64,
}

fn open_append(path: &Path) -> anyhow::Result<(BufWriter<File>, u64)> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create folder {}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {} for appending", path.display()))?;
    let size = cut_torn_tail(&file).with_context(|| format!("cannot repair the end of {}", path.display()))?;
    Ok((BufWriter::with_capacity(64 * 1024, file), size))
}

/// Cuts a last line without its newline (a crash in the middle of a batch's write) and returns
/// the file's size after. Its records were never acknowledged, so they come again; appending
/// after them would glue the next record to a half line.
fn cut_torn_tail(file: &File) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    let mut reader = file;
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        reader.seek(SeekFrom::Start(start))?;
        reader.read_exact(&mut chunk[..n])?;
        if let Some(i) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            if keep < len {
                file.set_len(keep)?;
            }
            return Ok(keep);
        }
        end = start;
    }
    if len > 0 {
        file.set_len(0)?;
    }
    Ok(0)
}

impl JsonlSink {
    pub fn open(settings: &JsonlSettings) -> anyhow::Result<JsonlSink> {
        let out = match &settings.target {
            JsonlTarget::Stdout => Out::Stdout(BufWriter::with_capacity(64 * 1024, std::io::stdout())),
            JsonlTarget::File(path) => {
                let (w, size) = open_append(path)?;
                Out::File {
                    w,
                    path: path.clone(),
                    size,
                }
            }
        };
        Ok(JsonlSink {
            out,
            fsync: settings.fsync,
            rotate_bytes: settings.rotate_bytes,
        })
    }

    pub fn write(&mut self, items: &[Item<'_>]) -> anyhow::Result<()> {
        let mut buf = Vec::with_capacity(items.len() * 2048);
        for item in items {
            match item {
                Item::Record(r) => serde_json::to_writer(&mut buf, r)?,
                Item::Update(u) => serde_json::to_writer(&mut buf, u)?,
            }
            buf.push(b'\n');
        }
        match &mut self.out {
            Out::Stdout(w) => {
                w.write_all(&buf)
                    .and_then(|()| w.flush())
                    .context("cannot write to stdout")?;
            }
            Out::File { w, path, size } => {
                let place = path.display().to_string();
                w.write_all(&buf)
                    .and_then(|()| w.flush())
                    .with_context(|| format!("cannot write to {place}"))?;
                if self.fsync == Fsync::Batch {
                    w.get_ref()
                        .sync_data()
                        .with_context(|| format!("cannot sync {place}"))?;
                }
                *size += buf.len() as u64;
                if self.rotate_bytes > 0 && *size >= self.rotate_bytes {
                    // Sync before the rename so a crash never leaves a rotated file short.
                    w.get_ref().sync_all().with_context(|| format!("cannot sync {place}"))?;
                    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
                    let rotated = PathBuf::from(format!("{}.{stamp}", path.display()));
                    std::fs::rename(&*path, &rotated)
                        .with_context(|| format!("cannot rotate {place} to {}", rotated.display()))?;
                    let (nw, nsize) = open_append(path)?;
                    *w = nw;
                    *size = nsize;
                }
            }
        }
        Ok(())
    }
}
