//! The fold index's persisted form: one `DocRow` per indexed document, the document's fields in a
//! versioned blob that only this module reads or writes. The state store keeps rows in arrival
//! order and knows nothing of what is inside them.
//!
//! Blob format, version 1 (little-endian): the version byte, then the relation (one byte), the
//! language (one byte, 0 when unknown), the event day (month, day; 0, 0 when unknown), the index
//! time (i64), then the strings story id, duplicate-of, content hash, location and original URL
//! (each a u32 length and UTF-8 bytes, an absent one written as `u32::MAX`), the features (a u32
//! count and u32 keys) and the MinHash sketch (a u32 length and its bytes). Version 2 appends the
//! features' ranks (a u32 count and one byte each), the event id (a string) and the alternates (a
//! u32 count and strings). A version-1 row reads with no ranks or alternates and its story as its
//! event.

use super::index::IndexedDoc;
use super::minhash::Sketch;
use crate::model::{Lang, Relation};

const VERSION: u8 = 2;
const ABSENT: u32 = u32::MAX;

/// A persisted document's new place after a merge or an event link.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    pub record_id: String,
    pub story_id: String,
    pub event_id: String,
    pub relation: Relation,
    pub duplicate_of: Option<String>,
}

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
    Lang::tag(l)
}

fn lang_of(code: u8) -> Option<Option<Lang>> {
    Lang::from_tag(code)
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
    /// A persisted row with its story placement replaced (a merge or event link).
    pub fn replace_placement(row: &DocRow, p: &Moved) -> Result<DocRow, String> {
        let mut d = IndexedDoc::from_row(row)?;
        d.story_id.clone_from(&p.story_id);
        d.event_id.clone_from(&p.event_id);
        d.relation = p.relation;
        d.duplicate_of.clone_from(&p.duplicate_of);
        Ok(d.to_row())
    }

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
        b.extend_from_slice(&(self.order.len() as u32).to_le_bytes());
        b.extend_from_slice(&self.order);
        put_str(&mut b, Some(&self.event_id));
        b.extend_from_slice(&(self.alternates.len() as u32).to_le_bytes());
        for a in &self.alternates {
            put_str(&mut b, Some(a));
        }
        DocRow {
            record_id: self.record_id.clone(),
            blob: b,
        }
    }

    /// Reads a row back; the error says what is wrong with it.
    pub fn from_row(row: &DocRow) -> Result<IndexedDoc, String> {
        let mut r = Reader(&row.blob);
        let version = r.u8()?;
        if version == 0 || version > VERSION {
            return Err(format!("fold document version {version}, expected 1 to {VERSION}"));
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
        let features: Vec<u32> = r
            .take(n.checked_mul(4).ok_or("feature count overflows")?)?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let len = r.u32()? as usize;
        let sketch = Sketch::from_bytes(r.take(len)?).unwrap_or_default();
        let (order, event_id, alternates) = if version >= 2 {
            let n = r.u32()? as usize;
            let order = r.take(n)?.to_vec();
            let event_id = r.string()?.ok_or("no event id")?;
            let n = r.u32()? as usize;
            let mut alternates = Vec::with_capacity(n.min(64));
            for _ in 0..n {
                alternates.push(r.string()?.ok_or("absent alternate")?);
            }
            (order, event_id, alternates)
        } else {
            (Vec::new(), story_id.clone(), Vec::new())
        };
        if !order.is_empty() && order.len() != features.len() {
            return Err("feature ranks do not match the features".into());
        }
        if !r.0.is_empty() {
            return Err("trailing bytes after the fold document".into());
        }
        Ok(IndexedDoc {
            record_id: row.record_id.clone(),
            story_id,
            relation,
            duplicate_of,
            lang,
            content_hash,
            location,
            original_url,
            alternates,
            features,
            order,
            sketch,
            event_day: (m != 0).then_some((m, d)),
            event_id,
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
            alternates: vec!["https://x.vn/fr/a".into()],
            features: vec![1, 2, 0xffff_ffff],
            order: vec![0, 2, 1],
            sketch: Sketch::default(),
            event_day: Some((1, 19)),
            event_id: "e1".into(),
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
        assert_eq!((back.order, back.event_id.as_str()), (vec![0, 2, 1], "e1"));
    }

    #[test]
    fn a_version_one_row_reads_with_its_story_as_event() {
        let mut d = doc();
        d.order.clear();
        d.alternates.clear();
        let mut row = d.to_row();
        row.blob[0] = 1;
        // Version 1 ends after the sketch: drop the (empty) ranks, the event id and the (empty)
        // alternates.
        let tail = 4 + 4 + d.event_id.len() + 4;
        row.blob.truncate(row.blob.len() - tail);
        let back = IndexedDoc::from_row(&row).unwrap();
        assert_eq!((back.event_id.as_str(), back.order.len()), ("s1", 0));
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
