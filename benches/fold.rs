//! Fold at scale: synthetic documents of this genre (templated provincial stories in vi/fr/en,
//! translations sharing their facts) through fingerprint + sketch + story index on one thread.
//! Prints documents per second and bytes per indexed document, and writes the first documents to
//! a file for `bench/fold.sh` to run datasketch's MinHashLSH on the same texts.
//!
//! `cargo bench --bench fold -- [DOCS] [PY_DOCS_FILE] [PY_DOCS]`

use std::io::Write;
use std::time::Instant;

use newsfold::fold::{FoldInput, FoldOptions, Folder, normalize::fold};
use newsfold::model::{Article, Lang};

const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
];
const MIDDLE: &[&str] = &[
    "Văn", "Thị", "Đức", "Hồng", "Minh", "Quốc", "Thanh", "Ngọc", "Xuân", "Hữu",
];
const GIVEN: &[&str] = &[
    "Dũng", "Hùng", "Sơn", "Mai", "Lan", "Tuấn", "Hiệp", "Thủy", "Nam", "Hải", "Long", "Phong", "Hà", "Trang", "Quang",
    "Bình", "Cường", "Khánh", "Linh", "Phúc",
];
const PROVINCES: &[&str] = &[
    "Quảng Nam",
    "Quảng Trị",
    "Hà Giang",
    "Lào Cai",
    "Quảng Ngãi",
    "Bình Định",
    "Thừa Thiên Huế",
    "Nghệ An",
    "Thanh Hóa",
    "Lai Châu",
    "Điện Biên",
    "Sơn La",
    "Yên Bái",
    "Cao Bằng",
    "Lạng Sơn",
    "Kon Tum",
    "Gia Lai",
    "Đắk Lắk",
    "Phú Yên",
    "Khánh Hòa",
];
const FR_MONTHS: &[&str] = &[
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const EN_MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

struct Facts {
    name: String,
    province: &'static str,
    day: u32,
    month: u32,
    year: u32,
    n1: u32,
    n2: u32,
    n3: u32,
    kg: (u32, u32),
    code: u32,
    awards: (u32, u32),
}

fn pick<'a>(rng: &mut fastrand::Rng, v: &[&'a str]) -> &'a str {
    v[rng.usize(..v.len())]
}

fn facts(rng: &mut fastrand::Rng) -> Facts {
    Facts {
        name: format!("{} {} {}", pick(rng, FAMILY), pick(rng, MIDDLE), pick(rng, GIVEN)),
        province: pick(rng, PROVINCES),
        day: rng.u32(1..=28),
        month: rng.u32(1..=12),
        year: rng.u32(2019..=2025),
        n1: rng.u32(100..999),
        n2: rng.u32(10..99) * 1000 + rng.u32(0..10) * 100,
        n3: rng.u32(20..900),
        kg: (rng.u32(1..20), rng.u32(1..10)),
        code: rng.u32(1..200),
        awards: (rng.u32(2..12), rng.u32(2..12)),
    }
}

