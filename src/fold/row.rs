//! The fold index's persisted form: one `DocRow` per indexed document, the document's fields in a
//! versioned blob that only this module reads or writes. The state store keeps rows in arrival
//! order and knows nothing of what is inside them.
//!
//! Blob format, version 1 (little-endian): the version byte, then the relation (one byte), the
//! language (one byte, 0 when unknown), the event day (month, day; 0, 0 when unknown), the index
//! time (i64), then the strings story id, duplicate-of, content hash, location and original URL
//! (each a u32 length and UTF-8 bytes, an absent one written as `u32::MAX`), the features (a u32
//! count and u32 keys) and the MinHash sketch (a u32 length and its bytes).

use super::index::IndexedDoc;
use super::minhash::Sketch;
use crate::model::{Lang, Relation};

const VERSION: u8 = 1;
const ABSENT: u32 = u32::MAX;

/// A document as the state store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct DocRow {
    pub record_id: String,
    pub blob: Vec<u8>,
}

fn relation_code(r: Relation) -> u8 {
    match r {
        Relation::Original => 0,
        Relation::Duplicate => 1,
        Relation::NearDuplicate => 2,
        Relation::Translation => 3,
    }
}

fn relation_of(code: u8) -> Option<Relation> {
    Some(match code {
        0 => Relation::Original,
        1 => Relation::Duplicate,
        2 => Relation::NearDuplicate,
        3 => Relation::Translation,
        _ => return None,
    })
}

fn lang_code(l: Option<Lang>) -> u8 {
    match l {
        None => 0,
        Some(Lang::Vi) => 1,
        Some(Lang::Fr) => 2,
        Some(Lang::En) => 3,
    }
}

fn lang_of(code: u8) -> Option<Option<Lang>> {
    Some(match code {
        0 => None,
        1 => Some(Lang::Vi),
        2 => Some(Lang::Fr),
        3 => Some(Lang::En),
        _ => return None,
    })
}

fn put_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        None => out.extend_from_slice(&ABSENT.to_le_bytes()),
    }
}

impl IndexedDoc {
    pub fn to_row(&self) -> DocRow {
        let mut b = Vec::with_capacity(64 + self.location.len() + self.features.len() * 4);
        b.push(VERSION);
        b.push(relation_code(self.relation));
        b.push(lang_code(self.lang));
        let (m, d) = self.event_day.unwrap_or((0, 0));
        b.extend_from_slice(&[m, d]);
        b.extend_from_slice(&self.at.to_le_bytes());
        put_str(&mut b, Some(&self.story_id));
        put_str(&mut b, self.duplicate_of.as_deref());
        put_str(&mut b, Some(&self.content_hash));
        put_str(&mut b, Some(&self.location));
        put_str(&mut b, self.original_url.as_deref());
        b.extend_from_slice(&(self.features.len() as u32).to_le_bytes());
        for f in &self.features {
            b.extend_from_slice(&f.to_le_bytes());
        }
        let sketch = self.sketch.to_bytes();
        b.extend_from_slice(&(sketch.len() as u32).to_le_bytes());
        b.extend_from_slice(&sketch);
        DocRow {
            record_id: self.record_id.clone(),
            blob: b,
        }
    }

    /// Reads a row back; the error says what is wrong with it.
    pub fn from_row(row: &DocRow) -> Result<IndexedDoc, String> {
        let mut r = Reader(&row.blob);
        let version = r.u8()?;
        if version != VERSION {
            return Err(format!("fold document version {version}, expected {VERSION}"));
        }
        let relation = relation_of(r.u8()?).ok_or("unknown relation")?;
        let lang = lang_of(r.u8()?).ok_or("unknown language")?;
        let (m, d) = (r.u8()?, r.u8()?);
        let at = i64::from_le_bytes(r.take(8)?.try_into().map_err(|_| "short index time")?);
        let story_id = r.string()?.ok_or("no story id")?;
        let duplicate_of = r.string()?;
        let content_hash = r.string()?.ok_or("no content hash")?;
        let location = r.string()?.ok_or("no location")?;
        let original_url = r.string()?;
        let n = r.u32()? as usize;
        let features = r
            .take(n.checked_mul(4).ok_or("feature count overflows")?)?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let len = r.u32()? as usize;
        let sketch = Sketch::from_bytes(r.take(len)?).unwrap_or_default();
        Ok(IndexedDoc {
            record_id: row.record_id.clone(),
            story_id,
            relation,
            duplicate_of,
            lang,
            content_hash,
            location,
            original_url,
            features,
            sketch,
            event_day: (m != 0).then_some((m, d)),
            at,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated fold document".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self) -> Result<Option<String>, String> {
        let n = self.u32()?;
        if n == ABSENT {
            return Ok(None);
        }
        let bytes = self.take(n as usize)?;
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| "fold document string is not UTF-8".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> IndexedDoc {
        IndexedDoc {
            record_id: "r1".into(),
            story_id: "s1".into(),
            relation: Relation::Translation,
            duplicate_of: Some("r0".into()),
            lang: Some(Lang::Fr),
            content_hash: "h".into(),
            location: "/seeds/a.txt".into(),
            original_url: None,
            features: vec![1, 2, 0xffff_ffff],
            sketch: Sketch::default(),
            event_day: Some((1, 19)),
            at: 1_700_000_000,
        }
    }

    #[test]
    fn a_row_reads_back_as_the_document() {
        let d = doc();
        let row = d.to_row();
        assert_eq!(row.record_id, "r1");
        let back = IndexedDoc::from_row(&row).unwrap();
        assert_eq!(back.to_row(), row);
        assert_eq!(back.event_day, Some((1, 19)));
        assert_eq!(back.duplicate_of.as_deref(), Some("r0"));
        assert_eq!(back.original_url, None);
        assert_eq!(back.features, vec![1, 2, 0xffff_ffff]);
    }

    #[test]
    fn damaged_rows_are_errors_not_panics() {
        let row = doc().to_row();
        for cut in 0..row.blob.len() {
            let short = DocRow {
                record_id: "r1".into(),
                blob: row.blob[..cut].to_vec(),
            };
            assert!(IndexedDoc::from_row(&short).is_err(), "cut at {cut}");
        }
        let mut bad = row.clone();
        bad.blob[0] = 9;
        assert!(IndexedDoc::from_row(&bad).unwrap_err().contains("version 9"));
    }
}
