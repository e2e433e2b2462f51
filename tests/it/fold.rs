//! Fold decisions on the seeds, through the same scrape and fold code the pipeline uses, in every
//! arrival order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use newsfold::fold::{FoldInput, FoldOptions, Folder};
use newsfold::model::{Lang, Page, PageFormat, Relation, record_id, short_hash};
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
        charset: None,
        rules: None,
        fetch: None,
    };
    let a = scrape(&page).unwrap();
    FoldInput::from_article(
        record_id("seeds", key, &raw_hash),
        page.location,
        &a,
        &a.body(),
        1_700_000_000,
    )
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
        let mut folder = Folder::new(&FoldOptions::default());
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
    let mut folder = Folder::new(&FoldOptions::default());
    let a = input(&files[0], "a");
    let b = input(&files[1], "b");
    let (_, doc_a) = folder.fold(a.clone());
    let (first, doc_b) = folder.fold(b.clone());
    let (doc_a, doc_b) = (doc_a.doc, doc_b.doc);
    assert!(doc_a.is_some() && doc_b.is_some());
    let (again, none) = folder.fold(b);
    assert_eq!(first.relation, again.relation);
    assert_eq!(first.story_id, again.story_id);
    assert!(none.doc.is_none(), "a replay indexes nothing new");

    // The same decisions after a restart that replays the persisted documents.
    let mut restored = Folder::new(&FoldOptions::default());
    restored.restore(&doc_a.unwrap());
    restored.restore(&doc_b.unwrap());
    let (replayed, _) = restored.fold(input(&files[1], "b"));
    assert_eq!(replayed.story_id, first.story_id);
}

/// The second dev set (`tests/fold-dev/README.md`): every page scrapes, and it has the shape the
/// fold's goals are measured on. Its scores are reported by `fold-eval`, not asserted here yet.
#[test]
fn the_second_dev_set_loads_with_both_levels_labelled() {
    use std::collections::{BTreeMap, BTreeSet};
    let docs = newsfold::eval::load(&crate::util::repo().join("tests/fold-dev/labels-v2.jsonl")).unwrap();
    assert!(docs.len() >= 150, "{} pages", docs.len());
    let mut stories: BTreeMap<&str, usize> = BTreeMap::new();
    let mut events: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for d in &docs {
        *stories.entry(&d.label.group).or_default() += 1;
        let event = d.label.event.as_deref().unwrap_or(&d.label.group);
        events.entry(event).or_default().insert(&d.label.group);
    }
    assert!(stories.values().filter(|n| **n >= 2).count() >= 40);
    assert!(events.values().filter(|g| g.len() >= 2).count() >= 15);
    // A story never spans two events.
    for group in stories.keys() {
        let in_events = events.values().filter(|g| g.contains(group)).count();
        assert_eq!(in_events, 1, "story {group} is labelled with {in_events} events");
    }
}

#[test]
fn the_dev_set_scores_in_every_tested_order() {
    let docs = newsfold::eval::load(&crate::util::repo().join("tests/fold-dev/labels.jsonl")).unwrap();
    assert!(docs.len() >= 20);
    let mut orders = newsfold::eval::orders(docs.len(), false, 0, 1);
    orders.extend(newsfold::eval::orders(docs.len(), true, 11, 30));
    for order in &orders {
        let s = newsfold::eval::run(&docs, order, &FoldOptions::default()).story;
        assert!(
            s.precision() >= 0.97,
            "precision in order {order:?}: {s} {:?}",
            s.false_merges
        );
        assert!(
            s.cross_recall() >= 0.90,
            "cross-lingual recall in order {order:?}: {s} {:?}",
            s.missed
        );
        assert!(s.recall() >= 0.90, "recall in order {order:?}: {s} {:?}", s.missed);
    }
}

#[test]
fn a_truncated_copy_and_a_repost_are_near_duplicates() {
    let dir = crate::util::repo().join("tests/fold-dev/pages");
    let mut folder = Folder::new(&FoldOptions::default());
    let (orig, _) = folder.fold(input(&dir.join("000_84b9fce1764ddb48.txt"), "000"));
    let (trunc, _) = folder.fold(input(&dir.join("qn03_2024_fr_truncated.txt"), "trunc"));
    assert_eq!(trunc.relation, Relation::NearDuplicate);
    assert_eq!(trunc.story_id, orig.story_id);
    let (vi, vi_indexed) = folder.fold(input(&dir.join("001_cc3f39c8b2a74639.txt"), "001"));
    assert_eq!(vi.relation, Relation::Translation);
    let vi_id = vi_indexed.doc.unwrap().record_id;
    // A Vietnamese re-post of the Vietnamese member stands as a translation against the story's
    // canonical (French) member, and names the page it copies.
    let (repost, _) = folder.fold(input(&dir.join("qn03_2024_vi_repost.txt"), "repost"));
    assert_eq!(repost.relation, Relation::Translation);
    assert_eq!(repost.story_id, orig.story_id);
    assert_eq!(repost.duplicate_of.as_deref(), Some(vi_id.as_str()));
}