/// Title-cases a folded name: what machine translation makes of Vietnamese names.
fn ascii_name(s: &str) -> String {
    fold(s)
        .split(' ')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn thousands(n: u32, sep: &str) -> String {
    if n >= 1000 {
        format!("{}{sep}{:03}", n / 1000, n % 1000)
    } else {
        n.to_string()
    }
}

fn text(f: &Facts, lang: Lang) -> String {
    let (d, m, y) = (f.day, f.month, f.year);
    match lang {
        Lang::Vi => format!(
            "Sáng {d}/{m}/{y}, tại trụ sở Công an tỉnh {p}, UBND tỉnh tổ chức hội nghị sơ kết thực hiện Nghị định {c:02}/{y0}/NĐ-CP. Phó Bí thư Tỉnh ủy {n} dự và chỉ đạo hội nghị.\n\
             Năm {yp}, các lực lượng đã phối hợp tổ chức {n1} đợt vận động quần chúng với hơn {n2} người tham dự.\n\
             Lực lượng chức năng bắt {n3} vụ, thu giữ hơn {k0},{k1}kg ma túy tổng hợp và {n3} triệu đồng.\n\
             Dịp này, {a0} tập thể, {a1} cá nhân được UBND tỉnh tặng bằng khen.",
            p = f.province,
            c = f.code,
            y0 = y - 4,
            n = f.name,
            yp = y - 1,
            n1 = f.n1,
            n2 = thousands(f.n2, "."),
            n3 = f.n3,
            k0 = f.kg.0,
            k1 = f.kg.1,
            a0 = f.awards.0,
            a1 = f.awards.1,
        ),
        Lang::Fr => format!(
            "Le matin du {d} {mo} {y}, au siège de la police provinciale de {p}, le Comité populaire provincial a tenu une conférence sur le décret {c:02}/{y0}/ND-CP. Le secrétaire adjoint {n} a assisté à la conférence.\n\
             En {yp}, les forces ont organisé {n1} campagnes de mobilisation avec plus de {n2} participants.\n\
             Les forces ont arrêté {n3} cas, saisissant plus de {k0},{k1} kg de drogues synthétiques et {n3} millions de VND.\n\
             A cette occasion, {a0} collectifs et {a1} individus ont reçu des certificats de mérite.",
            mo = FR_MONTHS[m as usize - 1],
            p = ascii_name(f.province),
            c = f.code,
            y0 = y - 4,
            n = ascii_name(&f.name),
            yp = y - 1,
            n1 = f.n1,
            n2 = thousands(f.n2, " "),
            n3 = f.n3,
            k0 = f.kg.0,
            k1 = f.kg.1,
            a0 = f.awards.0,
            a1 = f.awards.1,
        ),
        // English, and the form any other language would take (the generator asks for vi, fr, en).
        _ => format!(
            "On the morning of {mo} {d}, {y}, at the {p} Provincial Police headquarters, the Provincial People's Committee held a conference on Decree {c:02}/{y0}/ND-CP. Deputy Secretary {n} attended the conference.\n\
             In {yp}, the forces organised {n1} mobilisation campaigns with more than {n2} participants.\n\
             The forces arrested {n3} cases, seizing more than {k0}.{k1} kg of synthetic drugs and {n3} million VND.\n\
             On this occasion, {a0} collectives and {a1} individuals received certificates of merit.",
            mo = EN_MONTHS[m as usize - 1],
            p = ascii_name(f.province),
            c = f.code,
            y0 = y - 4,
            n = ascii_name(&f.name),
            yp = y - 1,
            n1 = f.n1,
            n2 = thousands(f.n2, ","),
            n3 = f.n3,
            k0 = f.kg.0,
            k1 = f.kg.1,
            a0 = f.awards.0,
            a1 = f.awards.1,
        ),
    }
}

/// Stories in one to three languages, in a mixed arrival order; (lang, text, story number).
fn documents(n: usize, seed: u64) -> Vec<(Lang, String, usize)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = Vec::with_capacity(n + 3);
    let mut story = 0;
    while out.len() < n {
        let f = facts(&mut rng);
        let langs: &[Lang] = match rng.u8(0..10) {
            0..=4 => &[Lang::Vi],
            5..=7 => &[Lang::Vi, Lang::Fr],
            _ => &[Lang::Vi, Lang::Fr, Lang::En],
        };
        for &l in langs {
            out.push((l, text(&f, l), story));
        }
        story += 1;
    }
    out.truncate(n);
    // Members of a story arrive close together but not adjacent.
    for i in (1..out.len()).rev() {
        let j = i.saturating_sub(rng.usize(0..8));
        out.swap(i, j);
    }
    out
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let py_file = args.get(1).cloned();
    let py_docs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50_000);

    let t = Instant::now();
    let docs = documents(n, 42);
    eprintln!(
        "generated {} documents in {:.1}s",
        docs.len(),
        t.elapsed().as_secs_f64()
    );
    if let Some(path) = &py_file {
        let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("create docs file"));
        for (lang, text, story) in docs.iter().take(py_docs) {
            writeln!(w, "{}\t{}\t{}", lang.code(), story, text.replace('\n', " ")).expect("write docs file");
        }
    }
    let articles: Vec<(Lang, Article, usize)> = docs
        .into_iter()
        .map(|(lang, text, story)| {
            let a = Article {
                paragraphs: text.lines().map(str::to_string).collect(),
                lang: Some(lang),
                ..Article::default()
            };
            (lang, a, story)
        })
        .collect();

    let rss_before = rss_kib();
    let options = FoldOptions::default();
    let mut folder = Folder::new(&options);
    let mut story_of: Vec<String> = Vec::with_capacity(articles.len());
    let t = Instant::now();
    let mut fingerprint_secs = 0.0;
    // Joins to a record of another story, by relation.
    let mut wrong: std::collections::BTreeMap<&'static str, (u64, u64)> = std::collections::BTreeMap::new();
    for (i, (_, a, _)) in articles.iter().enumerate() {
        let id = format!("{i:032x}");
        let f = Instant::now();
        let input = FoldInput::from_article(id, format!("bench://{i}"), a, &a.body(), 1_700_000_000 + i as i64);
        fingerprint_secs += f.elapsed().as_secs_f64();
        let (d, _) = folder.fold(input);
        if let Some(dup) = &d.duplicate_of {
            let j = usize::from_str_radix(dup, 16).unwrap_or(usize::MAX);
            let e = wrong.entry(d.relation.as_str()).or_default();
            e.0 += 1;
            if articles.get(j).is_none_or(|other| other.2 != articles[i].2) {
                e.1 += 1;
                if e.1 <= 2 && std::env::var("SHOW").is_ok() {
                    println!(
                        "WRONG {:?} score {:?}\n A: {}\n B: {}",
                        d.relation,
                        d.score,
                        articles[i].1.body(),
                        articles[j].1.body()
                    );
                }
            }
        }
        story_of.push(d.story_id);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "newsfold fold: fingerprint + sketch {:.1} us/doc, index + decision {:.1} us/doc",
        fingerprint_secs * 1e6 / articles.len() as f64,
        (secs - fingerprint_secs) * 1e6 / articles.len() as f64
    );
    let rss_after = rss_kib();

    // Quality on the synthetic set: pairs of one story found, and pairs wrongly joined (sampled
    // through story ids, so the count is exact).
    let mut by_story: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, s) in story_of.iter().enumerate() {
        by_story.entry(s.as_str()).or_default().push(i);
    }
    let mut predicted_pairs = 0u64;
    let mut correct = 0u64;
    for members in by_story.values() {
        for x in 0..members.len() {
            for y in (x + 1)..members.len() {
                predicted_pairs += 1;
                if articles[members[x]].2 == articles[members[y]].2 {
                    correct += 1;
                }
            }
        }
    }
    let mut truth: std::collections::HashMap<usize, u64> = std::collections::HashMap::new();
    for (_, _, s) in &articles {
        *truth.entry(*s).or_default() += 1;
    }
    let true_pairs: u64 = truth.values().map(|k| k * (k - 1) / 2).sum();

    println!(
        "newsfold fold: {} documents in {secs:.1}s = {:.0} docs/s (one thread)",
        articles.len(),
        articles.len() as f64 / secs
    );
    println!(
        "newsfold fold: index {} documents, {:.0} bytes per indexed document (container estimate), RSS +{:.0} bytes per document",
        folder.len(),
        folder.memory_bytes() as f64 / folder.len().max(1) as f64,
        (rss_after.saturating_sub(rss_before) * 1024) as f64 / folder.len().max(1) as f64
    );
    for (rel, (all, bad)) in &wrong {
        println!("newsfold fold: {rel}: {all} joins, {bad} to another story");
    }
    println!(
        "newsfold fold: pairwise precision {:.4} recall {:.4} on the synthetic stories",
        correct as f64 / predicted_pairs.max(1) as f64,
        correct as f64 / true_pairs.max(1) as f64
    );
    real_pages();
}

