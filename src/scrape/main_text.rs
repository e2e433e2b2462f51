//! Generic main-text extraction: which element of a page holds the article, and its blocks.
//!
//! A readability-style scorer on scraper's DOM, in two linear passes so the page is parsed once
//! for text and metadata alike: (1) children before parents, each element's text length, link
//! text length, commas and whether it holds block elements; (2) every paragraph-like element
//! scores its parent, grandparent and great-grandparent (more text and more commas score more),
//! each candidate weighted by its tag and by class/id words typical of article bodies or of
//! boilerplate, and discounted by its link density. The best candidate and those of its siblings
//! that score close to it (or are plain paragraphs) are the article. Blocks are then read from it,
//! skipping boilerplate subtrees (navigation, share bars, captions, related lists, comments) and
//! link lists.
//!
//! Pure, no recursion (deeply nested pages cannot overflow the stack), bounded by the page size.

use ego_tree::NodeId;
use ego_tree::iter::Edge;
use rustc_hash::{FxHashMap, FxHashSet};
use scraper::{ElementRef, Html, Node};

/// Per-element text statistics.
#[derive(Clone, Copy, Default)]
struct Stats {
    text: u32,
    link: u32,
    commas: u32,
    /// Holds block elements (other than line breaks).
    blocks: bool,
    /// Text of its own: in text children and inline elements, not inside child blocks.
    inline: u32,
    inline_commas: u32,
    /// The page hides it, or an element around it (see `is_hidden`).
    hidden: bool,
}

/// Elements that make a paragraph break.
fn is_block(tag: &str) -> bool {
    matches!(
        tag,
        "p" | "div"
            | "section"
            | "article"
            | "main"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "table"
            | "tr"
            | "td"
            | "th"
            | "blockquote"
            | "pre"
            | "figure"
            | "header"
            | "footer"
            | "aside"
            | "nav"
            | "form"
            | "br"
            | "hr"
    )
}

/// An element the page hides from its readers (`hidden`, an inline `display: none` or
/// `visibility: hidden`): a collapsed menu, a template, a duplicate for another layout.
fn is_hidden(e: &scraper::node::Element) -> bool {
    if e.attr("hidden").is_some() {
        return true;
    }
    e.attr("style").is_some_and(|style| {
        let style: String = style
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        style.contains("display:none") || style.contains("visibility:hidden")
    })
}

/// Subtrees that are never article text.
fn is_skipped_tag(tag: &str) -> bool {
    matches!(
        tag,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "svg"
            | "nav"
            | "footer"
            | "aside"
            | "form"
            | "button"
            | "select"
            | "textarea"
            | "iframe"
            | "figure"
            | "figcaption"
            | "header"
            | "menu"
            | "object"
            | "video"
            | "audio"
            | "canvas"
    )
}

const POSITIVE: &[&str] = &[
    "article", "body", "content", "entry", "main", "page", "post", "story", "text", "blog", "detail", "noi-dung",
    "noidung", "chi-tiet", "chitiet",
];
const NEGATIVE: &[&str] = &[
    "comment",
    "combx",
    "contact",
    "foot",
    "footer",
    "footnote",
    "masthead",
    "media",
    "meta",
    "outbrain",
    "promo",
    "related",
    "scroll",
    "shoutbox",
    "sidebar",
    "sponsor",
    "shopping",
    "tags",
    "tool",
    "widget",
    "share",
    "social",
    "nav",
    "menu",
    "breadcrumb",
    "banner",
    "subscribe",
    "newsletter",
    "cookie",
    "popup",
    "advert",
    "caption",
    "byline",
    "author",
    "tin-lien-quan",
    "lienquan",
    "recommend",
    "login",
    "signup",
];

/// Blocks of the best one's kind that may join it (an article cut by figures or ads): enough for
/// any article, few enough that a listing of thousands of items is not read as one.
const MAX_COUSINS: usize = 32;

