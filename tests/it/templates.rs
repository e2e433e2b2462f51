//! Site templates (issue 14): a fixture site of 20 pages that share a menu, a sidebar, a related
//! box and the lines a provincial paper puts inside every article (a promo, a hotline, a caption
//! style). The first pages are read with the generic rules; once three different articles of the
//! host carried a line, it is the site's, and later pages — and pages of the next run, from the
//! state store — come without it. The article texts are written for this test.

use crate::util::{Workspace, text};
use crate::web::{Route, Site};

const DISTRICTS: [&str; 5] = ["Nghi Lộc", "Hưng Nguyên", "Diễn Châu", "Quỳnh Lưu", "Thanh Chương"];
const COMMUNES: [&str; 4] = ["Nghi Phong", "Hưng Tây", "Diễn Kim", "Quỳnh Bá"];

/// What every page of the site carries inside its article, as the generic rules read it.
const FURNITURE: [&str; 3] = [
    "Mời quý độc giả theo dõi Báo Sông Lam trên mạng xã hội để cập nhật tin tức nhanh nhất.",
    "Đường dây nóng của tòa soạn: 0238 3844 552 - Thư điện tử: toasoan@baosonglam.vn",
    "Bạn đọc có thông tin phản ánh xin gửi về Ban Bạn đọc, Báo Sông Lam.",
];

/// The article paragraphs of page `n`: each names its own place, day and figures.
fn paragraphs(n: usize) -> Vec<String> {
    let (district, commune) = (DISTRICTS[n % 5], COMMUNES[n % 4]);
    vec![
        format!(
            "Sáng {}/11, Công an huyện {district} phối hợp với Ủy ban nhân dân xã {commune} tổ chức buổi tuyên truyền về phòng cháy, chữa cháy cho {} hộ dân sống ven quốc lộ.",
            n + 1,
            120 + 7 * n
        ),
        format!(
            "Tại buổi tuyên truyền, cán bộ Đội Cảnh sát phòng cháy hướng dẫn người dân cách dùng bình chữa cháy và thoát nạn khi có sự cố; {} bình chữa cháy được trao cho các hộ khó khăn của thôn {}.",
            10 + n,
            n + 2
        ),
        format!(
            "Trong tháng, lực lượng chức năng huyện {district} đã kiểm tra {} cơ sở kinh doanh, phát hiện {} trường hợp vi phạm và xử phạt {} triệu đồng.",
            30 + 3 * n,
            n % 6 + 1,
            5 + 2 * n
        ),
    ]
}

fn page(n: usize) -> String {
    let title = format!(
        "{} hộ dân xã {} được hướng dẫn phòng cháy, chữa cháy (bài {n})",
        120 + 7 * n,
        COMMUNES[n % 4]
    );
    let body: String = paragraphs(n).iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        r#"<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{title} - Báo Sông Lam</title></head>
<body>
<nav class="menu"><a href="/">Trang chủ</a> <a href="/thoi-su">Thời sự</a> <a href="/phap-luat">Pháp luật</a> <a href="/xa-hoi">Xã hội</a></nav>
<div class="main">
<article class="detail">
<h1>{title}</h1>
<div class="date">Thứ Hai, {day:02}/11/2026 - 08:{min:02}</div>
{body}<p><em>{caption}</em></p>
<p>{promo}</p>
<div class="related"><p><strong>Tin liên quan</strong></p><ul><li><a href="/a/{prev}.html">Tin cũ hơn số {prev}</a></li></ul></div>
<p>{hotline}</p>
<p>{reader}</p>
</article>
<aside><h3>Đọc nhiều</h3><ul><li><a href="/a/1.html">Bài đọc nhiều một</a></li><li><a href="/a/2.html">Bài đọc nhiều hai</a></li></ul></aside>
</div>
<footer><p>Báo Sông Lam - Cơ quan của tỉnh. Giấy phép số 12/GP-BTTTT.</p></footer>
</body></html>"#,
        day = n % 28 + 1,
        min = n % 60,
        caption = "Quang cảnh buổi tuyên truyền tại địa phương.",
        promo = FURNITURE[0],
        hotline = FURNITURE[1],
        reader = FURNITURE[2],
        prev = n + 100,
    )
}

