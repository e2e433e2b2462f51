//! The TOML configuration: parse → validate, in that order, with every error located.
//!
//! The document is parsed once into toml's spanned tree; each section is deserialized on its own
//! (one serde error per section at most), so a typo in one source does not hide a typo in another.
//! Validation then checks what serde cannot (paths, patterns, ranges) and reports every problem.
//! This module holds only what belongs to no component: the top-level sections (`sections`), the
//! located-error machinery (`located`) and `${VAR}` expansion (`env`). Each source and sink kind
//! owns its raw settings and their validation in its own file; `sources::build` and
//! `sinks::build` pick the kind by its `type` key.
//!
//! Invariant: a `Config` only exists when both steps found nothing wrong; relative paths in it are
//! already resolved against the config file's folder.

mod env;
mod located;
mod sections;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::de::DeTable;

pub use located::{ConfigError, ConfigErrors, Cx};
pub use sections::{
    ApiLimits, DEFAULT_DRAIN_TIMEOUT, DEFAULT_USER_AGENT, FetchSettings, LogSettings, MAX_USER_AGENT, PipelineSettings,
    RawApi, RawFetch, RawFold, RawLog, RawPipeline, RawState, check_user_agent,
};

use crate::sinks::SinkSpec;
use crate::sources::SourceSpec;

/// The exit code for a bad config (EX_CONFIG from sysexits.h).
pub const EXIT_CONFIG: i32 = 78;

/// The sections a config file may have.
const SECTIONS: &str = "`state`, `api`, `log`, `pipeline`, `fold`, `fetch`, `cluster`, `sources`, `sinks`";

#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub state_path: PathBuf,
    /// `[state] decision_log`: whether decisions and refusals are logged for `explain`.
    pub decision_log: bool,
    /// `[api] listen`: where `run` serves /metrics, /healthz, /readyz and the status page.
    pub api_listen: Option<std::net::SocketAddr>,
    /// `[api] token`: the bearer token the API asks for (all but `/healthz`), when set.
    pub api_token: Option<sections::Secret>,
    /// `[api] header_timeout` and `max_connections`.
    pub api_limits: sections::ApiLimits,
    pub log: LogSettings,
    pub pipeline: PipelineSettings,
    pub fold: crate::fold::FoldOptions,
    pub fetch: FetchSettings,
    pub sources: Vec<SourceSpec>,
    pub sinks: Vec<SinkSpec>,
    /// `[cluster]`: this process is a member of a cluster (`cluster::run`).
    pub cluster: Option<crate::cluster::ClusterSettings>,
}

impl Config {
    /// Where sinks write records they reject for good: beside the state store.
    pub fn dead_letter_dir(&self) -> PathBuf {
        self.state_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
            .join("dead-letter")
    }

    pub fn writes_stdout(&self) -> bool {
        self.sinks.iter().any(|s| s.kind.writes_stdout())
    }
}

/// Reads, parses and validates a config file.
pub fn load(file: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.to_path_buf(),
            position: None,
            key: String::new(),
            message: format!("cannot read config: {e}"),
        }])
    })?;
    from_str(&text, file)
}