/// Whether an element holds readers' comments: a class or id word "comment(s)", "comment(s)-…",
/// "commentlist" (not "commentary", an article genre, nor "commented", a post's state), or
/// Disqus's thread.
fn in_comments(el: ElementRef<'_>) -> bool {
    let v = el.value();
    v.id()
        .into_iter()
        .chain(v.classes())
        .map(str::to_ascii_lowercase)
        .any(|w| {
            w.starts_with("disqus")
                || w.strip_prefix("comment").is_some_and(|rest| {
                    let rest = rest.strip_prefix('s').unwrap_or(rest);
                    rest.is_empty() || rest.starts_with(['-', '_']) || rest == "list"
                })
        })
}

/// Words in an element's class and id, lowercased.
fn names(el: ElementRef<'_>) -> String {
    let v = el.value();
    let mut s = String::new();
    if let Some(id) = v.id() {
        s.push_str(id);
    }
    for c in v.classes() {
        s.push(' ');
        s.push_str(c);
    }
    s.make_ascii_lowercase();
    s
}

/// An element's kind for finding the other parts of a cut article: its tag, its classes without
/// numbers, and its numbered classes with the numbers taken out ("story-body story-body-2" is a
/// part like "story-body story-body-1"); never its id, which no two elements share. Empty (no
/// kind) without a class free of numbers: "col-8" and "col-4" are grid columns, not parts.
fn kind(el: ElementRef<'_>) -> String {
    let (mut plain, mut numbered) = (String::new(), String::new());
    for c in el.value().classes() {
        let out = if c.bytes().any(|b| b.is_ascii_digit()) {
            &mut numbered
        } else {
            &mut plain
        };
        out.push(' ');
        out.extend(
            c.chars()
                .filter(|c| !c.is_ascii_digit())
                .map(|c| c.to_ascii_lowercase()),
        );
    }
    if plain.is_empty() {
        return String::new();
    }
    format!("{}{plain} |{numbered}", el.value().name())
}

fn class_weight(names: &str) -> f32 {
    if names.is_empty() {
        return 0.0;
    }
    let mut w = 0.0;
    if NEGATIVE.iter().any(|n| names.contains(n)) {
        w -= 25.0;
    }
    if POSITIVE.iter().any(|p| names.contains(p)) {
        w += 25.0;
    }
    w
}

/// Boilerplate by its class or id, for subtrees inside the article. Narrower than `NEGATIVE`: a
/// word such as "content-meta" must not drop the body.
fn is_boilerplate(names: &str) -> bool {
    const WORDS: &[&str] = &[
        "share",
        "social",
        "related",
        "comment",
        "breadcrumb",
        "newsletter",
        "subscribe",
        "advert",
        "promo",
        "caption",
        "sidebar",
        "tin-lien-quan",
        "recommend",
        "cookie",
        "popup",
        "tags",
        "author-box",
        "print",
        "font-size",
        "fontsize",
        "toolbar",
    ];
    !names.is_empty() && WORDS.iter().any(|w| names.contains(w))
}

fn tag_weight(tag: &str) -> f32 {
    match tag {
        "div" | "article" | "section" | "main" => 5.0,
        "pre" | "td" | "blockquote" => 3.0,
        "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
        _ => 0.0,
    }
}

/// Text statistics of a page's elements, computed once and shared by `main_nodes` and `blocks`.
/// Nodes are numbered in document order; `index` maps a node to its number.
pub struct TextStats {
    stats: Vec<Stats>,
    index: FxHashMap<NodeId, u32>,
}

impl TextStats {
    /// A node's place in document order.
    pub fn order(&self, id: NodeId) -> u32 {
        self.index.get(&id).copied().unwrap_or(u32::MAX)
    }