#[test]
fn template_stories_of_other_events_do_not_fold() {
    let dir = crate::util::repo().join("tests/fold-dev/pages");
    // Each pair: a story and another event built on the same template (same officials, other
    // year or day), in the order most likely to mislead: the wrong partner arrives alone first.
    for (first, second) in [
        ("001_cc3f39c8b2a74639.txt", "qn03_2025_fr.txt"),
        ("emul7_2023_vi.txt", "004_048c5b5461a89002.txt"),
        ("hg_drugs_a_vi.txt", "hg_drugs_b_fr.txt"),
        ("lc_accident_other_vi.txt", "lc_accident_fr.txt"),
    ] {
        let mut folder = Folder::new(&FoldOptions::default());
        let (a, _) = folder.fold(input(&dir.join(first), "a"));
        let (b, _) = folder.fold(input(&dir.join(second), "b"));
        assert_ne!(a.story_id, b.story_id, "{first} and {second} are different events");
        assert_eq!(b.relation, Relation::Original);
    }
}

#[test]
fn a_preferred_language_arriving_later_becomes_canonical() {
    let files = seed_files();
    let options = FoldOptions {
        prefer_lang: vec![Lang::Vi],
        ..FoldOptions::default()
    };
    let mut folder = Folder::new(&options);
    let (fr, _) = folder.fold(input(&files[0], "000"));
    assert_eq!(fr.relation, Relation::Original);
    let (vi, _) = folder.fold(input(&files[1], "001"));
    assert_eq!(
        vi.relation,
        Relation::Original,
        "the Vietnamese original is now canonical"
    );
    assert_eq!(vi.story_id, fr.story_id, "the story keeps its id");
    let [newsfold::model::StoryUpdate::Canonical(update)] = vi.updates.as_slice() else {
        panic!("one canonical change: {:?}", vi.updates)
    };
    assert_eq!(update.story_id, fr.story_id);
    assert_eq!(
        update.canonical,
        record_id(
            "seeds",
            "001",
            &short_hash(&blake3::hash(&std::fs::read(&files[1]).unwrap()))
        )
    );
    assert_eq!(update.record_id, fr.story_id, "the French record was canonical");
    assert_eq!(update.relation, Relation::Translation);
    // A second French copy changes nothing.
    let (copy, _) = folder.fold(input(&files[0], "000-copy"));
    assert_eq!(copy.relation, Relation::Duplicate);
    assert!(copy.updates.is_empty());
}

#[test]
fn the_index_evicts_the_oldest_beyond_its_limits() {
    let files = seed_files();
    let options = FoldOptions {
        limits: newsfold::fold::index::Limits {
            max_docs: 2,
            window_secs: 0,
        },
        ..FoldOptions::default()
    };
    let mut folder = Folder::new(&options);
    let (_, a) = folder.fold(input(&files[2], "002"));
    folder.fold(input(&files[3], "003"));
    let (_, c) = folder.fold(input(&files[4], "004"));
    assert_eq!(folder.len(), 2);
    assert_eq!(c.evicted, vec![a.doc.unwrap().record_id], "the oldest left");
    // The evicted page is new again: a copy of it founds a story instead of duplicating.
    let (again, _) = folder.fold(input(&files[2], "002-copy"));
    assert_eq!(again.relation, Relation::Original);

    let windowed = FoldOptions {
        limits: newsfold::fold::index::Limits {
            max_docs: 100,
            window_secs: 3600,
        },
        ..FoldOptions::default()
    };
    let mut folder = Folder::new(&windowed);
    let mut old = input(&files[2], "old");
    old.at = 1_000_000;
    folder.fold(old);
    let mut new = input(&files[3], "new");
    new.at = 1_000_000 + 7200;
    let (_, r) = folder.fold(new);
    assert_eq!(r.evicted.len(), 1, "a document older than the window left");
    assert_eq!(folder.len(), 1);
}

