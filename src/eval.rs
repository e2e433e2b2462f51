//! `fold-eval`: feeds a labelled set through the same scrape and fold code as the pipeline, in a
//! given or shuffled arrival order, and scores the same-story relation pairwise (precision, recall,
//! F1), with recall on cross-lingual pairs reported on its own since that is the hard part.
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

/// A labelled page, scraped.
#[derive(Debug, Clone)]
pub struct Doc {
    pub label: Label,
    pub lang: Option<Lang>,
    input: FoldInput,
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
        docs.push(Doc {
            lang: article.lang,
            label,
            input,
        });
    }
    Ok(docs)
}

/// Pairwise scores of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    pub documents: usize,
    pub true_pairs: usize,
    pub predicted_pairs: usize,
    pub correct_pairs: usize,
    pub cross_pairs: usize,
    pub cross_found: usize,
    /// Pairs folded together that belong to different stories.
    pub false_merges: Vec<(String, String)>,
    /// Pairs of one story left apart.
    pub missed: Vec<(String, String)>,
    pub relations: BTreeMap<&'static str, usize>,
}

impl Scores {
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
            "precision {:.3} recall {:.3} f1 {:.3} cross-lingual recall {:.3} ({}/{} pairs, {} cross-lingual)",
            self.precision(),
            self.recall(),
            self.f1(),
            self.cross_recall(),
            self.correct_pairs,
            self.true_pairs,
            self.cross_pairs
        )
    }
}

/// Folds `docs` in `order` with a fresh index and scores the result.
pub fn run(docs: &[Doc], order: &[usize], options: &FoldOptions) -> Scores {
    let mut folder = Folder::new(options);
    let mut story: Vec<String> = vec![String::new(); docs.len()];
    let mut scores = Scores {
        documents: docs.len(),
        ..Scores::default()
    };
    // Story ids can change meaning only through canonical updates, which keep the story id, so the
    // id assigned at fold time is final.
    for &i in order {
        let (d, _) = folder.fold(docs[i].input.clone());
        story[i] = d.story_id;
        let rel = match d.update {
            Some(_) => "canonical_change",
            None => d.relation.as_str(),
        };
        *scores.relations.entry(rel).or_insert(0) += 1;
    }
    for i in 0..docs.len() {
        for j in (i + 1)..docs.len() {
            let same_true = docs[i].label.group == docs[j].label.group;
            let same_pred = story[i] == story[j];
            let cross = docs[i].lang != docs[j].lang;
            if same_true {
                scores.true_pairs += 1;
                if cross {
                    scores.cross_pairs += 1;
                }
            }
            if same_pred {
                scores.predicted_pairs += 1;
            }
            match (same_true, same_pred) {
                (true, true) => {
                    scores.correct_pairs += 1;
                    if cross {
                        scores.cross_found += 1;
                    }
                }
                (false, true) => scores
                    .false_merges
                    .push((docs[i].label.id.clone(), docs[j].label.id.clone())),
                (true, false) => scores.missed.push((docs[i].label.id.clone(), docs[j].label.id.clone())),
                (false, false) => {}
            }
        }
    }
    scores
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