    /// Two passes, no recursion: document order to number nodes and note parents, then reverse
    /// order to add each node's figures to its parent's.
    pub fn of(doc: &Html) -> TextStats {
        let mut nodes = Vec::new();
        let mut parents: Vec<u32> = Vec::new();
        // Whether the node is inside (or is) an element the page hides: its whole subtree
        // counts for nothing, so nothing in it is scored or credits its ancestors.
        let mut hidden: Vec<bool> = Vec::new();
        let mut index = FxHashMap::default();
        let mut stack: Vec<u32> = Vec::new();
        for edge in doc.tree.root().traverse() {
            match edge {
                Edge::Open(node) => {
                    let i = nodes.len() as u32;
                    let parent = stack.last().copied().unwrap_or(u32::MAX);
                    parents.push(parent);
                    let inherited = parent != u32::MAX && hidden[parent as usize];
                    hidden.push(inherited || matches!(node.value(), Node::Element(e) if is_hidden(e)));
                    index.insert(node.id(), i);
                    nodes.push(node);
                    stack.push(i);
                }
                Edge::Close(_) => {
                    stack.pop();
                }
            }
        }
        let mut stats = vec![Stats::default(); nodes.len()];
        for i in (0..nodes.len()).rev() {
            let node = nodes[i];
            let mut st = stats[i];
            let mut block = false;
            match node.value() {
                Node::Text(_) if hidden[i] => {}
                Node::Text(t) => {
                    let (mut n, mut commas) = (0u32, 0u32);
                    for c in t.trim().chars() {
                        n += 1;
                        if matches!(c, ',' | '،' | '、' | '，') {
                            commas += 1;
                        }
                    }
                    st.text = n;
                    st.commas = commas;
                }
                Node::Element(e) => {
                    let tag = e.name();
                    block = is_block(tag) && !matches!(tag, "br" | "hr");
                    if is_skipped_tag(tag) || hidden[i] {
                        st = Stats::default();
                        st.hidden = hidden[i];
                    } else if tag == "a" {
                        st.link = st.text;
                    }
                }
                _ => {}
            }
            stats[i] = st;
            let parent = parents[i];
            if parent != u32::MAX {
                let p = &mut stats[parent as usize];
                p.text += st.text;
                p.link += st.link;
                p.commas += st.commas;
                p.blocks |= st.blocks || block;
                if !block {
                    p.inline += st.text - st.link;
                    p.inline_commas += st.commas;
                }
            }
        }
        TextStats { stats, index }
    }

    /// The statistics of the `i`-th node in document order.
    fn at(&self, i: usize) -> Stats {
        self.stats.get(i).copied().unwrap_or_default()
    }

    fn get(&self, id: &NodeId) -> Option<&Stats> {
        self.index.get(id).map(|&i| &self.stats[i as usize])
    }
}

fn link_density(st: &Stats) -> f32 {
    if st.text == 0 {
        0.0
    } else {
        st.link as f32 / st.text as f32
    }
}