/// The second dev set (`tests/fold-dev/README.md`) meets the fold's goals in every one of many
/// shuffled orders, at both levels, with no chained story.
#[test]
fn the_second_dev_set_meets_the_goals_in_shuffled_orders() {
    let docs = newsfold::eval::load(&crate::util::repo().join("tests/fold-dev/labels-v2.jsonl")).unwrap();
    for order in newsfold::eval::orders(docs.len(), true, 3, 24) {
        let r = newsfold::eval::run(&docs, &order, &FoldOptions::default());
        let (s, e) = (&r.story, &r.event);
        let why = || format!("story {s}\nevent {e}\n{}", r.wrong.join("\n"));
        assert!(s.precision() >= 0.97 && s.chained == 0, "{}", why());
        assert!(s.recall() >= 0.90 && s.cross_recall() >= 0.90, "{}", why());
        assert!(e.precision() >= 0.95 && e.recall() >= 0.80, "{}", why());
    }
}

/// A page folded from text, in `lang`, at a location of its own.
fn page(key: &str, lang: Lang, title: &str, body: &str) -> FoldInput {
    let article = newsfold::model::Article {
        title: Some(title.to_string()),
        paragraphs: body.split("\n\n").map(str::to_string).collect(),
        lang: Some(lang),
        ..Default::default()
    };
    FoldInput::from_article(
        format!("{:032x}", newsfold::fold::index::hash_str(key)),
        format!("https://example.vn/{key}"),
        &article,
        &article.body(),
        1_700_000_000,
    )
}

#[test]
fn a_page_naming_pages_of_two_stories_merges_them() {
    let mut folder = Folder::new(&FoldOptions::default());
    let (a, _) = folder.fold(page(
        "vi",
        Lang::Vi,
        "Lạng Sơn bắt giữ 2 đối tượng",
        "Sáng 15/10, Công an tỉnh Lạng Sơn bắt 2 đối tượng vận chuyển 1.250 viên ma túy.",
    ));
    // A page the fingerprint cannot tie to it (a script it does not read).
    let mut ja = page("ja", Lang::Vi, "ランソン省", "ランソン省警察は麻薬を押収した。");
    ja.lang = None;
    let (b, _) = folder.fold(ja);
    assert_ne!(a.story_id, b.story_id);
    // A French page names both as its versions.
    let mut fr = page(
        "fr",
        Lang::Fr,
        "Lang Son",
        "Le matin du 15 octobre, la police de Lang Son a arrêté 2 suspects.",
    );
    fr.original_url = Some("https://example.vn/vi".into());
    fr.alternates = vec!["https://example.vn/ja".into()];
    let (c, indexed) = folder.fold(fr);
    assert_eq!(c.story_id, a.story_id, "direct evidence joins the first story");
    let [newsfold::model::StoryUpdate::StoryMerge(m)] = c.updates.as_slice() else {
        panic!("one merge: {:?}", c.updates)
    };
    assert_eq!(
        (m.story_id.as_str(), m.merged_story_id.as_str()),
        (a.story_id.as_str(), b.story_id.as_str())
    );
    assert_eq!(m.members.len(), 1);
    assert_eq!(m.members[0].relation, Relation::Translation);
    assert_eq!(indexed.moved.len(), 1, "the moved page's persisted row is rewritten");
    assert_eq!(indexed.moved[0].story_id, a.story_id);
    // A copy of the Japanese page now lands in the merged story.
    let mut again = page("ja-copy", Lang::Vi, "ランソン省", "ランソン省警察は麻薬を押収した。");
    again.lang = None;
    let (d, _) = folder.fold(again);
    assert_eq!(d.story_id, a.story_id);
}

