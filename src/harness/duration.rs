//! Virtual durations as scenario files and flags write them (`"250ms"`, `"5s"`, `"15m"`),
//! for any system's scenario format: [`Dur`] reads and writes them through serde.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::Duration;

/// A virtual duration written as `"250ms"`, `"5s"`, `"15m"` or `"1h"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&fmt_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Dur;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a duration like \"1s\" or \"250ms\" (a whole number with a unit, in quotes)")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Dur, E> {
                parse_duration(text).map(Dur).ok_or_else(|| {
                    E::custom(format!(
                        "invalid duration {}: write a whole number with a unit, like \"250ms\", \"5s\", \"15m\", \"1h\" (at most {}s)",
                        super::echo(text),
                        MAX_DURATION.as_secs()
                    ))
                })
            }
        }
        d.deserialize_str(Text)
    }
}

/// The longest duration a scenario or a flag can write (about 31 years); settings have
/// narrower ranges of their own.
pub const MAX_DURATION: Duration = Duration::from_secs(1_000_000_000);

/// A `[low, high]` range: exactly two durations (serde's arrays would take the first
/// two of a longer list).
pub fn pair<'de, D: Deserializer<'de>>(d: D) -> Result<[Dur; 2], D::Error> {
    let items = Vec::<Dur>::deserialize(d)?;
    match items[..] {
        [low, high] => Ok([low, high]),
        _ => Err(serde::de::Error::custom(format!("{} durations; write a range as [low, high], two durations", items.len()))),
    }
}

/// [`pair`] for a range that may be left out (`#[serde(default, deserialize_with = "pair_opt")]`).
pub fn pair_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[Dur; 2]>, D::Error> {
    pair(d).map(Some)
}

/// A duration as scenarios and flags write it: a whole number with a unit (`us`, `ms`,
/// `s`, `m`, `h`), or decimal `s`/`ms` as traces print times. `None` for anything else,
/// including anything longer than [`MAX_DURATION`]: no arithmetic here can overflow.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (number, unit) = text.split_at(split);
    let d = if number.contains('.') {
        // Decimal seconds or milliseconds, as traces print them ("2.014s").
        let x: f64 = number.parse().ok()?;
        let secs = match unit {
            "s" => x,
            "ms" => x / 1000.0,
            _ => return None,
        };
        Duration::try_from_secs_f64(secs).ok()?
    } else {
        let n: u64 = number.parse().ok()?;
        let secs_per = match unit {
            "us" => return Some(Duration::from_micros(n)).filter(|d| *d <= MAX_DURATION),
            "ms" => return Some(Duration::from_millis(n)).filter(|d| *d <= MAX_DURATION),
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return None,
        };
        Duration::from_secs(n.checked_mul(secs_per)?)
    };
    Some(d).filter(|d| *d <= MAX_DURATION)
}

/// A duration as [`parse_duration`] reads it back, in the largest whole unit.
pub fn fmt_duration(d: Duration) -> String {
    if !d.as_micros().is_multiple_of(1000) {
        format!("{}us", d.as_micros())
    } else if d.subsec_millis() != 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs())
    }
}
