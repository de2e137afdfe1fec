//! The number plan: where each citizen of the population sits in the CCCD and CMND number spaces,
//! and the way back from a number to the citizen's index — both by arithmetic, so that nothing
//! about the population needs to be stored.
//!
//! A CCCD number is `PPP G YY NNNNNN`: the block `(province, sex and century, birth year)` and a
//! serial in it. The population is laid out in periods of [`PERIOD`] indices. Within a period,
//! the positions are apportioned to the blocks `(birth province, sex, age)` in proportion to the
//! province populations and the age pyramid (largest remainders, so exact and the same
//! everywhere), and a keyed permutation of the period (one per period, keyed by the seed) says
//! which position index `i` takes. Citizen `i` of period `q` at offset `j` of block `b`'s share
//! `c_b` has rank `k = q·c_b + j` in the block, and serial `σ_b(k)`, where `σ_b` is a keyed
//! permutation of the million serials. Going back reverses each step: block from the number,
//! `k = σ_b⁻¹(serial)`, then `q` and `j`, then `i`. A number whose rank or index lies beyond the
//! population belongs to nobody.
//!
//! CMND numbers (two prefix digits, seven serial digits) are laid out the same way per prefix,
//! over the blocks of the prefix's provinces whose birth year is 2001 or earlier: those are the
//! only people who could have been issued one. A citizen holds the number of their position only
//! if their own stream says they were issued a CMND, so some CMND numbers in the range belong to
//! nobody, like in the real register.
//!
//! Nothing here depends on the population size: citizen `i` is the same in every population that
//! has one. The size only bounds the ranks ([`max_population`]).

use std::sync::{LazyLock, OnceLock};

use crate::domain::{CccdNumber, CmndNumber, Province, ProvinceCode, Sex};

/// Indices per period of the layout (2^20). The block shares of one period follow the tables to
/// within one citizen.
pub(crate) const PERIOD: u64 = 1 << PERIOD_BITS;
const PERIOD_BITS: u32 = 20;
/// Serials per CCCD block (six digits).
pub(crate) const SERIALS: u64 = 1_000_000;
/// Bits of the permutation domain the serials are walked in (2^20 ≥ 10^6).
const SERIAL_BITS: u32 = 20;
/// Serials per CMND prefix (seven digits).
const CMND_SERIALS: u64 = 10_000_000;
/// Bits of the permutation domain CMND serials are walked in (2^24 ≥ 10^7).
const CMND_BITS: u32 = 24;
/// Ages 0 to 99: the age pyramid's range.
const AGES: u32 = 100;
/// The last birth year a CMND was issued for (CMND issuance ended in 2016, at 14 or older).
pub(crate) const LAST_CMND_BIRTH_YEAR: i32 = 2001;
/// The reference years the number plan can serve: every birth year must be one a CCCD number can
/// encode (1900–2399).
pub(crate) const REFERENCE_YEARS: std::ops::Range<i32> = 2000..2400;

/// Where one index of the population sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    /// The block `(province, sex, age)`.
    pub block: u32,
    pub province: ProvinceCode,
    pub sex: Sex,
    /// Age in whole years at the end of the year before the reference date.
    pub age: u32,
    /// Period of the index.
    pub period: u64,
    /// Offset within the block's share of the period.
    pub offset: u32,
}

impl Slot {
    /// The slot of citizen `index` of `seed`.
    pub fn of(seed: u64, index: u64) -> Slot {
        let plan = Plan::get();
        let period = index >> PERIOD_BITS;
        let position = feistel(
            period_key(seed, period),
            PERIOD_BITS,
            index & (PERIOD - 1),
            false,
        );
        let block = plan
            .starts
            .partition_point(|start| u64::from(*start) <= position)
            - 1;
        let offset = (position - u64::from(plan.starts[block])) as u32;
        let block = block as u32;
        let (province, sex, age) = plan.parts(block);
        Slot {
            block,
            province,
            sex,
            age,
            period,
            offset,
        }
    }

    /// The citizen's rank in the block: how many of the block come before them.
    pub(crate) fn rank(&self) -> u64 {
        self.period * u64::from(Plan::get().counts[self.block as usize]) + u64::from(self.offset)
    }

    /// The birth year, for a reference date in `reference_year`.
    pub fn birth_year(&self, reference_year: i32) -> i32 {
        reference_year - 1 - self.age as i32
    }
}