#[test]
fn a_page_that_is_one_members_article_and_contradicts_another_splits_their_story() {
    // Two district meetings on one template; a re-post carrying only the template's paragraph
    // joins the first meeting's story, though it was cut from the second's article.
    let template = "Hội nghị đánh giá kết quả 5 năm thực hiện Nghị định 03/2019/NĐ-CP của Chính phủ về phối hợp giữa Bộ Công an và Bộ Quốc phòng trong bảo đảm an ninh quốc gia, trật tự an toàn xã hội và đấu tranh phòng, chống tội phạm. Các đại biểu thống nhất tiếp tục duy trì chế độ giao ban định kỳ, trao đổi thông tin và tuần tra kiểm soát chung tại khu vực biên giới, ven biển.";
    let mut folder = Folder::new(&FoldOptions::default());
    let (a, _) = folder.fold(page(
        "nui-thanh",
        Lang::Vi,
        "Núi Thành sơ kết 5 năm Nghị định 03",
        &format!("Chiều 15/10, Công an huyện Núi Thành phối hợp Ban Chỉ huy Quân sự huyện tổ chức hội nghị.\n\n{template}\n\nTrong 5 năm, hai lực lượng đã tổ chức 146 đợt tuần tra chung, phát hiện 37 vụ vi phạm, bắt giữ 52 đối tượng."),
    ));
    let (b, _) = folder.fold(page("repost", Lang::Vi, "Sơ kết Nghị định 03", template));
    assert_eq!(b.story_id, a.story_id, "the re-post first joins the story it matches");
    // The second meeting's own article: the re-post's text and another day and other counts.
    let (c, indexed) = folder.fold(page(
        "tien-phuoc",
        Lang::Vi,
        "Tiên Phước sơ kết 5 năm Nghị định 03",
        &format!("Sáng 20/10, Công an huyện Tiên Phước phối hợp Ban Chỉ huy Quân sự huyện tổ chức hội nghị.\n\n{template}\n\nTrong 5 năm, hai lực lượng đã tổ chức 88 đợt tuần tra, phát hiện 21 vụ, bắt 29 đối tượng."),
    ));
    let repost = page("repost", Lang::Vi, "", "").record_id;
    assert_eq!(
        c.story_id, repost,
        "the article joins the re-post in a story of their own"
    );
    assert_eq!(c.event_id, repost);
    assert_eq!(c.relation, Relation::NearDuplicate);
    assert_eq!(c.duplicate_of.as_deref(), Some(repost.as_str()));
    let [newsfold::model::StoryUpdate::StorySplit(u)] = c.updates.as_slice() else {
        panic!("one split: {:?}", c.updates)
    };
    assert_eq!(
        (u.story_id.as_str(), u.split_from.as_str()),
        (repost.as_str(), a.story_id.as_str())
    );
    assert_eq!(u.members.len(), 1);
    assert_eq!(u.members[0].record_id, repost);
    assert_eq!(
        (u.members[0].relation, u.members[0].duplicate_of.as_deref()),
        (Relation::Original, None)
    );
    assert_eq!(indexed.moved.len(), 1, "the moved page's persisted row is rewritten");
    assert_eq!(
        (indexed.moved[0].story_id.as_str(), indexed.moved[0].relation),
        (repost.as_str(), Relation::Original)
    );
    // The first meeting's story goes on: a copy of its article still joins it.
    let (d, _) = folder.fold(page(
        "nui-thanh-copy",
        Lang::Vi,
        "Núi Thành sơ kết 5 năm Nghị định 03",
        &format!("Chiều 15/10, Công an huyện Núi Thành phối hợp Ban Chỉ huy Quân sự huyện tổ chức hội nghị.\n\n{template}\n\nTrong 5 năm, hai lực lượng đã tổ chức 146 đợt tuần tra chung, phát hiện 37 vụ vi phạm, bắt giữ 52 đối tượng. Tin: Minh Anh."),
    ));
    assert_eq!(d.story_id, a.story_id);
}

#[test]
fn a_page_sharing_the_facts_of_two_write_ups_links_their_events() {
    let mut folder = Folder::new(&FoldOptions::default());
    let (x, _) = folder.fold(page(
        "x",
        Lang::Vi,
        "Lạng Sơn: thu giữ ma túy tại Cao Lộc",
        "Sáng 15/10, Công an tỉnh Lạng Sơn bắt giữ đối tượng, thu 1.250 viên ma túy tổng hợp và 3.400 gam heroin tại huyện Cao Lộc.",
    ));
    let (y, _) = folder.fold(page(
        "y",
        Lang::Fr,
        "Lang Son : saisie à Dong Dang",
        "Le 15 octobre, la police de Lang Son a saisi 5 600 comprimés et 7 700 dollars en espèces lors d'un contrôle à Dong Dang.",
    ));
    assert_ne!(x.event_id, y.event_id, "one shared day is not one event");
    let (p, indexed) = folder.fold(page(
        "p",
        Lang::Vi,
        "Triệt phá đường dây ma túy lớn ở Lạng Sơn",
        "Ngày 15/10, lực lượng chức năng Lạng Sơn triệt phá đường dây, thu 1.250 viên ma túy, 3.400 gam heroin, 5.600 viên thuốc lắc và 7.700 USD.\n\nNgoài ra còn thu 42 điện thoại, 980 triệu đồng và 2.350 lít xăng; vụ án do Phòng Cảnh sát điều tra thụ lý.",
    ));
    assert_eq!(
        p.relation,
        Relation::Original,
        "another outlet's write-up is its own story"
    );
    assert!(p.event_id == x.event_id || p.event_id == y.event_id, "{p:?}");
    let links: Vec<_> = p
        .updates
        .iter()
        .filter_map(|u| match u {
            newsfold::model::StoryUpdate::EventLink(l) => Some(l),
            _ => None,
        })
        .collect();
    assert_eq!(links.len(), 1, "{:?}", p.updates);
    assert_eq!(links[0].event_id, p.event_id);
    assert!(!indexed.moved.is_empty());
    assert!(indexed.moved.iter().all(|m| m.event_id == p.event_id));
}