/// Parses and validates config text as if it were read from `file` (which sets the base folder).
pub fn from_str(text: &str, file: &Path) -> Result<Config, ConfigErrors> {
    let mut cx = Cx::new(file, text);
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            cx.toml_error("", e, 0..0);
            return Err(cx.finish().expect_err("an error was recorded"));
        }
    };
    cx.index_spans("", doc.get_ref());
    let mut state = RawState::default();
    let (mut api, mut log, mut pipeline) = (RawApi::default(), RawLog::default(), RawPipeline::default());
    let (mut fold, mut fetch) = (RawFold::default(), RawFetch::default());
    let (mut sources, mut sinks, mut cluster) = (None, None, None);
    // A section that fails to parse keeps its defaults; its error is already recorded.
    for (k, v) in doc.into_inner() {
        match k.get_ref().as_ref() {
            "state" => state = cx.section("state", v).unwrap_or(state),
            "api" => api = cx.section("api", v).unwrap_or(api),
            "log" => log = cx.section("log", v).unwrap_or(log),
            "pipeline" => pipeline = cx.section("pipeline", v).unwrap_or(pipeline),
            "fold" => fold = cx.section("fold", v).unwrap_or(fold),
            "fetch" => fetch = cx.section("fetch", v).unwrap_or(fetch),
            "cluster" => cluster = cx.section::<crate::cluster::RawCluster>("cluster", v),
            "sources" => sources = Some(v),
            "sinks" => sinks = Some(v),
            other => cx.error_at(
                other,
                k.span(),
                format!("unknown section `{other}`, expected one of {SECTIONS}"),
            ),
        }
    }
    let fetch = sections::fetch(&mut cx, fetch);
    let config = Config {
        file: file.to_path_buf(),
        state_path: cx.resolve(&state.path),
        decision_log: state.decision_log,
        api_listen: sections::api(&mut cx, &api),
        api_token: sections::api_token(&mut cx, &api),
        api_limits: sections::api_limits(&mut cx, &api),
        log: sections::log(&mut cx, log),
        pipeline: sections::pipeline(&mut cx, pipeline),
        fold: sections::fold(&mut cx, fold),
        sources: sources
            .map(|v| crate::sources::build_all(&mut cx, v, &fetch))
            .unwrap_or_default(),
        sinks: sinks.map(|v| crate::sinks::build_all(&mut cx, v)).unwrap_or_default(),
        cluster: cluster.and_then(|raw| crate::cluster::ClusterSettings::build(&mut cx, raw)),
        fetch,
    };
    // An empty list is an error unless its entries are missing because they failed to parse.
    if config.sources.is_empty() && !cx.failed_under("sources") {
        cx.error_at(
            "sources",
            0..0,
            "no sources configured: add at least one [sources.NAME] table",
        );
    }
    if config.sinks.is_empty() && !cx.failed_under("sinks") {
        cx.error_at(
            "sinks",
            0..0,
            "no sinks configured: add at least one [sinks.NAME] table",
        );
    }
    cx.finish().map(|()| config)
}

/// A duration written as "30s", "10m", "1h 30m".
pub fn duration_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("invalid duration {}: {e} (try \"30s\", \"10m\")", preview(&s))))
}

/// A value quoted in a message: in Rust string syntax, cut after 80 characters.
pub fn preview(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        None => format!("{s:?}"),
        Some((end, _)) => format!("{:?}… ({} bytes)", &s[..end], s.len()),
    }
}

/// The language of a source (`lang` key), when one is given.
pub fn source_lang(cx: &mut Cx<'_>, key: &str, lang: Option<&str>) -> Option<crate::model::Lang> {
    let l = lang?;
    let parsed = crate::model::Lang::from_code(l);
    if parsed.is_none() {
        cx.error(
            &format!("{key}.lang"),
            format!(
                "unknown language {}, expected one of {}",
                preview(l),
                crate::model::Lang::expected()
            ),
        );
    }
    parsed
}

