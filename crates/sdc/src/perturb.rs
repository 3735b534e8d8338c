//! Cell-key perturbation: the same records always get the same noise.
//!
//! Every record (or case) gets a key from a keyed hash of its id with the
//! store's secret; a cell's key is the sum of the keys of the units it
//! counts (wrapping, so it is a uniformly random 64-bit number for any
//! non-empty set). Its noise is drawn from the cell key and the count, so
//! a cell published by two releases, or asked for by two different
//! queries over the same records, gets the same noise: subtracting or
//! averaging them gains nothing (the method of the Australian Bureau of
//! Statistics' TableBuilder and of the UK's 2021 Census flexible tables).
//! The key of a union of disjoint sets is the sum of their keys, which is
//! how a count assembled from hidden groups (the service gaps) gets the key
//! its records would have given it.
//!
//! Zeros are never perturbed (no records, no one to protect, and an empty
//! category must stay empty), counts below K are not published at all, and
//! a count of K or more never becomes smaller than K, so a published
//! figure below K means nothing.

use siphasher::sip::SipHasher24;

/// The secret a store keys its noise with (16 bytes, SipHash's key).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CellKeySecret(pub [u8; 16]);

impl std::fmt::Debug for CellKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never printed: whoever has it can take the noise off
        f.write_str("CellKeySecret(..)")
    }
}

impl CellKeySecret {
    /// The key of one record (or case): SipHash-2-4 of its id, keyed with
    /// the secret, in one call (the streaming hasher's value: a test holds
    /// both to SipHash's reference vector, so that no version changes a
    /// key).
    pub fn unit_key(&self, unit_id: &[u8]) -> u64 {
        SipHasher24::new_with_key(&self.0).hash(unit_id)
    }
}

/// The key of a set of units: the wrapping sum of their keys.
pub fn combine_keys(keys: impl IntoIterator<Item = u64>) -> u64 {
    keys.into_iter().fold(0u64, u64::wrapping_add)
}

/// How published counts are perturbed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Perturbation {
    /// The largest change of a count, either way: the noise is drawn from
    /// -D..=D by the noise table, cut to this bound (0: no noise).
    pub max_noise: u64,
    /// K: counts below it are not published and not perturbed; counts of K
    /// or more stay at K or more.
    pub min_cell: u64,
}

/// The noise table's D. A published count is the true count give or take
/// at most 3, and the difference of two published counts the difference of
/// the true ones give or take at most 6.
pub const DEFAULT_MAX_NOISE: u64 = 3;

/// The noise table: how often, in a hundred, each noise from -3 to +3 is
/// drawn. Mean absolute change 1.12; two independent draws are equal (a
/// difference of two published counts is then exact) 19 times in 100; the
/// extremes are rare, so a difference that the bound of 6 pins against
/// zero (true 1, noise -6) happens 16 times in 10,000.
const NOISE_TABLE: [(i64, u64); 7] = [
    (-3, 4),
    (-2, 12),
    (-1, 20),
    (0, 28),
    (1, 20),
    (2, 12),
    (3, 4),
];

impl Perturbation {
    /// The published value of a count `n` whose units have key `cell_key`.
    pub fn apply(&self, n: u64, cell_key: u64) -> u64 {
        if n == 0 || n < self.min_cell || self.max_noise == 0 {
            return n;
        }
        let draw = mix(cell_key ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % 100;
        let mut cumulative = 0;
        let mut noise = 0;
        for (value, weight) in NOISE_TABLE {
            cumulative += weight;
            if draw < cumulative {
                noise = value.clamp(-(self.max_noise as i64), self.max_noise as i64);
                break;
            }
        }
        (n as i128 + noise as i128).max(self.min_cell as i128) as u64
    }
}

/// SplitMix64's finaliser: spreads every bit of the key over the draw.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: CellKeySecret = CellKeySecret(*b"0123456789abcdef");

    fn key_of(ids: &[&str]) -> u64 {
        combine_keys(ids.iter().map(|id| SECRET.unit_key(id.as_bytes())))
    }

    /// Keys must never change between versions: a cell published again
    /// with other noise could be averaged. SipHash-2-4's reference vector
    /// (Aumasson and Bernstein, appendix A), and the streaming hasher's
    /// value for every id length up to 40 bytes.
    #[test]
    fn a_units_key_is_siphash_2_4_of_its_id() {
        use std::hash::Hasher;
        let reference = CellKeySecret(std::array::from_fn(|i| i as u8));
        let message: Vec<u8> = (0..15).collect();
        assert_eq!(reference.unit_key(&message), 0xa129_ca61_49be_45e5);
        let id: Vec<u8> = (0..40).map(|i| b'A' + i).collect();
        for len in 0..=id.len() {
            let mut streaming = SipHasher24::new_with_key(&SECRET.0);
            streaming.write(&id[..len]);
            assert_eq!(
                SECRET.unit_key(&id[..len]),
                streaming.finish(),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn the_same_records_get_the_same_noise_in_any_order() {
        let p = Perturbation {
            max_noise: 2,
            min_cell: 10,
        };
        let ids: Vec<String> = (0..40).map(|i| format!("R{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut reversed = refs.clone();
        reversed.reverse();
        assert_eq!(key_of(&refs), key_of(&reversed));
        assert_eq!(p.apply(40, key_of(&refs)), p.apply(40, key_of(&reversed)));
        // the key of a union of disjoint sets is the sum of theirs
        assert_eq!(
            key_of(&refs),
            key_of(&refs[..15]).wrapping_add(key_of(&refs[15..]))
        );
    }

    #[test]
    fn noise_stays_within_d_never_goes_below_k_and_leaves_zero_and_small_counts() {
        let p = Perturbation {
            max_noise: 3,
            min_cell: 10,
        };
        let mut seen = std::collections::BTreeSet::new();
        for key in 0..5000u64 {
            let key = mix(key);
            for n in [10u64, 11, 12, 50, 1000] {
                let out = p.apply(n, key);
                assert!(out >= 10 && out.abs_diff(n) <= 3, "{n} -> {out}");
                if n == 50 {
                    seen.insert(out as i64 - 50);
                }
            }
            assert_eq!(p.apply(0, key), 0);
            assert_eq!(p.apply(9, key), 9);
        }
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            vec![-3, -2, -1, 0, 1, 2, 3]
        );
    }

    #[test]
    fn each_noise_value_is_drawn_as_often_as_the_table_says() {
        let p = Perturbation {
            max_noise: 3,
            min_cell: 10,
        };
        let mut counts = [0u32; 7];
        for i in 0..100_000u64 {
            let ids = [format!("a{i}"), format!("b{i}")];
            let key = combine_keys(ids.iter().map(|s| SECRET.unit_key(s.as_bytes())));
            counts[(p.apply(100, key) as i64 - 97) as usize] += 1;
        }
        for (count, (_, weight)) in counts.iter().zip(NOISE_TABLE) {
            let expected = weight as f64 * 1000.0;
            assert!(
                (*count as f64 - expected).abs() < 0.1 * expected,
                "{counts:?}"
            );
        }
    }
}