#[test]
fn the_first_pages_of_a_template_do_not_fold_together() {
    // Three reviews of one decree in three provinces, arriving first into an empty index: they
    // share the decree's code and date, the ministry and the wording, not their meetings' facts.
    let reviews = [
        ("a", "Lạng Sơn", "15/10", "1.240", "312"),
        ("b", "Cao Bằng", "18/10", "2.015", "428"),
        ("c", "Tuyên Quang", "22/10", "965", "187"),
    ];
    let mut folder = Folder::new(&FoldOptions::default());
    let mut stories = BTreeSet::new();
    for (key, province, day, cases, people) in reviews {
        let (d, _) = folder.fold(page(
            key,
            Lang::Vi,
            &format!("{province} sơ kết 5 năm thực hiện Nghị định 03/2019/NĐ-CP"),
            &format!(
                "Chiều {day}, Công an tỉnh {province} tổ chức hội nghị sơ kết 5 năm thực hiện Nghị định 03/2019/NĐ-CP ngày 5/9/2019 của Chính phủ về phối hợp giữa Bộ Công an và Bộ Quốc phòng.\n\nTrong 5 năm, lực lượng hai bên đã phối hợp giải quyết {cases} vụ việc, bắt giữ {people} đối tượng."
            ),
        ));
        stories.insert(d.story_id);
    }
    assert_eq!(stories.len(), 3);
}

#[test]
fn pages_in_languages_not_known_join_their_originals_by_their_facts() {
    // Japanese, Arabic and Chinese renderings in the dev set: no language newsfold detects, no
    // name it can read, only numbers (with East Asian units), dates and codes.
    let docs = newsfold::eval::load(&crate::util::repo().join("tests/fold-dev/labels-v2.jsonl")).unwrap();
    let mut folder = Folder::new(&FoldOptions::default());
    let mut story: BTreeMap<String, String> = BTreeMap::new();
    for d in &docs {
        let (decision, _) = folder.fold(d.input.clone());
        story.insert(d.label.id.clone(), decision.story_id);
    }
    for (rendering, original) in [
        ("a_thanhhoa_dengue_2023_ja", "a_thanhhoa_dengue_2023_vi"),
        ("a_angiang_riceexport_2024_ar", "a_angiang_riceexport_2024_vi"),
        ("a_laocai_tourism_2024_zh", "a_laocai_tourism_2024_vi"),
    ] {
        let lang = docs.iter().find(|d| d.label.id == rendering).map(|d| d.lang);
        assert_eq!(lang, Some(None), "{rendering} is in a language newsfold does not know");
        assert_eq!(story[rendering], story[original], "{rendering} joins {original}");
    }
    // Another week's report on the same template, in Japanese too, stays apart.
    assert_ne!(story["b_thanhhoa_dengue_0905_ja"], story["a_thanhhoa_dengue_2023_vi"]);
    assert_ne!(story["b_thanhhoa_dengue_0905_ja"], story["a_thanhhoa_dengue_2023_ja"]);
}

#[test]
fn article_text_without_a_title_has_the_same_lead_as_with_one() {
    use newsfold::model::Article;
    // Article text's first line is its headline: the lead still reaches the paragraph that opens
    // on the event's day, as it does when the headline is the page's title.
    let headline = "Xe tải lao dốc đèo Bảo Lộc tông liên hoàn";
    let body = [
        "Xe tải chở nông sản mất phanh khi đổ đèo, tông liên tiếp 3 ôtô phía trước.",
        "Chiều 14/12, tài xế lái xe tải chở khoảng 8 tấn bắp cải từ Đơn Dương đi Thủ Đức.",
        "Ngày 16/12, công an tỉnh cho biết đang điều tra.",
    ];
    let text = Article {
        paragraphs: std::iter::once(headline).chain(body).map(String::from).collect(),
        lang: Some(Lang::Vi),
        ..Default::default()
    };
    let titled = Article {
        title: Some(headline.into()),
        paragraphs: body.map(String::from).to_vec(),
        lang: Some(Lang::Vi),
        ..Default::default()
    };
    let input = |a: &Article| FoldInput::from_article("0".repeat(32), "x".into(), a, &a.body(), 0);
    assert_eq!(input(&text).event_day, Some((12, 14)));
    assert_eq!(input(&titled).event_day, Some((12, 14)));
}