/// The elements that hold the article, in document order; empty when nothing scores.
pub fn main_nodes<'a>(doc: &'a Html, st: &TextStats) -> Vec<ElementRef<'a>> {
    let mut scores: FxHashMap<NodeId, f32> = FxHashMap::default();
    let init = |el: ElementRef<'_>| tag_weight(el.value().name()) + class_weight(&names(el));
    // `descendants` walks in document order, the order `TextStats` numbered the nodes in.
    for (i, node) in doc.tree.root().descendants().enumerate() {
        let Some(el) = ElementRef::wrap(node) else { continue };
        let tag = el.value().name();
        let s = st.at(i);
        // A paragraph, or a container's own loose text (text split by <br> in a <div>).
        // A paragraph credits its container and the two above; a container's own loose text
        // credits the container itself too.
        let (len, commas, first) = if matches!(tag, "p" | "pre" | "td" | "blockquote") {
            (s.text, s.commas, node.parent())
        } else if matches!(tag, "div" | "section" | "article" | "main" | "span" | "font" | "center") {
            (s.inline, s.inline_commas, Some(node))
        } else {
            continue;
        };
        if len < 25 {
            continue;
        }
        let content = 1.0 + commas as f32 + (len as f32 / 100.0).min(3.0);
        let mut level = 0;
        let mut cur = first;
        while let Some(anc) = cur {
            let Some(a) = ElementRef::wrap(anc) else { break };
            if level > 2 {
                break;
            }
            let divider = match level {
                0 => 1.0,
                1 => 2.0,
                l => l as f32 * 3.0,
            };
            *scores.entry(anc.id()).or_insert_with(|| init(a)) += content / divider;
            // The container of loose text weighs as its paragraph's parent does, and its own
            // parent keeps the full credit it would have had.
            if anc != node {
                level += 1;
            }
            cur = anc.parent();
        }
    }
    let mut ranked: Vec<(NodeId, f32)> = Vec::with_capacity(scores.len());
    for (id, score) in scores.iter_mut() {
        let s = st.get(id).copied().unwrap_or_default();
        *score *= 1.0 - link_density(&s);
        ranked.push((*id, *score));
    }
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    // The best block outside the readers' comments, which can outweigh a short article.
    let best = ranked
        .iter()
        .find(|(id, _)| {
            doc.tree
                .get(*id)
                .is_some_and(|n| !n.ancestors().chain([n]).filter_map(ElementRef::wrap).any(in_comments))
        })
        .or(ranked.first())
        .copied();
    let Some((top_id, top_score)) = best else {
        return Vec::new();
    };
    let Some(top) = doc.tree.get(top_id).and_then(ElementRef::wrap) else {
        return Vec::new();
    };
    let Some(parent) = top.parent() else { return vec![top] };
    let threshold = (top_score * 0.2).max(10.0);
    let mut out = Vec::new();
    for sib in parent.children().filter_map(ElementRef::wrap) {
        if sib.id() == top_id {
            out.push(sib);
            continue;
        }
        let s = st.get(&sib.id()).copied().unwrap_or_default();
        let score = scores.get(&sib.id()).copied().unwrap_or(f32::MIN);
        let bonus = if names(sib) == names(top) && !names(top).is_empty() {
            top_score * 0.2
        } else {
            0.0
        };
        let keep = score + bonus >= threshold
            || (sib.value().name() == "p"
                && ((s.text > 80 && link_density(&s) < 0.25)
                    || (s.text > 0 && link_density(&s) == 0.0 && sib.text().any(|t| t.contains(". ")))));
        if keep {
            out.push(sib);
        }
    }
    // An article cut into several blocks of one kind (figures, quotes or ads between them): the
    // other blocks of the best one's kind (`kind`) that score as text join it, in page order.
    let top_kind = kind(top);
    if !top_kind.is_empty() {
        let mut cousins: Vec<ElementRef<'_>> = scores
            .iter()
            .filter(|(id, score)| **score >= threshold && **id != top_id)
            .filter_map(|(id, _)| doc.tree.get(*id).and_then(ElementRef::wrap))
            .filter(|e| kind(*e) == top_kind)
            .collect();
        if !cousins.is_empty() {
            cousins.sort_by_key(|e| st.order(e.id()));
            // What is kept, and every ancestor of it: one walk up per block, so the cost stays
            // linear however many blocks a page repeats; at most MAX_COUSINS join.
            let mut kept: FxHashSet<NodeId> = out.iter().map(|e| e.id()).collect();
            let mut above: FxHashSet<NodeId> = FxHashSet::default();
            for e in &out {
                above.extend(e.ancestors().map(|a| a.id()));
            }
            let mut joined = 0;
            for c in cousins {
                if joined == MAX_COUSINS {
                    break;
                }
                let nested = kept.contains(&c.id())
                    || above.contains(&c.id())
                    || c.ancestors()
                        .any(|a| kept.contains(&a.id()) || ElementRef::wrap(a).is_some_and(in_comments));
                if nested || in_comments(c) {
                    continue;
                }
                kept.insert(c.id());
                above.extend(c.ancestors().map(|a| a.id()));
                out.push(c);
                joined += 1;
            }
            out.sort_by_key(|e| st.order(e.id()));
        }
    }
    out
}

