//! The real binary, end to end: what a user sees from `once`, `run` and `check`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

fn stories(records: &[Value]) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| r["story_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn once_on_the_seeds_writes_five_records_in_four_stories() {
    let ws = Workspace::new();
    ws.add_all_seeds();
    let out = ws.once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let records = ws.records();
    assert_eq!(records.len(), 5);
    for r in &records {
        assert_schema(r);
    }
    assert_eq!(stories(&records).len(), 4);
    let fr = by_location(&records, "000_84b9fce1764ddb48.txt");
    let vi = by_location(&records, "001_cc3f39c8b2a74639.txt");
    assert_eq!(fr["story_id"], vi["story_id"]);
    assert_eq!((fr["lang"].as_str(), vi["lang"].as_str()), (Some("fr"), Some("vi")));
    let (first, second) = original_and_member(fr, vi);
    assert_eq!(first["relation"], "original");
    assert_eq!(second["relation"], "translation");
    assert_eq!(second["duplicate_of"], first["id"]);
    for other in ["002_", "003_", "004_"] {
        let r = records
            .iter()
            .find(|r| r["location"].as_str().unwrap().contains(other))
            .unwrap();
        assert_eq!(r["relation"], "original", "{other}");
        assert_eq!(r["story_id"], r["id"], "{other} founds its own story");
    }
    // The summary goes to stdout; logs are JSON lines on stderr.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("relations: original 4, translation 1"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["pages", "5", "0", "5", "0"]),
        "{stdout}"
    );
    let logs = stderr_lines(&out);
    assert!(
        logs.iter()
            .all(|l| l["timestamp"].is_string() && l["level"].is_string() && l["message"].is_string())
    );
    let finished = logs
        .iter()
        .find(|l| l["message"] == "run finished")
        .expect("run summary logged");
    assert_eq!(finished["level"], "INFO");
    assert_eq!(finished["records"], 5);
    // Nothing per page above DEBUG.
    assert!(!logs.iter().any(|l| l["message"] == "record folded"));
}

#[test]
fn the_readme_default_config_runs_on_the_seeds() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::create_dir_all(dir.path().join("seeds")).unwrap();
    std::fs::copy(
        repo().join("config/newsfold.toml"),
        dir.path().join("config/newsfold.toml"),
    )
    .unwrap();
    for s in seed_files() {
        std::fs::copy(&s, dir.path().join("seeds").join(s.file_name().unwrap())).unwrap();
    }
    // The default config path is relative to the working directory, as in the README.
    let out = newsfold(&["once"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let records = read_records(&dir.path().join("data/records.jsonl"));
    assert_eq!(records.len(), 5);
    assert_eq!(stories(&records).len(), 4);
    assert!(dir.path().join("data/state.sqlite").exists());
}

#[test]
fn a_second_once_emits_nothing() {
    let ws = Workspace::new();
    ws.add_all_seeds();
    assert_eq!(ws.once().status.code(), Some(0));
    let out = ws.once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(ws.records().len(), 5, "nothing is delivered twice");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["pages", "0", "5", "0", "0"]),
        "{stdout}"
    );
}

#[test]
fn a_translation_arriving_after_a_restart_joins_the_story() {
    let ws = Workspace::new();
    ws.add_seed("001_");
    assert_eq!(ws.once().status.code(), Some(0));
    ws.add_seed("000_");
    let out = ws.once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let records = ws.records();
    assert_eq!(records.len(), 2);
    let vi = by_location(&records, "001_cc3f39c8b2a74639.txt");
    let fr = by_location(&records, "000_84b9fce1764ddb48.txt");
    assert_eq!(vi["relation"], "original");
    assert_eq!(fr["relation"], "translation");
    assert_eq!(fr["story_id"], vi["story_id"]);
    assert_eq!(fr["duplicate_of"], vi["id"]);
}

