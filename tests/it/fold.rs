//! Fold decisions on the seeds, through the same scrape and fold code the pipeline uses, in every
//! arrival order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use newsfold::fold::{FoldInput, Folder, fingerprint, normalize};
use newsfold::model::{Page, PageFormat, Relation, record_id, short_hash};
use newsfold::scrape::scrape;

use crate::util::seed_files;

fn input(path: &Path, key: &str) -> FoldInput {
    let bytes = std::fs::read(path).unwrap();
    let raw_hash = short_hash(&blake3::hash(&bytes));
    let page = Page {
        source: Arc::from("seeds"),
        key: key.to_string(),
        location: path.display().to_string(),
        format: PageFormat::Text,
        bytes,
        raw_hash: raw_hash.clone(),
        lang_hint: None,
    };
    let a = scrape(&page).unwrap();
    let body = a.body();
    FoldInput {
        record_id: record_id("seeds", key, &raw_hash),
        lang: a.lang,
        content_hash: normalize::content_hash(&body),
        location: page.location,
        original_url: a.original_url,
        features: fingerprint::fingerprint(&body, a.lang),
    }
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn seeds_fold_into_four_stories_in_every_arrival_order() {
    let files: Vec<PathBuf> = seed_files();
    let inputs: Vec<FoldInput> = files
        .iter()
        .map(|f| input(f, &f.file_name().unwrap().to_string_lossy()))
        .collect();
    let orders = permutations(inputs.len());
    assert_eq!(orders.len(), 120);
    for order in orders {
        let mut folder = Folder::new(newsfold::fold::DEFAULT_MIN_SCORE);
        let mut story: BTreeMap<usize, String> = BTreeMap::new();
        let mut relation: BTreeMap<usize, Relation> = BTreeMap::new();
        for &i in &order {
            let (d, _) = folder.fold(inputs[i].clone());
            story.insert(i, d.story_id);
            relation.insert(i, d.relation);
        }
        let distinct: BTreeSet<&String> = story.values().collect();
        assert_eq!(distinct.len(), 4, "order {order:?}");
        assert_eq!(story[&0], story[&1], "000 and 001 share a story in order {order:?}");
        let later = if order.iter().position(|&i| i == 0) < order.iter().position(|&i| i == 1) {
            1
        } else {
            0
        };
        assert_eq!(relation[&later], Relation::Translation, "order {order:?}");
        assert_eq!(relation[&(1 - later)], Relation::Original, "order {order:?}");
        for i in 2..5 {
            assert_eq!(relation[&i], Relation::Original, "seed {i} in order {order:?}");
        }
    }
}

#[test]
fn replaying_a_record_repeats_its_decision() {
    let files = seed_files();
    let mut folder = Folder::new(newsfold::fold::DEFAULT_MIN_SCORE);
    let a = input(&files[0], "a");
    let b = input(&files[1], "b");
    let (_, doc_a) = folder.fold(a.clone());
    let (first, doc_b) = folder.fold(b.clone());
    assert!(doc_a.is_some() && doc_b.is_some());
    let (again, none) = folder.fold(b);
    assert_eq!(first.relation, again.relation);
    assert_eq!(first.story_id, again.story_id);
    assert!(none.is_none(), "a replay indexes nothing new");

    // The same decisions after a restart that replays the persisted documents.
    let mut restored = Folder::new(newsfold::fold::DEFAULT_MIN_SCORE);
    restored.restore(&doc_a.unwrap());
    restored.restore(&doc_b.unwrap());
    let (replayed, _) = restored.fold(input(&files[1], "b"));
    assert_eq!(replayed.story_id, first.story_id);
}
