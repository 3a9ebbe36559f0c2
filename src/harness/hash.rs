//! Stable hashing for decision keys: FNV-1a over what `Hash` writes, finished and mixed
//! with splitmix64. The bottom of the harness: the decision source and the cause both
//! key by it, and nothing here imports anything of the harness.

use std::hash::{Hash, Hasher};

/// A stable 64-bit hash of `value` (FNV-1a over what `Hash` writes, then splitmix64):
/// the same on every run and every build of this source.
pub fn key(value: &impl Hash) -> u64 {
    let mut hasher = StableHasher(FNV_OFFSET);
    value.hash(&mut hasher);
    hasher.finish()
}

/// [`key`] of `value`'s text, `key(&value.to_string().as_str())`, without making the
/// text: what `Display` writes goes straight into the hash (FNV-1a takes bytes one at a
/// time, however they come), then the end mark `str`'s `Hash` adds.
pub fn key_of_text(value: &impl std::fmt::Display) -> u64 {
    let mut hasher = StableHasher(FNV_OFFSET);
    let _ = std::fmt::Write::write_fmt(&mut hasher, format_args!("{value}"));
    hasher.write_u8(0xff);
    hasher.finish()
}

/// FNV-1a's starting state.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

struct StableHasher(u64);

/// Text written into the hasher is hashed as its bytes ([`key_of_text`]).
impl std::fmt::Write for StableHasher {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.write(text.as_bytes());
        Ok(())
    }
}

impl Hasher for StableHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = mix(self.0, n);
    }
    fn finish(&self) -> u64 {
        splitmix64(self.0)
    }
}

/// Two keys into one.
pub fn mix(a: u64, b: u64) -> u64 {
    splitmix64(a.rotate_left(23) ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// splitmix64 (Steele, Lea, Flood 2014) of the state `x`: its next output. The seed
/// hash of `--partition hash:` and the mixing of decision keys.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_text_s_key_is_the_key_of_the_text_made() {
        let id: Arc<str> = Arc::from("T17");
        assert_eq!(key_of_text(&id), key(&"T17"));
        assert_eq!(key_of_text(&id), key(&id.to_string().as_str()));
        for n in [0u64, 7, 1_000_000, u64::MAX] {
            assert_eq!(key_of_text(&n), key(&n.to_string().as_str()), "{n}");
        }
        assert_eq!(key_of_text(&""), key(&""));
        assert_eq!(key_of_text(&"naïve/€"), key(&"naïve/€"));
        assert_ne!(key_of_text(&"T1"), key_of_text(&"T17"), "the end mark tells a prefix apart");
    }
}
