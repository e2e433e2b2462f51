//! `fold-eval`: feeds a labelled set through the same scrape and fold code as the pipeline, in a
//! given or shuffled arrival order, and scores both levels pairwise (precision, recall, F1): the
//! story (same article) and the event (same incident). Recall on cross-lingual pairs is reported on
//! its own since that is the hard part, and so is the number of chained clusters: a predicted story
//! (or event) holding pages of two labelled ones.
//!
//! Labels are JSON Lines `{"id", "path", "lang", "group", "event"}`; `path` is relative to the
//! labels file; `group` is shared by all members of one story; `event` (optional, `group` when
//! absent) by every story that reports the same incident; `lang` is used as the page's declared
//! language (codes newsfold does not detect are kept in the label only).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::Deserialize;

use crate::fold::{FoldInput, FoldOptions, Folder};
use crate::model::{Article, Lang, Page, PageFormat, record_id, short_hash};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub id: String,
    pub path: PathBuf,
    #[serde(default)]
    pub lang: Option<String>,
    pub group: String,
    /// The incident the page reports; stories of one event share it.
    #[serde(default)]
    pub event: Option<String>,
}

impl Label {
    pub fn event(&self) -> &str {
        self.event.as_deref().unwrap_or(&self.group)
    }
}

/// A labelled page, scraped.
#[derive(Debug, Clone)]
pub struct Doc {
    pub label: Label,
    pub lang: Option<Lang>,
    pub input: FoldInput,
    /// Title and body, for naming the features behind a decision.
    text: String,
}

/// Reads and scrapes every labelled page. Errors name the labels file, line and page.
pub fn load(labels: &Path) -> anyhow::Result<Vec<Doc>> {
    let text = std::fs::read_to_string(labels).with_context(|| format!("cannot read {}", labels.display()))?;
    let base = labels.parent().unwrap_or(Path::new("."));
    let mut docs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let label: Label =
            serde_json::from_str(line).with_context(|| format!("{}:{}: bad label", labels.display(), n + 1))?;
        let path = base.join(&label.path);
        let bytes = std::fs::read(&path)
            .with_context(|| format!("{}:{}: cannot read {}", labels.display(), n + 1, path.display()))?;
        let hint = label.lang.as_deref().and_then(Lang::from_code);
        let format = PageFormat::of_path(&path);
        let raw_hash = short_hash(&blake3::hash(&bytes));
        let page = Page {
            source: Arc::from("eval"),
            key: label.id.clone(),
            location: path.display().to_string(),
            format,
            bytes,
            raw_hash: raw_hash.clone(),
            lang_hint: hint,
            charset: None,
            rules: None,
            fetch: None,
        };
        let article: Article = crate::scrape::scrape(&page)
            .map_err(|e| anyhow::anyhow!("{}:{}: cannot scrape {}: {e}", labels.display(), n + 1, path.display()))?;
        let id = record_id("eval", &label.id, &raw_hash);
        // Index times are spread one minute apart so windows behave as in a real feed.
        let input = FoldInput::from_article(
            id,
            page.location,
            &article,
            &article.body(),
            1_700_000_000 + 60 * docs.len() as i64,
        );
        let text = match &article.title {
            Some(t) => format!("{t}\n{}", article.body()),
            None => article.body(),
        };
        docs.push(Doc {
            lang: article.lang,
            label,
            input,
            text,
        });
    }
    Ok(docs)
}

/// Pairwise scores of one run at one level.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    pub documents: usize,
    pub true_pairs: usize,
    pub predicted_pairs: usize,
    pub correct_pairs: usize,
    pub cross_pairs: usize,
    pub cross_found: usize,
    /// Predicted clusters holding pages of two or more labelled ones.
    pub chained: usize,
    /// Pairs put together that belong apart.
    pub false_merges: Vec<(String, String)>,
    /// Pairs that belong together left apart.
    pub missed: Vec<(String, String)>,
}