/// The article's text blocks, one string each, from the elements `main_nodes` chose.
pub fn blocks(nodes: &[ElementRef<'_>], st: &TextStats) -> Vec<String> {
    let mut out = Vec::new();
    for root in nodes {
        let mut skip_depth: Option<usize> = None;
        let mut depth = 0usize;
        let mut current = String::new();
        // An element whose own text makes one block: a leaf block, or a paragraph.
        let mut block_depth: Option<usize> = None;
        for edge in root.traverse() {
            match edge {
                Edge::Open(node) => {
                    depth += 1;
                    if skip_depth.is_some() {
                        continue;
                    }
                    match node.value() {
                        Node::Element(e) => {
                            let tag = e.name();
                            let el = ElementRef::wrap(node).expect("an element");
                            let s = st.get(&node.id()).copied().unwrap_or_default();
                            let boiler = node.id() != root.id() && is_boilerplate(&names(el));
                            let links = s.text > 0
                                && link_density(&s) > 0.5
                                && matches!(tag, "ul" | "ol" | "div" | "p" | "table" | "section");
                            if is_skipped_tag(tag) || boiler || links || s.hidden {
                                skip_depth = Some(depth);
                                continue;
                            }
                            if matches!(tag, "br" | "hr") {
                                if block_depth.is_some() {
                                    current.push(' ');
                                } else {
                                    flush(&mut current, &mut out);
                                }
                                continue;
                            }
                            if block_depth.is_none() && (is_block(tag) && (!s.blocks || tag == "p")) {
                                flush(&mut current, &mut out);
                                block_depth = Some(depth);
                            } else if block_depth.is_none() && is_block(tag) {
                                // A container: loose text before its blocks is a block of its own.
                                flush(&mut current, &mut out);
                            }
                        }
                        Node::Text(t) => {
                            current.push_str(t);
                        }
                        _ => {}
                    }
                }
                Edge::Close(node) => {
                    if skip_depth == Some(depth) {
                        skip_depth = None;
                    } else if block_depth == Some(depth) {
                        flush(&mut current, &mut out);
                        block_depth = None;
                    } else if skip_depth.is_none()
                        && block_depth.is_none()
                        && matches!(node.value(), Node::Element(e) if is_block(e.name()))
                    {
                        flush(&mut current, &mut out);
                    }
                    depth -= 1;
                }
            }
        }
        flush(&mut current, &mut out);
    }
    out
}

fn flush(current: &mut String, out: &mut Vec<String>) {
    let text = current.split_whitespace().collect::<Vec<_>>().join(" ");
    current.clear();
    if !text.is_empty() {
        out.push(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_comments_and_a_meta_article_body_do_not_stand_for_the_article() {
        let long = |who: &str| {
            format!(
                "<p>{who} viết: Tôi đồng ý với bài viết, nhưng cần nói thêm rằng ở quê tôi, việc này đã kéo dài nhiều năm, người dân, chính quyền và các đoàn thể đều biết, vậy mà chưa ai giải quyết dứt điểm.</p>"
            )
        };
        let comments: String = ["An", "Bình", "Chi", "Dũng", "Hoa", "Lan"]
            .map(|who| {
                format!(
                    "<li class=\"comment hentry\"><div class=\"entry-content\">{}{}</div></li>",
                    long(who),
                    long(who)
                )
            })
            .concat();
        let page = format!(
            r#"<html><body><meta itemprop="articleBody" content="Tóm tắt ngắn.">
            <article class="post commented"><h1>Xã Hưng Tây khánh thành cầu mới</h1><div class="entry-content">
            <p>Sáng 5/11, xã Hưng Tây khánh thành cây cầu bắc qua sông Lam, dài 120 m, rộng 7 m.</p>
            <p>Công trình có tổng vốn 45 tỷ đồng, giúp hơn 3.000 hộ dân đi lại thuận tiện hơn.</p></div></article>
            <section id="comments"><ol class="comment-list">{comments}</ol></section>
            </body></html>"#
        );
        let ex = crate::scrape::html::read(&page);
        assert!(
            ex.lines.first().is_some_and(|l| l.starts_with("Sáng 5/11")),
            "{:?}",
            ex.lines
        );
        assert!(!ex.lines.iter().any(|l| l.contains("viết:")), "{:?}", ex.lines);
    }

    #[test]
    fn an_article_cut_into_blocks_of_one_kind_is_read_whole() {
        let part = |n: usize| {
            format!(
                "<section class=\"outer\"><div class=\"post-content\"><p>Phần {n}: Theo báo cáo, trong năm 2025, tỉnh đã xử lý {n}00 vụ vi phạm, thu giữ nhiều tang vật, tiếp nhận, giải quyết hơn {n}0 đơn thư của người dân.</p><p>Đoạn thứ hai của phần {n}, với các số liệu chi tiết, các kiến nghị, đề xuất và kế hoạch cho năm tới.</p></div></section><figure><img src=\"{n}.jpg\"></figure>"
            )
        };
        let page = format!(
            "<html><body><nav><a href=\"/\">Trang chủ</a></nav><main>{}{}{}</main><aside class=\"sidebar\"><p>Tin mới nhất trong ngày, mời bạn đọc xem thêm.</p></aside></body></html>",
            part(1),
            part(2),
            part(3)
        );
        let ex = crate::scrape::html::read(&page);
        let starts: Vec<String> = ex.lines.iter().map(|l| l.chars().take(9).collect()).collect();
        assert_eq!(ex.lines.len(), 6, "{:?}", ex.lines);
        assert!(
            ex.lines[0].starts_with("Phần 1") && ex.lines[4].starts_with("Phần 3"),
            "{starts:?}"
        );
        // Blocks of one kind side by side are the best one's siblings already: read once each.
        let siblings = page.replace("<section class=\"outer\">", "").replace("</section>", "");
        let ex = crate::scrape::html::read(&siblings);
        assert_eq!(ex.lines.len(), 6, "{:?}", ex.lines);
    }

    #[test]
    fn loose_text_in_a_column_beside_busy_furniture_is_the_article() {
        // An archive menu beside the story, in the same row: the row is mostly links, and the
        // story is loose text in its column, no paragraph element of its own.
        let archive: String = (2005..2025)
            .map(|y| {
                let months: String = (1..=12)
                    .map(|m| {
                        format!(
                            "<li><a href=\"/tin?y={y}&m={m}\">Tháng {m} <span>({})</span></a></li>",
                            m * 3
                        )
                    })
                    .collect();
                format!("<li><a>{y}</a></li><ul>{months}</ul>")
            })
            .collect();
        let page = format!(
            r#"<html><body><div class="row"><div class="col-side"><ul>{archive}</ul></div>
            <div class="col-main"><h1 class="titulo">Trạm y tế bị mất trộm ắc quy xe cứu thương</h1>
            <small>05/10/2025 - Đăng bởi: Minh Anh</small><br><br>
            Sáng nay Trạm y tế phường Hưng Bình phát hiện hai trong năm xe cứu thương của đơn vị bị phá khóa và lấy mất ắc quy. Công an phường đã đến hiện trường lập biên bản. Các ca khám tại nhà buổi sáng được dời sang buổi chiều.<br><br><br></div>
            </div><footer><p>Cổng thông tin điện tử phường Hưng Bình, thành phố Vinh, tỉnh Nghệ An - Địa chỉ: 12 đường Lê Lợi</p></footer></body></html>"#
        );
        let doc = Html::parse_document(&page);
        let stats = TextStats::of(&doc);
        let chosen: Vec<String> = main_nodes(&doc, &stats)
            .iter()
            .map(|e| e.value().attr("class").unwrap_or("").to_string())
            .collect();
        assert_eq!(chosen, ["col-main"], "the story's column, not the row with the archive");
        let ex = crate::scrape::html::read(&page);
        assert!(
            ex.lines.iter().any(|l| l.starts_with("Sáng nay Trạm y tế")),
            "{:?}",
            ex.lines
        );
    }

    #[test]
    fn picks_the_article_over_navigation_and_related_links() {
        let page = r##"<html><body>
<div id="menu"><ul><li><a href="/">Trang chủ</a></li><li><a href="/a">Thời sự</a></li><li><a href="/b">Kinh tế, xã hội</a></li></ul></div>
<div class="main-content"><div class="detail-content">
<h2>Hội nghị sơ kết</h2>
<p>Chiều nay 19/1/2024, tại trụ sở Công an tỉnh Quảng Nam, UBND tỉnh tổ chức hội nghị sơ kết, với nhiều đại biểu, lực lượng.</p>
<div class="share-tools"><a href="#">Chia sẻ</a> <a href="#">In</a></div>
<p>Các lực lượng đã phối hợp tổ chức 611 đợt tuần tra, kiểm soát, bảo đảm an ninh, trật tự trên địa bàn tỉnh.</p>
<div>Năm 2024, hai lực lượng tiếp tục phối hợp chặt chẽ, hiệu quả.<br>Theo kế hoạch đã ban hành.</div>
<ul class="tin-lien-quan"><li><a href="/x">Tin khác một, dài, rất dài</a></li><li><a href="/y">Tin khác hai, dài, rất dài</a></li></ul>
</div></div>
<div class="footer"><p>Bản quyền thuộc Báo Quảng Nam, giấy phép số 28, cấp năm 2020, mọi quyền được bảo lưu.</p></div>
</body></html>"##;
        let doc = Html::parse_document(page);
        let st = TextStats::of(&doc);
        let nodes = main_nodes(&doc, &st);
        assert_eq!(nodes.len(), 1);
        assert!(nodes[0].value().classes().any(|c| c == "detail-content"));
        assert_eq!(
            blocks(&nodes, &st),
            [
                "Hội nghị sơ kết",
                "Chiều nay 19/1/2024, tại trụ sở Công an tỉnh Quảng Nam, UBND tỉnh tổ chức hội nghị sơ kết, với nhiều đại biểu, lực lượng.",
                "Các lực lượng đã phối hợp tổ chức 611 đợt tuần tra, kiểm soát, bảo đảm an ninh, trật tự trên địa bàn tỉnh.",
                "Năm 2024, hai lực lượng tiếp tục phối hợp chặt chẽ, hiệu quả. Theo kế hoạch đã ban hành.",
            ]
        );
    }

    #[test]
    fn hidden_text_is_skipped_and_numbered_parts_are_joined() {
        let para = |n: usize| {
            format!(
                "<p>Đoạn {n}: ngày 15/10, đoàn công tác của tỉnh đã làm việc với các xã biên giới, kiểm tra công tác bảo đảm an ninh trật tự, phòng chống tội phạm và ma túy trên địa bàn.</p>"
            )
        };
        let html = format!(
            r#"<html><body><div class="menu" style="display: none"><p>Trang chủ, Thời sự, Kinh tế, Văn hóa, Thể thao, Pháp luật, Quốc tế và nhiều chuyên mục khác của báo.</p>{}</div>
            <div class="story-body story-body-1">{}{}</div><div class="ad"><a href="/x">Quảng cáo</a></div>
            <div class="story-body story-body-2">{}{}{}</div><div class="layout-mobile"><div hidden>{}</div></div></body></html>"#,
            para(0),
            para(1),
            para(2),
            para(3),
            para(4),
            para(5),
            // A hidden copy for another layout, longer than any part: never the article.
            (6..14).map(para).collect::<String>()
        );
        let doc = Html::parse_document(&html);
        let st = TextStats::of(&doc);
        let text = blocks(&main_nodes(&doc, &st), &st).join("\n");
        for n in 1..=5 {
            assert!(text.contains(&format!("Đoạn {n}:")), "part {n} missing: {text}");
        }
        assert!(
            !text.contains("Đoạn 0:") && !text.contains("Đoạn 6:") && !text.contains("Trang chủ"),
            "{text}"
        );
    }

    #[test]
    fn numbered_parts_are_one_kind_and_grid_columns_none() {
        let doc = Html::parse_document(
            r#"<div class="story-body story-body-1"></div><div class="story-body story-body-2"></div><div class="col-8"></div><div class="col-4"></div>"#,
        );
        let divs: Vec<String> = doc
            .select(&scraper::Selector::parse("div").unwrap())
            .map(kind)
            .collect();
        assert_eq!(divs[0], divs[1]);
        assert!(!divs[0].is_empty());
        assert_eq!((divs[2].as_str(), divs[3].as_str()), ("", ""));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let page = format!(
            "{}<p>x, y, z, a long enough paragraph of text here.</p>{}",
            "<div>".repeat(3_000),
            "</div>".repeat(3_000)
        );
        let doc = Html::parse_document(&page);
        let st = TextStats::of(&doc);
        let nodes = main_nodes(&doc, &st);
        assert!(blocks(&nodes, &st).iter().any(|b| b.starts_with("x, y, z")));
    }
}
