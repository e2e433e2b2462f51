//! Language detection with whatlang, restricted to the languages newsfold handles. Short or
//! unreliable samples fall back to what the page or its source declares.

use whatlang::{Detector, Lang as WLang};

use crate::model::Lang;

/// Below this many characters the detector is not trusted over a declared language.
const MIN_CHARS: usize = 50;

pub fn detect(text: &str, declared: Option<Lang>) -> Option<Lang> {
    detect_scored(text, declared).0
}

/// The language and a confidence in [0, 1]: the detector's own when it decides; when a declared
/// language decides, at least 0.5, and the detector's if it agrees.
pub fn detect_scored(text: &str, declared: Option<Lang>) -> (Option<Lang>, f64) {
    let detector = Detector::with_allowlist(vec![WLang::Vie, WLang::Fra, WLang::Eng]);
    let info = detector.detect(text);
    let detected = info.as_ref().map(|i| match i.lang() {
        WLang::Vie => Lang::Vi,
        WLang::Fra => Lang::Fr,
        _ => Lang::En,
    });
    let confidence = info.as_ref().map_or(0.0, |i| i.confidence());
    let reliable = info.as_ref().is_some_and(|i| i.is_reliable()) && text.chars().count() >= MIN_CHARS;
    match (reliable, declared) {
        (true, _) | (false, None) => (detected, if detected.is_some() { confidence } else { 0.0 }),
        (false, Some(d)) if detected == Some(d) => (Some(d), confidence.max(0.5)),
        (false, Some(d)) => (Some(d), 0.5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_three_languages() {
        assert_eq!(
            detect(
                "Các lực lượng đã phối hợp tổ chức 611 đợt vận động quần chúng với hơn 62.000 người tham dự",
                None
            ),
            Some(Lang::Vi)
        );
        assert_eq!(
            detect(
                "Les forces se sont coordonnées pour organiser 611 mobilisations de masse avec plus de 62 000 participants",
                None
            ),
            Some(Lang::Fr)
        );
        assert_eq!(
            detect(
                "The forces coordinated to organise 611 mass mobilisation campaigns with more than 62,000 participants",
                None
            ),
            Some(Lang::En)
        );
        assert_eq!(detect("OK", Some(Lang::Fr)), Some(Lang::Fr));
    }
}