impl Scores {
    /// Scores a clustering: `truth[i]` and `predicted[i]` are page i's labelled and predicted
    /// cluster.
    pub fn of(docs: &[Doc], truth: &[&str], predicted: &[&str]) -> Scores {
        let mut s = Scores {
            documents: docs.len(),
            ..Scores::default()
        };
        for i in 0..docs.len() {
            for j in (i + 1)..docs.len() {
                let same_true = truth[i] == truth[j];
                let same_pred = predicted[i] == predicted[j];
                let cross = docs[i].lang != docs[j].lang;
                if same_true {
                    s.true_pairs += 1;
                    s.cross_pairs += usize::from(cross);
                }
                s.predicted_pairs += usize::from(same_pred);
                match (same_true, same_pred) {
                    (true, true) => {
                        s.correct_pairs += 1;
                        s.cross_found += usize::from(cross);
                    }
                    (false, true) => s
                        .false_merges
                        .push((docs[i].label.id.clone(), docs[j].label.id.clone())),
                    (true, false) => s.missed.push((docs[i].label.id.clone(), docs[j].label.id.clone())),
                    (false, false) => {}
                }
            }
        }
        let mut clusters: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
        for (p, t) in predicted.iter().zip(truth) {
            clusters.entry(p).or_default().insert(t);
        }
        s.chained = clusters.values().filter(|t| t.len() > 1).count();
        s
    }

    pub fn precision(&self) -> f64 {
        if self.predicted_pairs == 0 {
            1.0
        } else {
            self.correct_pairs as f64 / self.predicted_pairs as f64
        }
    }
    pub fn recall(&self) -> f64 {
        if self.true_pairs == 0 {
            1.0
        } else {
            self.correct_pairs as f64 / self.true_pairs as f64
        }
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
    pub fn cross_recall(&self) -> f64 {
        if self.cross_pairs == 0 {
            1.0
        } else {
            self.cross_found as f64 / self.cross_pairs as f64
        }
    }
}

impl fmt::Display for Scores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "precision {:.3} recall {:.3} f1 {:.3} cross-lingual recall {:.3} chained {} ({}/{} pairs, {} cross-lingual)",
            self.precision(),
            self.recall(),
            self.f1(),
            self.cross_recall(),
            self.chained,
            self.correct_pairs,
            self.true_pairs,
            self.cross_pairs
        )
    }
}

/// Mean and worst of each measure over many runs at one level.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub runs: usize,
    sum: [f64; 4],
    /// Worst precision, recall, F1, cross-lingual recall (each over all runs).
    pub worst: [f64; 4],
    pub chained_sum: usize,
    pub chained_max: usize,
}

impl Summary {
    pub fn add(&mut self, s: &Scores) {
        let v = [s.precision(), s.recall(), s.f1(), s.cross_recall()];
        for (k, value) in v.into_iter().enumerate() {
            self.sum[k] += value;
            self.worst[k] = if self.runs == 0 {
                value
            } else {
                self.worst[k].min(value)
            };
        }
        self.chained_sum += s.chained;
        self.chained_max = self.chained_max.max(s.chained);
        self.runs += 1;
    }

    pub fn mean(&self) -> [f64; 4] {
        let n = self.runs.max(1) as f64;
        self.sum.map(|v| v / n)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.mean();
        let w = self.worst;
        write!(
            f,
            "mean precision {:.3} recall {:.3} f1 {:.3} cross-lingual recall {:.3} chained {:.2}; \
             worst precision {:.3} recall {:.3} f1 {:.3} cross-lingual recall {:.3} chained {}",
            m[0],
            m[1],
            m[2],
            m[3],
            self.chained_sum as f64 / self.runs.max(1) as f64,
            w[0],
            w[1],
            w[2],
            w[3],
            self.chained_max
        )
    }
}

