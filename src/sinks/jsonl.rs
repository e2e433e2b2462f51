//! The JSON Lines sink: one record a line, appended to a file (created with its folder) or written
//! to stdout. A batch is flushed before it is acknowledged.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};

use anyhow::Context;

use super::Item;
use crate::config::{JsonlSettings, JsonlTarget};

pub struct JsonlSink {
    target: String,
    out: BufWriter<Box<dyn Write + Send>>,
}

impl JsonlSink {
    pub fn open(settings: &JsonlSettings) -> anyhow::Result<JsonlSink> {
        let (target, out): (String, Box<dyn Write + Send>) = match &settings.target {
            JsonlTarget::Stdout => ("stdout".to_string(), Box::new(std::io::stdout())),
            JsonlTarget::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).with_context(|| format!("cannot create folder {}", dir.display()))?;
                }
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open {} for appending", path.display()))?;
                (path.display().to_string(), Box::new(file))
            }
        };
        Ok(JsonlSink {
            target,
            out: BufWriter::with_capacity(64 * 1024, out),
        })
    }

    pub fn write(&mut self, items: &[Item<'_>]) -> anyhow::Result<()> {
        for item in items {
            match item {
                Item::Record(r) => serde_json::to_writer(&mut self.out, r),
                Item::Update(u) => serde_json::to_writer(&mut self.out, u),
            }
            .with_context(|| format!("cannot write to {}", self.target))?;
            self.out
                .write_all(b"\n")
                .with_context(|| format!("cannot write to {}", self.target))?;
        }
        self.out
            .flush()
            .with_context(|| format!("cannot write to {}", self.target))
    }
}