#[test]
fn a_copy_under_another_name_is_a_duplicate() {
    let ws = Workspace::new();
    ws.add_all_seeds();
    ws.add_page("zz_repost.txt", &seed("003_"));
    assert_eq!(ws.once().status.code(), Some(0));
    let records = ws.records();
    assert_eq!(records.len(), 6);
    assert_eq!(stories(&records).len(), 4);
    let (orig, copy) = original_and_member(
        by_location(&records, "003_f24d7a8a9959357c.txt"),
        by_location(&records, "zz_repost.txt"),
    );
    assert_eq!(orig["relation"], "original");
    assert_eq!(copy["relation"], "duplicate");
    assert_eq!(copy["duplicate_of"], orig["id"]);
    assert_eq!(copy["story_id"], orig["story_id"]);
    assert_eq!(copy["content_hash"], orig["content_hash"]);
    assert_ne!(copy["id"], orig["id"]);
}

#[test]
fn record_ids_are_stable_across_workspaces() {
    let ids = || {
        let ws = Workspace::new();
        ws.add_all_seeds();
        assert_eq!(ws.once().status.code(), Some(0));
        ws.records()
            .iter()
            .map(|r| {
                (
                    r["location"].as_str().unwrap().rsplit('/').next().unwrap().to_string(),
                    r["id"].clone(),
                )
            })
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(ids(), ids());
}

#[test]
fn duplicates_drop_writes_one_record_per_story() {
    let ws = Workspace::new();
    ws.write_config_with("", "duplicates = \"drop\"", "");
    ws.add_all_seeds();
    ws.add_page("zz_repost.txt", &seed("003_"));
    let out = ws.once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let records = ws.records();
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| r["relation"] == "original"));
    assert_eq!(stories(&records).len(), 4);
    // Dropped records still count as delivered: a second run has nothing to do.
    ws.once();
    assert_eq!(ws.records().len(), 4);
}

#[test]
fn a_stdout_sink_gets_stdout_and_the_summary_moves_to_stderr() {
    let ws = Workspace::new();
    let text_cfg = "[state]\npath = \"state.sqlite\"\n[sources.pages]\ntype = \"files\"\npath = \"pages\"\n[sinks.out]\ntype = \"jsonl\"\npath = \"-\"\n";
    std::fs::write(ws.config(), text_cfg).unwrap();
    ws.add_all_seeds();
    let out = ws.once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let records: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("stdout is JSON Lines"))
        .collect();
    assert_eq!(records.len(), 5);
    assert!(String::from_utf8_lossy(&out.stderr).contains("relations: original 4, translation 1"));
}

