//! Language detection with whatlang, restricted to the languages newsfold handles. Short or
//! unreliable samples fall back to what the page or its source declares.

use whatlang::{Detector, Lang as WLang};

use crate::model::Lang;

/// Below this many characters the detector is not trusted over a declared language.
const MIN_CHARS: usize = 50;

/// The detector's languages: one for each `Lang` (Malay is read as Indonesian).
const ALLOWED: [WLang; 9] = [
    WLang::Vie,
    WLang::Fra,
    WLang::Eng,
    WLang::Deu,
    WLang::Spa,
    WLang::Por,
    WLang::Ita,
    WLang::Nld,
    WLang::Ind,
];

pub fn detect(text: &str, declared: Option<Lang>) -> Option<Lang> {
    detect_scored(text, declared).0
}

/// The language and a confidence in [0, 1]: the detector's own when it decides; when a declared
/// language decides, at least 0.5, and the detector's if it agrees.
pub fn detect_scored(text: &str, declared: Option<Lang>) -> (Option<Lang>, f64) {
    let detector = Detector::with_allowlist(ALLOWED.to_vec());
    let info = detector.detect(text);
    let detected = info.as_ref().and_then(|i| {
        Some(match i.lang() {
            WLang::Vie => Lang::Vi,
            WLang::Fra => Lang::Fr,
            WLang::Eng => Lang::En,
            WLang::Deu => Lang::De,
            WLang::Spa => Lang::Es,
            WLang::Por => Lang::Pt,
            WLang::Ita => Lang::It,
            WLang::Nld => Lang::Nl,
            // Malay and Indonesian look alike to the detector: a declared `ms` keeps its name.
            WLang::Ind if declared == Some(Lang::Ms) => Lang::Ms,
            WLang::Ind => Lang::Id,
            _ => return None,
        })
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
        assert_eq!(
            detect(
                "Am Nachmittag des 20. Juni beschlagnahmte die Polizei der Provinz mehr als 6,4 kg Marihuana",
                None
            ),
            Some(Lang::De)
        );
        assert_eq!(
            detect(
                "En la tarde del 26 de abril, la policía de la provincia incautó más de 6,4 kg de marihuana",
                None
            ),
            Some(Lang::Es)
        );
        // A script outside the set has no language rather than a wrong one.
        assert_eq!(
            detect("في مساء يوم 26 أبريل، صادرت شرطة المقاطعة أكثر من 6.4 كيلوغرام", None),
            None
        );
    }
}
