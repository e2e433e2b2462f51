//! Cuts what no extraction reads before the HTML parser sees it: the contents of `<script>`
//! (except JSON, such as JSON-LD metadata), `<style>` and `<svg>`. On news pages these are about
//! half the bytes, and the parser's cost is per byte.
//!
//! `script` and `style` are raw-text elements: their contents end at the first `</script` or
//! `</style`, whatever comes before, which is exactly where this cut ends too, so the parsed tree
//! is the same less their text. Comments are copied untouched, so a `<script>` inside one is not
//! mistaken for a tag.

use std::borrow::Cow;

/// Elements whose contents are cut.
const CUT: &[&str] = &["script", "style", "svg"];

fn starts_with_ignore_case(hay: &[u8], needle: &str) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle.as_bytes())
}

/// Finds `</name` (any case) from `from`.
fn find_close(html: &str, from: usize, name: &str) -> Option<usize> {
    let bytes = html.as_bytes();
    let mut i = from;
    // `str::find` on an ASCII char is a memchr.
    while let Some(off) = html[i..].find("</") {
        let at = i + off;
        if starts_with_ignore_case(&bytes[at + 2..], name) {
            return Some(at);
        }
        i = at + 2;
    }
    None
}

pub fn prune(html: &str) -> Cow<'_, str> {
    let bytes = html.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `html` already handled
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let at = i + off;
        let rest = &bytes[at + 1..];
        if rest.starts_with(b"!--") {
            // Copy the comment as it is.
            i = match html[at + 4..].find("-->") {
                Some(end) => at + 4 + end + 3,
                None => break,
            };
            continue;
        }
        let Some(name) = CUT.iter().find(|n| {
            starts_with_ignore_case(rest, n)
                && rest
                    .get(n.len())
                    .is_some_and(|&b| b == b'>' || b == b'/' || b.is_ascii_whitespace())
        }) else {
            i = at + 1;
            continue;
        };
        let Some(tag_end) = html[at..].find('>').map(|e| at + e + 1) else {
            break;
        };
        let tag = &html[at..tag_end];
        if *name == "script" && tag.to_ascii_lowercase().contains("json") {
            i = tag_end;
            continue;
        }
        let Some(close) = find_close(html, tag_end, name) else {
            break;
        };
        let o = out.get_or_insert_with(|| String::with_capacity(html.len() / 2));
        o.push_str(&html[copied..tag_end]);
        copied = close;
        i = close + 2;
    }
    match out {
        Some(mut o) => {
            o.push_str(&html[copied..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(html),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_script_style_and_svg_contents_but_keeps_json_and_comments() {
        let page = r#"<html><head><SCRIPT type="text/javascript">var a = "<p>not text</p>"; if (a < b) {}</SCRIPT>
<script type="application/ld+json">{"@type":"NewsArticle","datePublished":"2024-01-19"}</script>
<style>p { color: red }</style></head><body><!-- <script> in a comment --><p>Chào <b>bạn</b></p>
<svg viewBox="0 0 1 1"><path d="M0 0"/><text>icon</text></svg><p>Hết</p></body></html>"#;
        let got = prune(page);
        assert_eq!(
            got,
            r#"<html><head><SCRIPT type="text/javascript"></SCRIPT>
<script type="application/ld+json">{"@type":"NewsArticle","datePublished":"2024-01-19"}</script>
<style></style></head><body><!-- <script> in a comment --><p>Chào <b>bạn</b></p>
<svg viewBox="0 0 1 1"></svg><p>Hết</p></body></html>"#
        );
        let plain = "<p>no scripts here, a < b</p><scripted>x</scripted>";
        assert!(matches!(prune(plain), Cow::Borrowed(_)));
        // Unclosed: nothing is cut past the point where the parser would also read raw text.
        assert_eq!(prune("<p>a</p><script>var x"), "<p>a</p><script>var x");
    }
}
