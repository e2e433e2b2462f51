//! Closed sets named in config files, logs, metrics and the README: source and sink kinds, stage
//! names and failure kinds. Each is declared once with `closed_set!`, which writes the enum, its
//! list of members and their names from one table, so a name cannot exist without its variant and
//! every `match` on the enum is exhaustive.

/// A closed set whose members have stable lowercase names.
pub trait Named: Copy + Sized + 'static {
    /// Every member, in declaration order.
    const ALL: &'static [Self];
    fn name(self) -> &'static str;

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// "`a`, `b`, `c`": for error messages.
    fn expected() -> String {
        Self::ALL
            .iter()
            .map(|k| format!("`{}`", k.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Declares an enum with one name per variant: `closed_set! { pub enum X { A = "a", B = "b" } }`.
#[macro_export]
macro_rules! closed_set {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $crate::kinds::Named for $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];
            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl $name {
            /// The member's name, as config files, logs and metrics spell it.
            pub fn as_str(self) -> &'static str {
                $crate::kinds::Named::name(self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

closed_set! {
    /// The pipeline's stages, as the `stage` log field and metric label name them.
    pub enum Stage {
        Source = "source",
        Scrape = "scrape",
        Fold = "fold",
        Sink = "sink",
    }
}

closed_set! {
    /// Why an input failed: the `kind` log field, the summary's `failed KIND` lines and the
    /// `kind` label of `newsfold_source_errors_total`.
    pub enum FailureKind {
        // Reading a page (files and HTTP).
        TooLarge = "too_large",
        Unreadable = "unreadable",
        Unlistable = "unlistable",
        // Scraping.
        Empty = "empty",
        Binary = "binary",
        InvalidUtf8 = "invalid_utf8",
        NoText = "no_text",
        RuleMissed = "rule_missed",
        // Fetching.
        Robots = "robots",
        RefusedAddress = "refused_address",
        OffSite = "off_site",
        RedirectLoop = "redirect_loop",
        TooManyRedirects = "too_many_redirects",
        BadRedirect = "bad_redirect",
        Timeout = "timeout",
        Connect = "connect",
        Http4xx = "http_4xx",
        Http5xx = "http_5xx",
        Http429 = "http_429",
        RetryAfter = "retry_after",
        ContentType = "content_type",
        Body = "body",
        Cancelled = "cancelled",
        // Discovery documents.
        BadFeed = "bad_feed",
        BadItem = "bad_item",
        BadSitemap = "bad_sitemap",
        BadListing = "bad_listing",
        NoLinks = "no_links",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for k in FailureKind::ALL {
            assert_eq!(FailureKind::from_name(k.name()), Some(*k));
        }
        let mut names: Vec<_> = FailureKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FailureKind::ALL.len());
        assert_eq!(Stage::from_name("fold"), Some(Stage::Fold));
        assert_eq!(Stage::from_name("nope"), None);
        assert_eq!(Stage::expected(), "`source`, `scrape`, `fold`, `sink`");
    }
}
