//! MinHash sketches of folded word shingles, for near-duplicates within one language: re-posts
//! with other boilerplate, truncated copies, light edits. 16 minima of 16 bits each and the shingle
//! count make a 36-byte sketch; from two sketches we estimate Jaccard similarity and how much of
//! the smaller text the larger one contains (which is what a truncated copy shows).

use super::normalize::fold;

/// Minima per sketch.
pub const K: usize = 16;
/// Words per shingle.
pub const SHINGLE: usize = 4;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sketch {
    pub mins: [u16; K],
    /// How many shingles the text had.
    pub shingles: u32,
}

/// splitmix64's finaliser: a cheap, well-mixed permutation of u64.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const SEEDS: [u64; K] = {
    let mut s = [0u64; K];
    let mut i = 0;
    while i < K {
        s[i] = 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1);
        i += 1;
    }
    s
};

pub fn sketch(text: &str) -> Sketch {
    let folded = fold(text);
    let words = folded
        .split(|c: char| !(c.is_ascii_digit() || super::normalize::is_letter(c)))
        .filter(|w| !w.is_empty())
        .map(|w| xxhash_rust::xxh3::xxh3_64(w.as_bytes()));
    let mut mins = [u64::MAX; K];
    let mut shingles = 0u32;
    let mut add = |h: u64| {
        shingles += 1;
        // One full mix per shingle, then one xor-multiply per permutation: cheap, and enough
        // independence between the minima for estimating overlap.
        let h = mix(h);
        for (m, seed) in mins.iter_mut().zip(SEEDS) {
            let v = (h ^ seed).wrapping_mul(0xd6e8_feb8_6659_fd93);
            if v < *m {
                *m = v;
            }
        }
    };
    // The last `SHINGLE` word hashes, oldest first once full.
    let mut window = [0u64; SHINGLE];
    let mut seen = 0usize;
    for w in words {
        if seen < SHINGLE {
            window[seen] = w;
        } else {
            window.rotate_left(1);
            window[SHINGLE - 1] = w;
        }
        seen += 1;
        if seen >= SHINGLE {
            add(window.iter().fold(0u64, |acc, w| mix(acc.rotate_left(17) ^ w)));
        }
    }
    if (1..SHINGLE).contains(&seen) {
        add(window[..seen].iter().fold(0u64, |acc, w| mix(acc ^ w)));
    }
    let mut out = Sketch { mins: [0; K], shingles };
    for (o, m) in out.mins.iter_mut().zip(mins) {
        *o = (m >> 48) as u16;
    }
    out
}

impl Sketch {
    pub fn is_empty(&self) -> bool {
        self.shingles == 0
    }

    /// Estimated Jaccard similarity of the two shingle sets.
    pub fn jaccard(&self, other: &Sketch) -> f32 {
        if self.is_empty() || other.is_empty() {
            return 0.0;
        }
        let same = self.mins.iter().zip(other.mins.iter()).filter(|(a, b)| a == b).count();
        same as f32 / K as f32
    }

    /// Estimated share of the smaller text's shingles that the larger one has.
    pub fn containment(&self, other: &Sketch) -> f32 {
        let j = self.jaccard(other);
        let (a, b) = (self.shingles as f32, other.shingles as f32);
        if a == 0.0 || b == 0.0 {
            return 0.0;
        }
        let inter = j * (a + b) / (1.0 + j);
        (inter / a.min(b)).min(1.0)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(K * 2 + 4);
        for m in self.mins {
            v.extend_from_slice(&m.to_le_bytes());
        }
        v.extend_from_slice(&self.shingles.to_le_bytes());
        v
    }

    pub fn from_bytes(b: &[u8]) -> Option<Sketch> {
        if b.len() != K * 2 + 4 {
            return None;
        }
        let mut s = Sketch::default();
        for (i, m) in s.mins.iter_mut().enumerate() {
            *m = u16::from_le_bytes([b[2 * i], b[2 * i + 1]]);
        }
        s.shingles = u32::from_le_bytes([b[K * 2], b[K * 2 + 1], b[K * 2 + 2], b[K * 2 + 3]]);
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Các lực lượng đã phối hợp tổ chức 611 đợt vận động quần chúng với hơn 62.000 người tham dự, \
        tham mưu thực hiện tốt công tác xây dựng phong trào toàn dân bảo vệ an ninh Tổ quốc, duy trì, củng cố hoạt động \
        có hiệu quả các mô hình tự phòng, tự quản về an ninh trật tự. Ngoài ra, các đơn vị còn tổ chức thực hiện các mô \
        hình giúp dân phát triển kinh tế, bảo vệ chủ quyền vững chắc khu vực biên giới, hải đảo, đồng hành cùng ngư dân.";

    #[test]
    fn near_copies_score_high_and_other_texts_low() {
        let a = sketch(TEXT);
        assert_eq!(a.jaccard(&sketch(TEXT)), 1.0);
        let reposted = format!("Báo Quảng Nam điện tử. {TEXT} Theo Báo Quảng Nam. Chia sẻ.");
        assert!(
            a.jaccard(&sketch(&reposted)) >= 0.6,
            "{}",
            a.jaccard(&sketch(&reposted))
        );
        let half = &TEXT[..TEXT.len() / 2];
        let h = sketch(half);
        assert!(a.containment(&h) >= 0.6, "{}", a.containment(&h));
        let other = sketch(
            "Lễ hội kéo dài đến ngày 17/2 với 25 hoạt động văn hóa, nghệ thuật, ẩm thực đặc sắc tại quảng trường \
             Sông Hoài, thành phố Hội An, thu hút hơn 12.000 du khách trong và ngoài nước đến tham quan.",
        );
        assert!(a.jaccard(&other) <= 0.2);
        assert_eq!(Sketch::from_bytes(&a.to_bytes()), Some(a));
    }

    /// Sketches are persisted in the state store: the streaming window must give the very sketch
    /// the word vector gave (that implementation is kept here as the oracle).
    #[test]
    fn the_streaming_window_gives_the_persisted_sketches() {
        fn by_vector(text: &str) -> Sketch {
            let folded = fold(text);
            let words: Vec<u64> = folded
                .split(|c: char| !(c.is_ascii_digit() || crate::fold::normalize::is_letter(c)))
                .filter(|w| !w.is_empty())
                .map(|w| xxhash_rust::xxh3::xxh3_64(w.as_bytes()))
                .collect();
            let mut mins = [u64::MAX; K];
            let mut shingles = 0u32;
            let mut add = |h: u64| {
                shingles += 1;
                let h = mix(h);
                for (m, seed) in mins.iter_mut().zip(SEEDS) {
                    *m = (*m).min((h ^ seed).wrapping_mul(0xd6e8_feb8_6659_fd93));
                }
            };
            if words.len() < SHINGLE {
                if !words.is_empty() {
                    add(words.iter().fold(0u64, |acc, w| mix(acc ^ w)));
                }
            } else {
                for win in words.windows(SHINGLE) {
                    add(win.iter().fold(0u64, |acc, w| mix(acc.rotate_left(17) ^ w)));
                }
            }
            let mut out = Sketch { mins: [0; K], shingles };
            for (o, m) in out.mins.iter_mut().zip(mins) {
                *o = (m >> 48) as u16;
            }
            out
        }
        for text in [
            "",
            "một",
            "một hai",
            "một hai ba",
            "một hai ba bốn",
            "một hai ba bốn năm",
            TEXT,
        ] {
            assert_eq!(sketch(text), by_vector(text), "{text:?}");
        }
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        for entry in std::fs::read_dir(seeds).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            assert_eq!(sketch(&text), by_vector(&text));
        }
    }
}