/// The serial the citizen at `position` in block `block`'s order takes (`None` past the million).
pub(crate) fn serial_at(seed: u64, block: u32, position: u64) -> Option<u32> {
    (position < SERIALS).then(|| {
        walk(
            serial_key(seed, block),
            SERIAL_BITS,
            SERIALS,
            position,
            false,
        ) as u32
    })
}

/// The position in block `block`'s order that takes `serial` (the inverse of [`serial_at`]).
pub(crate) fn position_of_serial(seed: u64, block: u32, serial: u32) -> u64 {
    walk(
        serial_key(seed, block),
        SERIAL_BITS,
        SERIALS,
        u64::from(serial),
        true,
    )
}

/// The block a CCCD number falls in, as of `reference_year`, if the layout gives it anyone.
pub(crate) fn block_of(number: CccdNumber, reference_year: i32) -> Option<u32> {
    let plan = Plan::get();
    let age = reference_year - 1 - number.birth_year();
    let age = u32::try_from(age).ok().filter(|a| *a < AGES)?;
    let province = *plan
        .province_index
        .get(usize::from(number.province().get()))?;
    let province = u32::from(province?);
    let block = (province * 2 + number.sex() as u32) * AGES + age;
    (plan.counts[block as usize] > 0).then_some(block)
}

/// The index of the citizen of rank `rank` in block `block`.
pub(crate) fn index_of_rank(seed: u64, block: u32, rank: u64) -> u64 {
    let plan = Plan::get();
    let count = u64::from(plan.counts[block as usize]);
    let (period, offset) = (rank / count, rank % count);
    let position = u64::from(plan.starts[block as usize]) + offset;
    (period << PERIOD_BITS) | feistel(period_key(seed, period), PERIOD_BITS, position, true)
}

/// How many of each period's indices block `block` takes.
pub(crate) fn block_share(block: u32) -> u64 {
    u64::from(Plan::get().counts[block as usize])
}

/// The largest population whose every rank fits the serials of its block, when `reserved(b)`
/// serials of block `b` are taken by fixtures.
pub(crate) fn max_population(reserved: impl Fn(u32) -> u64) -> u64 {
    let plan = Plan::get();
    let periods = plan
        .counts
        .iter()
        .enumerate()
        .filter(|(_, count)| **count > 0)
        .map(|(block, count)| SERIALS.saturating_sub(reserved(block as u32)) / u64::from(*count))
        .min()
        .unwrap_or(0);
    periods * PERIOD
}

/// The CMND number of the citizen in `slot` if they were issued one (`None` when born after
/// 2001, or past the prefix's ten million serials).
pub(crate) fn cmnd_at(seed: u64, reference_year: i32, slot: &Slot) -> Option<CmndNumber> {
    let plan = CmndPlan::get(reference_year)?;
    let (prefix, offset) = plan.of_block[slot.block as usize]?;
    let share = u64::from(plan.prefixes[usize::from(prefix)].total);
    let position = slot.period * share + u64::from(offset) + u64::from(slot.offset);
    (position < CMND_SERIALS).then(|| {
        let serial = walk(
            cmnd_key(seed, prefix),
            CMND_BITS,
            CMND_SERIALS,
            position,
            false,
        );
        CmndNumber::from_parts(prefix, serial as u32)
    })
}

/// The index whose CMND position `cmnd` is (whether they hold it is up to their stream).
pub(crate) fn cmnd_index(seed: u64, reference_year: i32, cmnd: CmndNumber) -> Option<u64> {
    let plan = CmndPlan::get(reference_year)?;
    let (prefix, serial) = cmnd.parts();
    let entry = &plan.prefixes[usize::from(prefix)];
    if entry.total == 0 {
        return None;
    }
    let position = walk(
        cmnd_key(seed, prefix),
        CMND_BITS,
        CMND_SERIALS,
        u64::from(serial),
        true,
    );
    let share = u64::from(entry.total);
    let (period, within) = (position / share, (position % share) as u32);
    let at = entry.offsets.partition_point(|o| *o <= within) - 1;
    let block = entry.blocks[at];
    let offset = within - entry.offsets[at];
    Some(index_of_rank(
        seed,
        block,
        period * block_share(block) + u64::from(offset),
    ))
}