/// Memory per indexed document on real-length pages: the fold dev set and the article-extraction
/// benchmark's pages (full-length news of many sites), each folded into an index of its own.
fn real_pages() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let report = |name: &str, inputs: Vec<FoldInput>| {
        let features: usize = inputs.iter().map(|i| i.features.len()).sum();
        let mut folder = Folder::new(&FoldOptions::default());
        let n = inputs.len();
        for i in inputs {
            folder.fold(i);
        }
        let per_doc = |b: usize| b as f64 / folder.len().max(1) as f64;
        let parts: Vec<String> = folder
            .memory_parts()
            .iter()
            .map(|(part, b)| format!("{part} {:.0}", per_doc(*b)))
            .collect();
        println!(
            "newsfold fold: {name}: {n} real pages, {:.1} features per page, {:.0} bytes per indexed document ({})",
            features as f64 / n.max(1) as f64,
            per_doc(folder.memory_bytes()),
            parts.join(", ")
        );
    };
    match newsfold::eval::load(&repo.join("tests/fold-dev/labels-v2.jsonl")) {
        Ok(docs) => report("fold dev set", docs.into_iter().map(|d| d.input).collect()),
        Err(e) => println!("newsfold fold: fold dev set not read: {e:#}"),
    }
    let dir = repo.join("../shared/data/article-extraction-benchmark/html");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("newsfold fold: {} not found; skipped", dir.display());
        return;
    };
    let mut inputs = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".html.gz") else {
            continue;
        };
        let mut bytes = Vec::new();
        let Ok(f) = std::fs::File::open(e.path()) else { continue };
        if std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(f), &mut bytes).is_err() {
            continue;
        }
        let page = newsfold::model::Page {
            source: std::sync::Arc::from("bench"),
            key: id.to_string(),
            location: format!("https://example.org/{id}"),
            format: newsfold::model::PageFormat::Html,
            bytes,
            raw_hash: String::new(),
            lang_hint: None,
            charset: Some("utf-8".into()),
            rules: None,
            fetch: None,
        };
        if let Ok(a) = newsfold::scrape::scrape(&page) {
            inputs.push(FoldInput::from_article(
                format!("{:032x}", inputs.len()),
                page.location.clone(),
                &a,
                &a.body(),
                1_700_000_000,
            ));
        }
    }
    report("article-extraction benchmark", inputs);
}