fn workspace(site: &Site, pages: std::ops::Range<usize>) -> Workspace {
    let ws = Workspace::new();
    write_config(&ws, site, pages);
    ws
}

fn write_config(ws: &Workspace, site: &Site, pages: std::ops::Range<usize>) {
    let urls: Vec<String> = pages
        .map(|n| format!("\"{}\"", site.url(&format!("/a/{n}.html"))))
        .collect();
    let text = format!(
        "[state]\npath = \"state/state.sqlite\"\n\n[pipeline]\nscrape_workers = 1\n\n[sources.songlam]\ntype = \"pages\"\nurls = [{}]\nmin_delay = \"0s\"\n\n[sinks.out]\ntype = \"jsonl\"\npath = \"out/records.jsonl\"\n",
        urls.join(", ")
    );
    std::fs::write(ws.config(), text).unwrap();
}

fn body_of(records: &[serde_json::Value], site: &Site, n: usize) -> String {
    let url = site.url(&format!("/a/{n}.html"));
    records
        .iter()
        .find(|r| r["location"] == url)
        .unwrap_or_else(|| panic!("no record of {url}"))["body"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_site_template_is_learnt_from_its_pages_and_kept_across_runs() {
    let site = Site::start("127.0.0.13");
    site.route("/robots.txt", Route::status(404, &[]));
    for n in 0..22 {
        site.route(&format!("/a/{n}.html"), Route::html(page(n)));
    }
    let ws = workspace(&site, 0..20);
    let out = ws.once();
    assert!(out.status.success(), "{}", text(&out));
    let records = ws.records();
    assert_eq!(records.len(), 20, "{}", text(&out));
    // Every page keeps its own text, whatever the template took.
    for n in 0..20 {
        let body = body_of(&records, &site, n);
        for p in paragraphs(n) {
            assert!(body.contains(&p), "page {n} lost {p:?}:\n{body}");
        }
    }
    // The generic rules keep the furniture on the first page: there is something to learn.
    let first = body_of(&records, &site, 0);
    assert!(
        FURNITURE.iter().filter(|f| first.contains(*f)).count() >= 2,
        "the fixture's furniture is not in the first page's body, so it tests nothing:\n{first}"
    );
    // One scrape worker: the first three pages it reads are three different articles showing the
    // furniture, and every page after them comes without it.
    let kept: Vec<usize> = (0..20)
        .filter(|&n| {
            let body = body_of(&records, &site, n);
            FURNITURE.iter().any(|f| body.contains(f))
        })
        .collect();
    assert_eq!(kept.len(), 3, "pages that kept the furniture: {kept:?}");
    // The explanation names what the template took.
    let config = ws.config().display().to_string();
    let url = site.url("/a/19.html");
    let shown = ws.newsfold(&["explain", "--config", &config, &url]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("site template: Đường dây nóng"), "{shown}");
    let json = ws.newsfold(&["explain", "--json", "--config", &config, &url]);
    let entry: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON entry");
    crate::util::assert_decision_schema(&entry);
    // A replay reads the page with the template as learnt, so nothing differs.
    let replay = ws.newsfold(&["explain", "--config", &config, &url, "--replay"]);
    let replay = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.contains("same as decided"), "{replay}");

    // A second run on new pages of the site: the template comes from the state store.
    write_config(&ws, &site, 20..22);
    let out = ws.once();
    assert!(out.status.success(), "{}", text(&out));
    let records = ws.records();
    for n in 20..22 {
        let body = body_of(&records, &site, n);
        assert!(!FURNITURE.iter().any(|f| body.contains(f)), "page {n}:\n{body}");
        for p in paragraphs(n) {
            assert!(body.contains(&p), "page {n} lost {p:?}");
        }
    }
}