/// One run: both levels, the relations decided, and each wrong join explained.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub story: Scores,
    pub event: Scores,
    pub relations: BTreeMap<&'static str, usize>,
    /// One line per decision that put a page with a page of another labelled story (or event).
    pub wrong: Vec<String>,
}

/// Folds `docs` in `order` with a fresh index and scores the result.
pub fn run(docs: &[Doc], order: &[usize], options: &FoldOptions) -> Run {
    let mut folder = Folder::new(options);
    let mut story: Vec<String> = vec![String::new(); docs.len()];
    let mut event: Vec<String> = vec![String::new(); docs.len()];
    let mut out = Run::default();
    let by_record: BTreeMap<&str, usize> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.input.record_id.as_str(), i))
        .collect();
    // A page's story and event are those it was given, unless a later correction moved it.
    for &i in order {
        let (d, indexed) = folder.fold(docs[i].input.clone());
        // Corrections (merges, splits, event links) move pages already placed.
        for m in &indexed.moved {
            if let Some(&j) = by_record.get(m.record_id.as_str()) {
                story[j] = m.story_id.clone();
                event[j] = m.event_id.clone();
            }
        }
        let canonical = d
            .updates
            .iter()
            .any(|u| matches!(u, crate::model::StoryUpdate::Canonical(_)));
        let rel = if canonical {
            "canonical_change"
        } else {
            d.relation.as_str()
        };
        *out.relations.entry(rel).or_insert(0) += 1;
        for u in &d.updates {
            *out.relations.entry(u.kind()).or_insert(0) += 1;
        }
        let explain = |via: Option<&String>, level: &str, what: &str, score: Option<f32>| {
            let j = *by_record.get(via?.as_str())?;
            let (a, b) = (&docs[i].label, &docs[j].label);
            let wrong = match level {
                "story" => a.group != b.group,
                _ => a.event() != b.event(),
            };
            wrong.then(|| {
                let score = score.map_or(String::new(), |s| format!(" score {s:.3}"));
                format!(
                    "wrong {level} join: {} -> {} ({what}{score}); shared: {}",
                    a.id,
                    b.id,
                    shared_features(&docs[i], &docs[j])
                )
            })
        };
        out.wrong
            .extend(explain(d.duplicate_of.as_ref(), "story", d.relation.as_str(), d.score));
        out.wrong
            .extend(explain(d.event_via.as_ref(), "event", "same event", None));
        story[i] = d.story_id;
        event[i] = d.event_id;
    }
    let truth: Vec<&str> = docs.iter().map(|d| d.label.group.as_str()).collect();
    let truth_events: Vec<&str> = docs.iter().map(|d| d.label.event()).collect();
    let s: Vec<&str> = story.iter().map(String::as_str).collect();
    let e: Vec<&str> = event.iter().map(String::as_str).collect();
    out.story = Scores::of(docs, &truth, &s);
    out.event = Scores::of(docs, &truth_events, &e);
    out
}

/// The features two pages share, named ("code 03/2019/nd-cp, day 10-15, name quang nam").
fn shared_features(a: &Doc, b: &Doc) -> String {
    use crate::fold::fingerprint::explain;
    let fa = explain(&a.text, a.lang).features;
    let fb = explain(&b.text, b.lang).features;
    let mut shared: Vec<String> = fa
        .iter()
        .filter(|f| fb.contains(f))
        .map(|(c, s)| format!("{} {s}", format!("{c:?}").to_lowercase()))
        .collect();
    shared.sort();
    shared.dedup();
    if shared.is_empty() {
        "nothing".into()
    } else {
        shared.join(", ")
    }
}

/// The arrival orders to evaluate: the labels' own order, or `runs` shuffles from `seed`.
pub fn orders(n: usize, shuffle: bool, seed: u64, runs: usize) -> Vec<Vec<usize>> {
    if !shuffle {
        return vec![(0..n).collect()];
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..runs.max(1))
        .map(|_| {
            let mut v: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut v);
            v
        })
        .collect()
}