/// The apportionment of one period to the blocks (independent of seed and reference date).
struct Plan {
    /// Province of each province index (the order of `data/provinces.csv`).
    provinces: Vec<ProvinceCode>,
    /// Province index by province code (codes run to 96).
    province_index: Vec<Option<u8>>,
    /// Positions per period of each block.
    counts: Vec<u32>,
    /// First position of each block, and the period length at the end.
    starts: Vec<u32>,
}

impl Plan {
    fn get() -> &'static Plan {
        static PLAN: LazyLock<Plan> = LazyLock::new(Plan::build);
        &PLAN
    }

    fn build() -> Plan {
        let provinces: Vec<ProvinceCode> = Province::all().iter().map(|p| p.code).collect();
        let mut province_index = vec![None; 100];
        for (i, code) in provinces.iter().enumerate() {
            province_index[usize::from(code.get())] = Some(i as u8);
        }
        // Integer weights (population in thousands × per-mille of the five-year age band), so the
        // apportionment is exact on every machine.
        let bands = &super::tables::Tables::get().age_bands;
        let weights: Vec<u64> = Province::all()
            .iter()
            .flat_map(|p| {
                (0..2).flat_map(move |_sex| {
                    (0..AGES).map(move |age| {
                        let band = bands.weight_of((age / 5) as usize);
                        u64::from(p.population_thousands) * (band * 10.0).round() as u64
                    })
                })
            })
            .collect();
        let counts = apportion(&weights, PERIOD);
        let mut starts = Vec::with_capacity(counts.len() + 1);
        let mut start = 0u32;
        for count in &counts {
            starts.push(start);
            start += count;
        }
        starts.push(start);
        Plan {
            provinces,
            province_index,
            counts,
            starts,
        }
    }

    fn parts(&self, block: u32) -> (ProvinceCode, Sex, u32) {
        let age = block % AGES;
        let sex = if (block / AGES) % 2 == 1 {
            Sex::Female
        } else {
            Sex::Male
        };
        (self.provinces[(block / AGES / 2) as usize], sex, age)
    }
}

/// Splits `total` in proportion to `weights`: each gets the floor of its quota, and the rest go
/// one each to the largest remainders (ties to the earlier item).
fn apportion(weights: &[u64], total: u64) -> Vec<u32> {
    let sum: u64 = weights.iter().sum();
    let quota = |w: u64| u128::from(w) * u128::from(total);
    let mut counts: Vec<u32> = weights
        .iter()
        .map(|w| (quota(*w) / u128::from(sum)) as u32)
        .collect();
    let given: u64 = counts.iter().map(|c| u64::from(*c)).sum();
    let mut by_remainder: Vec<usize> = (0..weights.len()).collect();
    by_remainder.sort_by_key(|i| std::cmp::Reverse(quota(weights[*i]) % u128::from(sum)));
    for i in by_remainder.into_iter().take((total - given) as usize) {
        counts[i] += 1;
    }
    counts
}

/// The CMND layout for one reference year: the eligible blocks of each prefix.
struct CmndPlan {
    /// Per prefix (two digits).
    prefixes: Vec<CmndPrefix>,
    /// Per block: its prefix and its first offset in the prefix's share, if eligible.
    of_block: Vec<Option<(u8, u32)>>,
}

#[derive(Default)]
struct CmndPrefix {
    blocks: Vec<u32>,
    offsets: Vec<u32>,
    /// Positions per period.
    total: u32,
}

impl CmndPlan {
    /// The plan for `reference_year` (built once per year on first use).
    fn get(reference_year: i32) -> Option<&'static CmndPlan> {
        static PLANS: LazyLock<Vec<OnceLock<CmndPlan>>> =
            LazyLock::new(|| REFERENCE_YEARS.map(|_| OnceLock::new()).collect());
        let slot = PLANS.get(usize::try_from(reference_year - REFERENCE_YEARS.start).ok()?)?;
        Some(slot.get_or_init(|| CmndPlan::build(reference_year)))
    }

    fn build(reference_year: i32) -> CmndPlan {
        let plan = Plan::get();
        let mut prefixes: Vec<CmndPrefix> = (0..100).map(|_| CmndPrefix::default()).collect();
        let mut of_block = vec![None; plan.counts.len()];
        for (block, count) in plan.counts.iter().enumerate() {
            let (province, _, age) = plan.parts(block as u32);
            if *count == 0 || reference_year - 1 - age as i32 > LAST_CMND_BIRTH_YEAR {
                continue;
            }
            let prefix = province.province().cmnd_prefix;
            let entry = &mut prefixes[usize::from(prefix)];
            entry.blocks.push(block as u32);
            entry.offsets.push(entry.total);
            of_block[block] = Some((prefix, entry.total));
            entry.total += count;
        }
        CmndPlan { prefixes, of_block }
    }
}

