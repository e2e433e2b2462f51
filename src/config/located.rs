//! Located errors: every problem in a config file carries its file, line, column and dotted key
//! path, and one run collects all of them. `Cx` is the validation context every component's
//! `build` receives: it records errors (located at the key's value, or its nearest located
//! parent), deserializes one section at a time, expands `${VAR}` and resolves relative paths.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::kinds::Named;

/// Longest message kept in an error; a huge value quoted in a message is cut to this.
const MAX_MESSAGE: usize = 400;

/// One problem in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; absent when the file could not be read at all.
    pub position: Option<(usize, usize)>,
    /// Dotted key path, such as `sources.seeds.glob`; empty for whole-file problems.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in one config file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The validation context: the text (for positions), the spans of every key, the base folder
/// and the errors so far.
pub struct Cx<'t> {
    file: PathBuf,
    text: &'t str,
    base: PathBuf,
    spans: HashMap<String, Range<usize>>,
    errors: Vec<(usize, ConfigError)>,
}

impl<'t> Cx<'t> {
    pub(super) fn new(file: &Path, text: &'t str) -> Cx<'t> {
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        Cx {
            file: file.to_path_buf(),
            text,
            base,
            spans: HashMap::new(),
            errors: Vec::new(),
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    pub(super) fn index_spans(&mut self, prefix: &str, table: &DeTable<'_>) {
        for (k, v) in table.iter() {
            let key = join_key(prefix, k.get_ref());
            self.spans.insert(key.clone(), v.span());
            if let Some(t) = v.get_ref().as_table() {
                self.index_spans(&key, t);
            }
        }
    }

    fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// An error at a span of the text.
    pub fn error_at(&mut self, key: &str, span: Range<usize>, message: impl Into<String>) {
        let position = self.position(span.start);
        self.errors.push((
            span.start,
            ConfigError {
                file: self.file.clone(),
                position: Some(position),
                key: key.to_string(),
                message: shorten(message.into()),
            },
        ));
    }

    /// An error about a key, located at the key's value (or its nearest located parent).
    pub fn error(&mut self, key: &str, message: impl Into<String>) {
        let mut probe = key.to_string();
        let span = loop {
            if let Some(span) = self.spans.get(&probe) {
                break span.clone();
            }
            match probe.rfind('.') {
                Some(i) => probe.truncate(i),
                None => break 0..0,
            }
        };
        self.error_at(key, span, message);
    }

    pub(super) fn toml_error(&mut self, key: &str, e: toml::de::Error, fallback: Range<usize>) {
        let span = e.span().unwrap_or(fallback);
        self.error_at(key, span, e.message().to_string());
    }

    /// Whether an error was recorded at or under `prefix`.
    pub fn failed_under(&self, prefix: &str) -> bool {
        self.errors.iter().any(|(_, e)| e.key.starts_with(prefix))
    }

    pub(super) fn finish(mut self) -> Result<(), ConfigErrors> {
        if self.errors.is_empty() {
            return Ok(());
        }
        self.errors.sort_by_key(|(offset, _)| *offset);
        Err(ConfigErrors(self.errors.into_iter().map(|(_, e)| e).collect()))
    }

    /// Deserializes one section, recording its first error with the full key path.
    pub fn section<T: DeserializeOwned>(&mut self, key: &str, value: Spanned<DeValue<'_>>) -> Option<T> {
        let span = value.span();
        match serde_path_to_error::deserialize::<_, T>(ValueDeserializer::from(value)) {
            Ok(v) => Some(v),
            Err(e) => {
                let inner_path = e.path().to_string();
                let full = if inner_path == "." || inner_path.is_empty() {
                    key.to_string()
                } else {
                    join_key(key, &inner_path)
                };
                self.toml_error(&full, e.into_inner(), span);
                None
            }
        }
    }

    /// A path as written, resolved against the config file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    /// A count that must be at least 1.
    pub fn nonzero(&mut self, key: &str, v: usize) -> NonZeroUsize {
        NonZeroUsize::new(v).unwrap_or_else(|| {
            self.error(key, "must be at least 1");
            NonZeroUsize::MIN
        })
    }

    /// Replaces every `${NAME}` with the environment variable NAME (see `env`).
    pub fn expand_env(&mut self, key: &str, value: &str) -> String {
        match super::env::expand(value) {
            Ok(v) => v,
            Err(errors) => {
                for e in errors {
                    self.error(key, e);
                }
                value.to_string()
            }
        }
    }

    /// `[sources.NAME]` / `[sinks.NAME]`: tables tagged by `type`, each built on its own by
    /// `build`, which receives the table without its `type` key.
    pub fn typed_sections<K: Named, T>(
        &mut self,
        prefix: &str,
        value: Spanned<DeValue<'_>>,
        mut build: impl FnMut(&mut Cx<'t>, &str, K, Spanned<DeValue<'_>>) -> Option<T>,
    ) -> Vec<(String, T)> {
        let mut out = Vec::new();
        let span = value.span();
        let DeValue::Table(table) = value.into_inner() else {
            self.error_at(prefix, span, format!("`{prefix}` must be a table of named tables"));
            return out;
        };
        for (name, v) in table {
            let key = join_key(prefix, name.get_ref());
            let vspan = v.span();
            let DeValue::Table(mut t) = v.into_inner() else {
                self.error_at(&key, vspan, "expected a table");
                continue;
            };
            let kind = match t.remove("type") {
                None => {
                    let expected = K::expected();
                    self.error_at(&key, vspan, format!("missing `type`, expected one of {expected}"));
                    continue;
                }
                Some(tv) => match tv.get_ref().as_str().and_then(K::from_name) {
                    Some(k) => k,
                    None => {
                        let shown = tv
                            .get_ref()
                            .as_str()
                            .map(|s| format!("`{s}`"))
                            .unwrap_or_else(|| "a non-string".into());
                        self.error_at(
                            &format!("{key}.type"),
                            tv.span(),
                            format!(
                                "unknown {} type {shown}, expected one of {}",
                                prefix.trim_end_matches('s'),
                                K::expected()
                            ),
                        );
                        continue;
                    }
                },
            };
            check_id(self, &key, name.get_ref());
            if let Some(built) = build(self, &key, kind, Spanned::new(vspan, DeValue::Table(t))) {
                out.push((name.get_ref().to_string(), built));
            }
        }
        out
    }
}

pub(super) fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn check_id(cx: &mut Cx<'_>, key: &str, id: &str) {
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        cx.error(
            key,
            format!(
                "name {} must be 1 to 64 characters of a-z, 0-9, '_' or '-'",
                crate::config::preview(id)
            ),
        );
    }
}

/// Cuts a message that quotes a huge value, on a character boundary.
fn shorten(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str("… (cut)");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let cx = Cx::new(Path::new("c.toml"), "a = 1\nbé = 2\n");
        assert_eq!(cx.position(0), (1, 1));
        assert_eq!(cx.position(6), (2, 1));
        // "bé" is three bytes: the column counts characters.
        assert_eq!(cx.position(10), (2, 4));
        // An offset inside a character moves back to its start; past the end stays at the end.
        assert_eq!(cx.position(8), (2, 2));
        assert_eq!(cx.position(999), (3, 1));
    }

    #[test]
    fn errors_sort_by_offset_and_long_messages_are_cut() {
        let mut cx = Cx::new(Path::new("c.toml"), "a = 1\nb = 2\n");
        cx.error_at("b", 6..7, "second");
        cx.error_at("a", 0..1, "x".repeat(10_000));
        let errors = cx.finish().unwrap_err();
        assert_eq!(errors.0[0].key, "a");
        assert!(errors.0[0].message.len() < 500, "{}", errors.0[0].message.len());
        assert!(errors.0[0].message.ends_with("(cut)"));
        assert_eq!(errors.0[1].to_string(), "c.toml:2:1: b: second");
    }

    #[test]
    fn an_error_on_an_unlocated_key_takes_its_nearest_parent() {
        let text = "[sources.a]\npath = \"x\"\n";
        let doc = DeTable::parse(text).unwrap();
        let mut cx = Cx::new(Path::new("c.toml"), text);
        cx.index_spans("", doc.get_ref());
        cx.error("sources.a.glob", "bad");
        let errors = cx.finish().unwrap_err();
        assert_eq!(errors.0[0].key, "sources.a.glob");
        assert_eq!(errors.0[0].position.map(|p| p.0), Some(1));
    }
}
