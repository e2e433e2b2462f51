//! Parses HTML into a `scraper::Html` with the element nesting capped.
//!
//! The HTML tree builder checks "is there a `p` in button scope" (and other scopes) by walking the
//! stack of open elements, once per start tag: on a page of `n` nested `div`s that is `n²` steps
//! (100,000 nested `div`s took 52 s of CPU). Browsers cap the depth of the tree for the same
//! reason (Blink at 512): past the cap, what would have been a child becomes a sibling. Here a
//! start tag past [`MAX_DEPTH`] open elements is dropped, with its matching end tag; its text and
//! its children stay, in the element at the cap. Below the cap nothing changes, so on real pages
//! (news pages nest 20 to 60 deep) the tree is exactly html5ever's.
//!
//! The depth is counted on the tokens, before the tree builder, by a stack of open element names
//! that follows the tree builder's rules closely enough to never count more than it holds:
//! void elements and elements whose end tag is optional (`p`, `li`, `td`…) are not counted, an end
//! tag closes up to its element, and a start tag of an element that cannot nest in itself (`a`,
//! `button`, `form`, `nobr`) closes the open one first. A self-closing `<div/>` opens a `div` in
//! HTML, so it is counted (`svg` contents, where `/>` does close, are cut by `prune` first).

use std::cell::{Cell, RefCell};

use html5ever::TokenizerResult;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};
use html5ever::tree_builder::{TreeBuilder, TreeBuilderOpts, TreeSink};
use html5ever::{LocalName, local_name};
use scraper::{Html, HtmlTreeSink};

/// Open elements beyond which start tags are dropped (Blink's cap).
pub const MAX_DEPTH: usize = 512;

/// Parses a whole document, as `Html::parse_document` does, with the nesting capped.
pub fn parse(html: &str) -> Html {
    let builder = TreeBuilder::new(HtmlTreeSink::new(Html::new_document()), TreeBuilderOpts::default());
    let tokenizer = Tokenizer::new(DepthCap::new(builder), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from(html));
    // `Script` results only pause the tokenizer at `</script>`; nothing runs here.
    while !matches!(tokenizer.feed(&input), TokenizerResult::Done) {}
    tokenizer.end();
    let sink = tokenizer.sink.inner.sink;
    sink.finish()
}

/// Elements that are never counted: void elements (no end tag) and elements the tree builder
/// closes by itself when a sibling or the parent's end tag comes.
fn uncounted(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("html")
            | local_name!("head")
            | local_name!("body")
            | local_name!("p")
            | local_name!("li")
            | local_name!("dt")
            | local_name!("dd")
            | local_name!("option")
            | local_name!("optgroup")
            | local_name!("tr")
            | local_name!("td")
            | local_name!("th")
            | local_name!("thead")
            | local_name!("tbody")
            | local_name!("tfoot")
            | local_name!("colgroup")
            | local_name!("caption")
            | local_name!("rb")
            | local_name!("rt")
            | local_name!("rtc")
            | local_name!("rp")
            | local_name!("area")
            | local_name!("base")
            | local_name!("br")
            | local_name!("col")
            | local_name!("embed")
            | local_name!("hr")
            | local_name!("img")
            | local_name!("input")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
            | local_name!("param")
            | local_name!("keygen")
            | local_name!("frame")
            | local_name!("image")
    )
}

/// Elements whose start tag closes an open one of the same name.
fn no_self_nesting(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("a") | local_name!("button") | local_name!("form") | local_name!("nobr")
    )
}

/// A token sink between the tokenizer and the tree builder that drops start tags past the cap.
struct DepthCap<S> {
    inner: S,
    open: RefCell<Vec<LocalName>>,
    /// Start tags dropped and not yet closed, by name (few names: a short list).
    dropped: RefCell<Vec<(LocalName, usize)>>,
    /// Whether anything was dropped (then end tags are checked against `dropped` first).
    capped: Cell<bool>,
}

impl<S> DepthCap<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            open: RefCell::new(Vec::new()),
            dropped: RefCell::new(Vec::new()),
            capped: Cell::new(false),
        }
    }

    /// Whether `tag` reaches the tree builder.
    fn keep(&self, tag: &Tag) -> bool {
        if uncounted(&tag.name) {
            return true;
        }
        let mut open = self.open.borrow_mut();
        match tag.kind {
            TagKind::StartTag => {
                if no_self_nesting(&tag.name)
                    && let Some(at) = open.iter().rposition(|n| *n == tag.name)
                {
                    open.truncate(at);
                }
                if open.len() >= MAX_DEPTH {
                    let mut dropped = self.dropped.borrow_mut();
                    match dropped.iter_mut().find(|(n, _)| *n == tag.name) {
                        Some((_, count)) => *count += 1,
                        None => dropped.push((tag.name.clone(), 1)),
                    }
                    self.capped.set(true);
                    return false;
                }
                open.push(tag.name.clone());
                true
            }
            TagKind::EndTag => {
                if self.capped.get() {
                    let mut dropped = self.dropped.borrow_mut();
                    if let Some(at) = dropped.iter().position(|(n, _)| *n == tag.name) {
                        dropped[at].1 -= 1;
                        if dropped[at].1 == 0 {
                            dropped.swap_remove(at);
                        }
                        return false;
                    }
                }
                if let Some(at) = open.iter().rposition(|n| *n == tag.name) {
                    open.truncate(at);
                }
                true
            }
        }
    }
}

impl<S: TokenSink> TokenSink for DepthCap<S> {
    type Handle = S::Handle;

    fn process_token(&self, token: Token, line_number: u64) -> TokenSinkResult<S::Handle> {
        if let Token::TagToken(tag) = &token
            && !self.keep(tag)
        {
            return TokenSinkResult::Continue;
        }
        self.inner.process_token(token, line_number)
    }

    fn end(&self) {
        self.inner.end()
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.inner.adjusted_current_node_present_but_not_in_html_namespace()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Selector;

    fn depth(doc: &Html) -> usize {
        doc.tree.nodes().map(|n| n.ancestors().count()).max().unwrap_or(0)
    }

    fn nested(n: usize) -> String {
        format!(
            "<html><body>{}<p>Deep text.</p>{}<p>After.</p></body></html>",
            "<div>".repeat(n),
            "</div>".repeat(n)
        )
    }

    #[test]
    fn deep_nesting_is_capped_and_keeps_its_text() {
        let doc = parse(&nested(5_000));
        assert!(depth(&doc) <= MAX_DEPTH + 8, "depth {}", depth(&doc));
        let p = Selector::parse("p").unwrap();
        let texts: Vec<String> = doc.select(&p).map(|e| e.text().collect()).collect();
        assert_eq!(texts, ["Deep text.", "After."]);
        // The paragraph after the nest is outside every div, as it would be uncapped.
        let after = doc.select(&p).nth(1).unwrap();
        assert!(
            after
                .ancestors()
                .all(|a| a.value().as_element().is_none_or(|e| e.name() != "div"))
        );
    }

    #[test]
    fn below_the_cap_the_tree_is_html5evers() {
        let pages = [
            nested(300),
            "<ul><li>a<li>b<ul><li>c</ul></ul><p>one<p>two<div><a href=x>l<a href=y>m</div>".to_string(),
            "<table><tr><td>x<td>y<tr><td>z</table><b><i>bold</b>italic</i>".to_string(),
            "<p>".repeat(2_000) + "last",
            "<a href=x>".repeat(2_000) + "end",
        ];
        for page in pages {
            assert_eq!(parse(&page).html(), Html::parse_document(&page).html(), "{page:.80}");
        }
    }
}