/// SplitMix64's finaliser: a fast, well-mixing bijection of 64-bit words.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn key(seed: u64, purpose: u64, item: u64) -> u64 {
    mix(mix(seed ^ purpose.wrapping_mul(0x9e37_79b9_7f4a_7c15)) ^ item)
}

fn period_key(seed: u64, period: u64) -> u64 {
    key(seed, 1, period)
}

fn serial_key(seed: u64, block: u32) -> u64 {
    key(seed, 2, u64::from(block))
}

fn cmnd_key(seed: u64, prefix: u8) -> u64 {
    key(seed, 3, u64::from(prefix))
}

/// Rounds of the Feistel network (a keyed shuffle, not a cipher: six rounds mix well).
const ROUNDS: u64 = 6;

/// A keyed permutation of `[0, 2^bits)` (`bits` even): a balanced Feistel network, or its
/// inverse.
fn feistel(key: u64, bits: u32, x: u64, inverse: bool) -> u64 {
    let half = bits / 2;
    let mask = (1u64 << half) - 1;
    let round = |r: u64, v: u64| mix(key ^ (r << 56) ^ v) & mask;
    let (mut left, mut right) = (x >> half, x & mask);
    if inverse {
        for r in (0..ROUNDS).rev() {
            let previous_right = left;
            left = right ^ round(r, previous_right);
            right = previous_right;
        }
    } else {
        for r in 0..ROUNDS {
            let next_right = left ^ round(r, right);
            left = right;
            right = next_right;
        }
    }
    (left << half) | right
}

/// A keyed permutation of `[0, domain)` by cycle-walking the Feistel network of `bits`
/// (`domain ≤ 2^bits`; `x < domain`).
fn walk(key: u64, bits: u32, domain: u64, x: u64, inverse: bool) -> u64 {
    let mut y = feistel(key, bits, x, inverse);
    while y >= domain {
        y = feistel(key, bits, y, inverse);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_bijections_and_invert() {
        for bits in [4u32, 10, 20] {
            let mut seen = vec![false; 1 << bits];
            for x in 0..(1u64 << bits) {
                let y = feistel(42, bits, x, false);
                assert!(!std::mem::replace(&mut seen[y as usize], true));
                assert_eq!(feistel(42, bits, y, true), x);
            }
        }
        for x in (0..SERIALS).step_by(997) {
            let y = walk(7, SERIAL_BITS, SERIALS, x, false);
            assert!(y < SERIALS);
            assert_eq!(walk(7, SERIAL_BITS, SERIALS, y, true), x);
        }
    }

    #[test]
    fn the_period_is_apportioned_exactly() {
        let plan = Plan::get();
        assert_eq!(
            plan.counts.iter().map(|c| u64::from(*c)).sum::<u64>(),
            PERIOD
        );
        assert_eq!(u64::from(*plan.starts.last().unwrap()), PERIOD);
        assert_eq!(apportion(&[1, 1, 1], 10), vec![4, 3, 3]);
    }

    #[test]
    fn slots_go_back_to_their_index() {
        for index in (0..3 * PERIOD).step_by(7_919) {
            let slot = Slot::of(9, index);
            assert_eq!(index_of_rank(9, slot.block, slot.rank()), index);
            let position = slot.rank();
            let serial = serial_at(9, slot.block, position).unwrap();
            assert_eq!(position_of_serial(9, slot.block, serial), position);
            if let Some(cmnd) = cmnd_at(9, 2026, &slot) {
                assert_eq!(cmnd_index(9, 2026, cmnd), Some(index));
            }
        }
    }

    #[test]
    fn the_whole_country_fits() {
        let max = max_population(|_| 0);
        assert!(max > 1_000_000_000, "{max}");
    }
}
