//! Per-source extraction rules (`[sources.NAME.extract]`): CSS selectors for the title, body,
//! date and authors, and elements to remove. `selector@attr` takes an attribute's value instead of
//! the element's text.
//!
//! Rules are parsed when the config is validated, so a page only ever meets valid selectors. A
//! rule that matches nothing on a page fails that page (`ScrapeError::RuleMissed`): the site
//! changed its template, and an empty record would hide it.

use std::fmt;

use scraper::Selector;

/// One rule: a selector, and the attribute to read (else the text).
#[derive(Clone)]
pub struct Pick {
    pub css: String,
    pub selector: Selector,
    pub attr: Option<String>,
}

impl fmt::Debug for Pick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.css)?;
        if let Some(a) = &self.attr {
            write!(f, "@{a}")?;
        }
        Ok(())
    }
}

/// Two picks are the same rule when they were written the same way.
impl PartialEq for Pick {
    fn eq(&self, other: &Pick) -> bool {
        self.css == other.css && self.attr == other.attr
    }
}

impl Pick {
    /// Parses `selector` or `selector@attr`.
    pub fn parse(spec: &str) -> Result<Pick, String> {
        let spec = spec.trim();
        let (css, attr) = match spec.rsplit_once('@') {
            Some((css, attr))
                if !attr.is_empty()
                    && attr
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':')) =>
            {
                (css.trim(), Some(attr.to_ascii_lowercase()))
            }
            _ => (spec, None),
        };
        if css.is_empty() {
            return Err(format!("{spec:?} has no selector"));
        }
        let selector = Selector::parse(css).map_err(|e| format!("invalid CSS selector {css:?}: {e}"))?;
        Ok(Pick {
            css: css.to_string(),
            selector,
            attr,
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rules {
    pub title: Option<Pick>,
    pub body: Option<Pick>,
    pub date: Option<Pick>,
    pub authors: Option<Pick>,
    pub remove: Vec<Pick>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_with_and_without_attributes() {
        let p = Pick::parse("meta[property='article:published_time']@content").unwrap();
        assert_eq!(p.css, "meta[property='article:published_time']");
        assert_eq!(p.attr.as_deref(), Some("content"));
        let p = Pick::parse(" div.article-content ").unwrap();
        assert_eq!((p.css.as_str(), p.attr), ("div.article-content", None));
        assert!(Pick::parse("h1[").unwrap_err().contains("invalid CSS selector"));
        assert!(Pick::parse("@content").is_err());
        // An `@` inside an attribute value is part of the selector.
        let p = Pick::parse("a[href^='mailto:x@y']").unwrap();
        assert_eq!(p.attr, None);
    }
}
