//! Pure: a page as a message of the pages stream, and back.
//!
//! The payload is the page's description as JSON (4-byte big-endian length first) followed by its
//! bytes untouched, so a page costs its size plus a few hundred bytes. The message id is the
//! input's identity (source, key, bytes): JetStream drops a republished copy within its
//! duplicate window, and the leader acknowledges every copy once the input is done.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{FetchTrail, Lang, Page, PageFormat};

/// An input's id: BLAKE3 of its source, key and bytes' hash, 32 hex digits.
pub fn input_id(source: &str, key: &str, raw_hash: &str) -> String {
    let mut h = blake3::Hasher::new();
    for part in [source, key, raw_hash] {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    crate::model::short_hash(&h.finalize())
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Header {
    pub source: String,
    pub key: String,
    pub location: String,
    pub html: bool,
    pub raw_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<Lang>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch: Option<FetchTrail>,
}

/// The page's id and payload.
pub fn encode(page: &Page) -> (String, Vec<u8>) {
    let header = Header {
        source: page.source.to_string(),
        key: page.key.clone(),
        location: page.location.clone(),
        html: page.format == PageFormat::Html,
        raw_hash: page.raw_hash.clone(),
        lang: page.lang_hint,
        charset: page.charset.clone(),
        fetch: page.fetch.as_deref().cloned(),
    };
    let json = serde_json::to_vec(&header).unwrap_or_default();
    let mut out = Vec::with_capacity(4 + json.len() + page.bytes.len());
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&page.bytes);
    (input_id(&page.source, &page.key, &page.raw_hash), out)
}

/// The header of a payload (enough to name the input in an error or a dead letter).
pub fn header(payload: &[u8]) -> Result<(Header, &[u8]), String> {
    let (len, rest) = payload
        .split_first_chunk::<4>()
        .ok_or_else(|| format!("a message of {} bytes has no header", payload.len()))?;
    let len = u32::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err(format!("a header of {len} bytes in a message of {}", payload.len()));
    }
    let (json, bytes) = rest.split_at(len);
    let header = serde_json::from_slice(json).map_err(|e| format!("the header is not a page's: {e}"))?;
    Ok((header, bytes))
}

/// The page a payload carries; `rules` gives a source's extraction rules by name (every member
/// runs the same config, so the leader knows them).
pub fn decode(
    payload: &[u8],
    rules: impl Fn(&str) -> Option<Arc<crate::scrape::rules::Rules>>,
) -> Result<Page, String> {
    let (h, bytes) = header(payload)?;
    let actual = crate::model::short_hash(&blake3::hash(bytes));
    if actual != h.raw_hash {
        return Err(format!("{}: the bytes do not match their hash", h.location));
    }
    Ok(Page {
        rules: rules(&h.source),
        source: Arc::from(h.source),
        key: h.key,
        location: h.location,
        format: if h.html { PageFormat::Html } else { PageFormat::Text },
        bytes: bytes.to_vec(),
        raw_hash: h.raw_hash,
        lang_hint: h.lang,
        charset: h.charset,
        fetch: h.fetch.map(Box::new),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(bytes: &[u8]) -> Page {
        Page {
            source: Arc::from("baoquangnam"),
            key: "https://baoquangnam.vn/a.htm".into(),
            location: "https://baoquangnam.vn/a.htm".into(),
            format: PageFormat::Html,
            bytes: bytes.to_vec(),
            raw_hash: crate::model::short_hash(&blake3::hash(bytes)),
            lang_hint: Some(Lang::Vi),
            charset: Some("utf-8".into()),
            rules: None,
            fetch: Some(Box::new(FetchTrail {
                listed_by: Some("https://baoquangnam.vn/rss".into()),
                requested: "https://baoquangnam.vn/a.htm".into(),
                status: 200,
                attempts: 2,
                waited_ms: 1200,
                ..FetchTrail::default()
            })),
        }
    }

    #[test]
    fn a_page_survives_the_stream() {
        let p = page("<html><p>Sáng 15/10, UBND tỉnh…</p>\0\u{1}".as_bytes());
        let (id, payload) = encode(&p);
        assert_eq!(id, input_id(&p.source, &p.key, &p.raw_hash));
        assert_eq!(id.len(), 32);
        let back = decode(&payload, |_| None).expect("decodes");
        assert_eq!(
            (&back.source, &back.key, &back.bytes, &back.raw_hash, back.format),
            (&p.source, &p.key, &p.bytes, &p.raw_hash, p.format)
        );
        assert_eq!(
            (back.lang_hint, &back.charset, &back.fetch),
            (p.lang_hint, &p.charset, &p.fetch)
        );
        // Another input, another id; the same input from another source, another id.
        assert_ne!(encode(&page(b"other")).0, id);
        assert_ne!(input_id("x", &p.key, &p.raw_hash), id);
    }

    #[test]
    fn a_damaged_message_is_refused_with_a_reason() {
        let (_, mut payload) = encode(&page(b"<p>bytes</p>"));
        assert!(decode(&payload[..2], |_| None).unwrap_err().contains("no header"));
        assert!(
            decode(&[0, 0, 1, 0, b'{'], |_| None)
                .unwrap_err()
                .contains("header of 256 bytes")
        );
        let last = payload.len() - 1;
        payload[last] ^= 1;
        assert!(
            decode(&payload, |_| None)
                .unwrap_err()
                .contains("do not match their hash")
        );
        assert!(
            decode(&[0, 0, 0, 1, b'x'], |_| None)
                .unwrap_err()
                .contains("not a page's")
        );
    }
}