#[test]
fn bad_inputs_are_logged_once_counted_and_lose_nothing_else() {
    let clean = Workspace::new();
    clean.add_all_seeds();
    assert_eq!(clean.once().status.code(), Some(0));
    let bodies = |records: Vec<Value>| {
        records
            .into_iter()
            .map(|r| {
                (
                    r["location"].as_str().unwrap().rsplit('/').next().unwrap().to_string(),
                    r["body"].clone(),
                )
            })
            .collect::<BTreeMap<_, _>>()
    };

    let ws = Workspace::new();
    ws.add_all_seeds();
    let pages = ws.pages();
    std::fs::write(pages.join("empty.txt"), "").unwrap();
    std::fs::write(pages.join("image.txt"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0").unwrap();
    std::fs::write(
        pages.join("latin1.txt"),
        b"Le pr\xe9sident a visit\xe9 la province de Quang Nam hier.",
    )
    .unwrap();
    let huge = std::fs::File::create(pages.join("huge.txt")).unwrap();
    huge.set_len(50 * 1024 * 1024).unwrap();
    std::os::unix::fs::symlink(pages.join("does-not-exist"), pages.join("gone.txt")).unwrap();

    let out = ws.once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        bodies(ws.records()),
        bodies(clean.records()),
        "the good pages are written intact"
    );

    let logs = stderr_lines(&out);
    for (file, kind) in [
        ("empty.txt", "empty"),
        ("image.txt", "binary"),
        ("latin1.txt", "invalid_utf8"),
        ("huge.txt", "too_large"),
        ("gone.txt", "unreadable"),
    ] {
        let lines: Vec<&Value> = logs
            .iter()
            .filter(|l| l["location"].as_str().is_some_and(|loc| loc.ends_with(file)))
            .collect();
        assert_eq!(lines.len(), 1, "{file} is logged exactly once: {lines:?}");
        let l = lines[0];
        assert_eq!(l["level"], "WARN", "{l}");
        assert_eq!(l["kind"], kind, "{l}");
        assert_eq!(l["source"], "pages", "{l}");
        assert!(l["error"].as_str().is_some_and(|e| !e.is_empty()), "{l}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    for kind in ["empty", "binary", "invalid_utf8", "too_large", "unreadable"] {
        assert!(
            stdout.contains(&format!("failed {kind}: 1")),
            "{kind} counted in the summary: {stdout}"
        );
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["pages", "8", "0", "5", "5"]),
        "{stdout}"
    );
}

#[test]
fn a_bad_config_exits_78_and_starts_nothing() {
    let ws = Workspace::new();
    ws.add_all_seeds();
    ws.write_config_with("colour = \"red\"", "duplicates = \"sometimes\"", "");
    let out = ws.once();
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let config = ws.config().display().to_string();
    assert!(
        err.contains(&format!("{config}:7:1: sources.pages.colour: unknown field `colour`")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{config}:12:14: sinks.out.duplicates: unknown variant `sometimes`"
        )),
        "{err}"
    );
    assert!(!ws.path().join("state").exists(), "no state store was created");
    assert!(!ws.path().join("out").exists(), "no sink was opened");

    let out = ws.newsfold(&["check", "--config", &config]);
    assert_eq!(out.status.code(), Some(78));
    ws.write_config("");
    let out = ws.newsfold(&["check", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!ws.path().join("state").exists(), "check starts nothing");
}

#[test]
fn check_accepts_the_shipped_configs() {
    for cfg in ["config/newsfold.toml", "config/example.toml"] {
        // The example reads its webhook secret and API token from the environment, as users
        // should.
        let out = Command::new(env!("CARGO_BIN_EXE_newsfold"))
            .args(["check", "--config", cfg])
            .current_dir(repo())
            .env("NEWSFOLD_HOOK_SECRET", "not-a-real-secret")
            .env("NEWSFOLD_API_TOKEN", "not-a-real-api-token")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{cfg}: {}", text(&out));
    }
}

#[test]
fn debug_logs_carry_per_page_fields() {
    let ws = Workspace::new();
    ws.add_all_seeds();
    let config = ws.config().display().to_string();
    let out = ws.newsfold(&["--log-level", "debug", "once", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let logs = stderr_lines(&out);
    let folded: Vec<&Value> = logs.iter().filter(|l| l["message"] == "record folded").collect();
    assert_eq!(folded.len(), 5);
    for l in folded {
        assert_eq!(l["level"], "DEBUG");
        for field in [
            "stage",
            "source",
            "location",
            "record_id",
            "story_id",
            "relation",
            "elapsed_ms",
        ] {
            assert!(!l[field].is_null(), "{field} missing in {l}");
        }
    }
    let pretty = ws.newsfold(&["--log-format", "pretty", "once", "--config", &config]);
    assert_eq!(pretty.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&pretty.stderr)
            .lines()
            .any(|l| l.contains("run finished") && !l.starts_with('{'))
    );
}

#[test]
fn run_picks_up_new_files_and_drains_on_sigterm() {
    let ws = Workspace::new();
    ws.write_config_with("interval = \"200ms\"", "", "");
    ws.add_all_seeds();
    let config = ws.config().display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_newsfold"))
        .args(["run", "--config", &config])
        .current_dir(ws.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the seeds", Duration::from_secs(30), || ws.records().len() == 5);
    ws.add_page("zz_repost.txt", &seed("002_"));
    wait_for("the new file", Duration::from_secs(30), || ws.records().len() == 6);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "daemon did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    assert_eq!(exit.code(), Some(0), "{}", text(&out));
    let logs = stderr_lines(&out);
    assert!(logs.iter().any(|l| {
        l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutdown requested"))
    }));
    let finished = logs
        .iter()
        .find(|l| l["message"] == "run finished")
        .expect("summary logged");
    assert_eq!(finished["records"], 6);
    assert_eq!(by_location(&ws.records(), "zz_repost.txt")["relation"], "duplicate");
    // Everything delivered was marked done: a `once` afterwards has nothing new.
    ws.once();
    assert_eq!(ws.records().len(), 6);
}

#[test]
fn a_preferred_original_arriving_later_sends_a_story_update() {
    let ws = Workspace::new();
    ws.write_config_with("", "", "[fold]\nprefer_lang = [\"vi\"]\n");
    ws.add_seed("000_");
    assert_eq!(ws.once().status.code(), Some(0));
    ws.add_seed("001_");
    let out = ws.once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines = ws.records();
    assert_eq!(lines.len(), 3, "two records and one story update");
    for l in &lines {
        assert_schema(l);
    }
    let (fr, vi, update) = (&lines[0], &lines[1], &lines[2]);
    assert_eq!(fr["relation"], "original");
    assert_eq!(
        vi["relation"], "original",
        "the Vietnamese page is the story's canonical member now"
    );
    assert_eq!(vi["story_id"], fr["story_id"]);
    assert_eq!(update["type"], "story_update");
    assert_eq!(update["story_id"], fr["story_id"]);
    assert_eq!(update["canonical"], vi["id"]);
    assert_eq!(update["record_id"], fr["id"]);
    assert_eq!(update["relation"], "translation");
}

/// Issue 15: `explain` shows each seed's path from file to record, why the translation pair is one
/// story, and `once --explain-failures` writes every refused input of the run.
#[test]
fn explain_shows_each_seed_from_file_to_record_and_why_the_pair_joined() {
    let ws = Workspace::new();
    ws.write_config("");
    ws.add_all_seeds();
    std::fs::write(ws.pages().join("empty.txt"), "  \n").unwrap();
    let failures = ws.path().join("refused.jsonl");
    let config = ws.config().display().to_string();
    let out = ws.newsfold(&[
        "once",
        "--config",
        &config,
        "--explain-failures",
        failures.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let records = ws.records();
    for r in &records {
        let location = r["location"].as_str().unwrap();
        let out = ws.newsfold(&["explain", "--config", &config, location]);
        assert!(out.status.success(), "{}", text(&out));
        let shown = String::from_utf8_lossy(&out.stdout);
        for line in [
            "found      source pages",
            "decoded    UTF-8",
            "language   ",
            "record     ",
            "story      ",
            "delivered  every sink acknowledged it",
            "             sink out at 20",
        ] {
            assert!(shown.contains(line), "{line:?} missing in\n{shown}");
        }
        assert!(
            shown.contains(r["id"].as_str().unwrap()) && shown.contains(r["story_id"].as_str().unwrap()),
            "{shown}"
        );
        let json = ws.newsfold(&["explain", "--json", "--config", &config, r["id"].as_str().unwrap()]);
        let entry: Value = serde_json::from_slice(&json.stdout).expect("one JSON entry");
        crate::util::assert_decision_schema(&entry);
        assert_eq!(entry["fold"]["relation"], r["relation"]);
    }
    let (fr, vi) = (
        by_location(&records, "000_84b9fce1764ddb48.txt"),
        by_location(&records, "001_cc3f39c8b2a74639.txt"),
    );
    let against = ws.newsfold(&[
        "explain",
        "--config",
        &config,
        fr["location"].as_str().unwrap(),
        "--against",
        vi["id"].as_str().unwrap(),
    ]);
    assert!(against.status.success(), "{}", text(&against));
    let why = String::from_utf8_lossy(&against.stdout);
    assert!(
        why.contains("one story:") && why.contains("translation with score"),
        "{why}"
    );
    assert!(
        why.contains("code 03/2019/nd-cp") && why.contains("62000"),
        "the shared facts are named: {why}"
    );
    // Replayed as it is, the page is decided as it was; changed, the replay says what differs.
    let fr_location = fr["location"].as_str().unwrap();
    let replay = ws.newsfold(&["explain", "--config", &config, fr_location, "--replay"]);
    assert!(
        String::from_utf8_lossy(&replay.stdout).contains("same as decided:"),
        "{}",
        text(&replay)
    );
    std::fs::copy(seed("002_"), fr_location).unwrap();
    let replay = ws.newsfold(&["explain", "--config", &config, fr_location, "--replay"]);
    let replayed = String::from_utf8_lossy(&replay.stdout);
    assert!(
        replayed.contains("(the page changed)") && replayed.contains("  story      was "),
        "{}",
        text(&replay)
    );
    // Two unrelated seeds: two stories, and it says so.
    let other = by_location(&records, "002_49a239071d57bda4.txt");
    let apart = ws.newsfold(&[
        "explain",
        "--config",
        &config,
        other["id"].as_str().unwrap(),
        "--against",
        vi["id"].as_str().unwrap(),
    ]);
    assert!(
        String::from_utf8_lossy(&apart.stdout).contains("two stories"),
        "{}",
        text(&apart)
    );
    // The refused input, explained after the run and through `explain`.
    let refused: Vec<Value> = std::fs::read_to_string(&failures)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    crate::util::assert_decision_schema(&refused[0]);
    assert_eq!(refused[0]["refused"]["kind"], "empty");
    assert_eq!(refused[0]["refused"]["stage"], "scrape");
    let why = ws.newsfold(&["explain", "--config", &config, "empty.txt"]);
    assert!(
        String::from_utf8_lossy(&why.stdout).contains("refused    at scrape: empty page (empty)"),
        "{}",
        text(&why)
    );
    let unknown = ws.newsfold(&["explain", "--config", &config, "never-read.html"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown).contains("nothing about never-read.html in the decision log"),
        "{}",
        text(&unknown)
    );
}

/// `[state] decision_log = false`: the run finishes as usual and keeps nothing to explain.
#[test]
fn without_the_decision_log_a_run_finishes_and_explains_nothing() {
    let ws = Workspace::new();
    ws.write_config("");
    let config = ws.config();
    let text_of = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text_of.replace("[state]\n", "[state]\ndecision_log = false\n")).unwrap();
    ws.add_seed("000");
    std::fs::write(ws.pages().join("empty.txt"), "  \n").unwrap();
    let out = ws.once();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(ws.records().len(), 1);
    let why = ws.newsfold(&["explain", "--config", config.to_str().unwrap(), "empty.txt"]);
    assert_eq!(why.status.code(), Some(1), "{}", text(&why));
}

#[test]
fn fold_eval_verbose_names_missed_story_and_event_pairs_once() {
    let dir = tempfile::tempdir().unwrap();
    let pages = [
        (
            "a",
            "Sáng 3/2, tỉnh Tuyên Quang kết nạp 1.726 đảng viên mới, thu ngân sách 3.865 tỷ đồng.",
        ),
        (
            "b",
            "Ngày 8/11, Gia Lai xuất khẩu 152.300 tấn cà phê, trị giá 712,4 triệu USD.",
        ),
        (
            "c",
            "Chiều 20/6, Bắc Giang tiêu thụ 112.400 tấn vải thiều, đạt 61,3% sản lượng.",
        ),
    ];
    for (id, text) in pages {
        std::fs::write(dir.path().join(format!("{id}.txt")), text).unwrap();
    }
    // a and b are labelled one story (they are not), c another story of their event.
    let labels = r#"{"id": "a", "path": "a.txt", "lang": "vi", "group": "s1", "event": "e1"}
{"id": "b", "path": "b.txt", "lang": "vi", "group": "s1", "event": "e1"}
{"id": "c", "path": "c.txt", "lang": "vi", "group": "s2", "event": "e1"}
"#;
    std::fs::write(dir.path().join("labels.jsonl"), labels).unwrap();
    let out = newsfold(&["fold-eval", "--labels", "labels.jsonl", "--verbose"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("missed")).collect();
    assert_eq!(
        lines,
        [
            "  missed story pair: a + b",
            "  missed event pair: a + c",
            "  missed event pair: b + c"
        ],
        "{text}"
    );
}