/// The errors `check` would print for `text`, with the file shown as `c.toml` (the folder holds
/// an empty `pages/`): for the validation tests beside each component.
#[cfg(test)]
pub(crate) fn test_errors(text: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir(dir.path().join("pages")).expect("a pages folder");
    let file = dir.path().join("c.toml");
    match from_str(text, &file) {
        Ok(_) => Vec::new(),
        Err(e) => {
            e.0.iter()
                .map(|e| e.to_string().replace(&file.display().to_string(), "c.toml"))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        test_errors(text)
    }

    const MINIMAL: &str =
        "[sources.a]\ntype = \"files\"\npath = \"pages\"\n[sinks.o]\ntype = \"jsonl\"\npath = \"-\"\n";

    #[test]
    fn a_minimal_config_loads_with_defaults() {
        assert_eq!(errors(MINIMAL), Vec::<String>::new());
    }

    #[test]
    fn top_level_sections_report_each_key_with_line_and_column() {
        let text = format!(
            "{MINIMAL}[pipeline]\nscrape_workers = 0\nmax_page_bytes = 0\nsink_linger = \"2m\"\n[fold]\nmin_score = 2.0\nprefer_lang = [\"vi\", \"vi\", \"xx\"]\nmax_docs = 0\nwindow = \"0s\"\n[api]\nlisten = \"nowhere\"\n[log]\nlevel = \"[\"\nrepeat_window = \"0s\"\n[fetch]\nmax_concurrency = 0\nmax_redirects = 21\nretries = 11\nmax_body_bytes = 0\ntimeout = \"0s\"\nuser_agent = \"\"\n"
        );
        let e = errors(&text);
        let expect = [
            "c.toml:8:18: pipeline.scrape_workers: must be at least 1",
            "c.toml:9:18: pipeline.max_page_bytes: must be at least 1",
            "c.toml:10:15: pipeline.sink_linger: must be at most 60s",
            "c.toml:12:13: fold.min_score: must be between 0 and 1",
            "c.toml:13:15: fold.prefer_lang: \"vi\" is listed twice",
            "c.toml:13:15: fold.prefer_lang: unknown language \"xx\", expected one of \"vi\", \"fr\", \"en\", \"de\", \"es\", \"pt\", \"it\", \"nl\", \"ms\", \"id\"",
            "c.toml:14:12: fold.max_docs: must be at least 1",
            "c.toml:15:10: fold.window: must be at least one second",
            "c.toml:17:10: api.listen: \"nowhere\" is not an address and port, e.g. \"127.0.0.1:9464\"",
            "c.toml:20:17: log.repeat_window: must be longer than zero",
            "c.toml:22:19: fetch.max_concurrency: must be between 1 and 1024",
            "c.toml:23:17: fetch.max_redirects: must be at most 20",
            "c.toml:24:11: fetch.retries: must be at most 10",
            "c.toml:25:18: fetch.max_body_bytes: must be at least 1",
            "c.toml:26:11: fetch.timeout: must be longer than zero",
            "c.toml:27:14: fetch.user_agent: must be a non-empty header value (printable ASCII)",
        ];
        for want in expect {
            assert!(e.iter().any(|got| got == want), "missing {want:?} in {e:#?}");
        }
        assert!(
            e.iter()
                .any(|got| got.starts_with("c.toml:19:9: log.level: invalid filter")),
            "{e:#?}"
        );
    }

    #[test]
    fn unknown_sections_missing_lists_and_parse_errors_are_located() {
        assert_eq!(
            errors("[colour]\nx = 1\n"),
            vec![
                "c.toml:1:1: sources: no sources configured: add at least one [sources.NAME] table".to_string(),
                "c.toml:1:1: sinks: no sinks configured: add at least one [sinks.NAME] table".to_string(),
                "c.toml:1:2: colour: unknown section `colour`, expected one of `state`, `api`, `log`, `pipeline`, `fold`, `fetch`, `cluster`, `sources`, `sinks`".to_string(),
            ]
        );
        let e = errors("[state\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("c.toml:1:"), "{e:?}");
        let e = errors(&format!("{MINIMAL}[state]\npath = 3\n"));
        assert!(e[0].starts_with("c.toml:8:8: state.path: "), "{e:?}");
    }

    #[test]
    fn a_huge_value_is_not_copied_into_the_error() {
        let ua = "x".repeat(10 * 1024 * 1024);
        let e = errors(&format!("{MINIMAL}[fetch]\nuser_agent = \"{ua}\"\n"));
        assert_eq!(e.len(), 1);
        assert!(e[0].len() < 1000, "{} bytes", e[0].len());
        assert!(
            e[0].contains("fetch.user_agent: is 10485760 bytes; at most 512"),
            "{}",
            &e[0][..200]
        );
        let e = errors(&format!("{MINIMAL}[log]\nlevel = \"{}\"\n", "[".repeat(1_000_000)));
        assert!(e[0].len() < 1000, "{} bytes", e[0].len());
    }

    #[test]
    fn preview_quotes_and_cuts() {
        assert_eq!(preview("ab"), "\"ab\"");
        let long = "é".repeat(100);
        let p = preview(&long);
        assert!(p.ends_with("… (200 bytes)"), "{p}");
        assert_eq!(p.chars().filter(|c| *c == 'é').count(), 80);
    }

    #[test]
    fn a_weak_api_token_is_refused_without_showing_it() {
        let got = test_errors(&format!(
            "{MINIMAL}[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"short-s3cret\"\n"
        ));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("api.token: must be 16 to 512"), "{got:?}");
        assert!(!got[0].contains("short-s3cret"), "{got:?}");
    }
}
