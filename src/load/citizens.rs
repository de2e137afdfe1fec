//! The citizens the load asks for, computed before the run: a sample of the server's population
//! (recomputed from its seed and size, without the server), well-formed numbers nobody has,
//! numbers that fail validation, and VNeID accounts to log in as.
//!
//! Everything a request needs is prepared here, so the hot path only draws an index and clones a
//! few short strings.

use std::{
    fmt,
    str::FromStr,
    sync::atomic::{AtomicUsize, Ordering},
};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::{
    domain::{
        CccdNumber, Citizen, CitizenStatus, Province, ProvinceCode, QrPayload, Sex, VneidLevel,
    },
    population::{self, PopulationSpec},
    proto,
    registry::convert,
    vneid::TestCredentials,
};

/// Which citizens of the sample the requests ask for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CitizenDistribution {
    /// Every sampled citizen equally often.
    Uniform,
    /// The k-th sampled citizen with weight 1/k^s: a few citizens asked very often, a long tail
    /// asked rarely, as popular records are in real traffic.
    Zipf { exponent: f64 },
    /// Only the first `size` sampled citizens, uniformly: a hot set that stays in the caches.
    Hot { size: usize },
}

impl FromStr for CitizenDistribution {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (kind, argument) = text.split_once(':').unwrap_or((text, ""));
        match (kind, argument) {
            ("uniform", "") => Ok(CitizenDistribution::Uniform),
            ("zipf", s) => match s.parse::<f64>() {
                Ok(exponent) if exponent.is_finite() && exponent > 0.0 => {
                    Ok(CitizenDistribution::Zipf { exponent })
                }
                _ => Err(format!(
                    "zipf takes an exponent above 0, e.g. zipf:1.1, got {s:?}"
                )),
            },
            ("hot", n) => match n.parse::<usize>() {
                Ok(size) if size > 0 => Ok(CitizenDistribution::Hot { size }),
                _ => Err(format!(
                    "hot takes a number of citizens, e.g. hot:1000, got {n:?}"
                )),
            },
            _ => Err(format!(
                "{text:?} is not a citizen distribution: use uniform, zipf:<s> or hot:<n>"
            )),
        }
    }
}

impl fmt::Display for CitizenDistribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CitizenDistribution::Uniform => write!(f, "uniform"),
            CitizenDistribution::Zipf { exponent } => write!(f, "zipf:{exponent}"),
            CitizenDistribution::Hot { size } => write!(f, "hot:{size}"),
        }
    }
}

/// What a request about one citizen (or one non-citizen) sends.
#[derive(Debug, Clone)]
pub struct TargetData {
    pub cccd: String,
    /// The QR text of the card (for unknown and invalid numbers: a card that would carry them).
    pub qr_payload: String,
    /// What an applicant declares: the citizen's own name, birth date, sex and address.
    pub declared: proto::Declared,
}

/// Whom a request is about.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A citizen of the server's population.
    Known(&'a TargetData),
    /// A well-formed number nobody has: NOT_FOUND (VerifyQr: UNKNOWN_NUMBER).
    Unknown(&'a TargetData),
    /// A number that fails validation: INVALID_ARGUMENT.
    Invalid(&'a TargetData),
}

impl<'a> Target<'a> {
    fn data(self) -> &'a TargetData {
        match self {
            Target::Known(d) | Target::Unknown(d) | Target::Invalid(d) => d,
        }
    }

    pub fn cccd(self) -> &'a str {
        &self.data().cccd
    }

    pub fn qr_payload(self) -> &'a str {
        &self.data().qr_payload
    }

    pub fn declared(self) -> &'a proto::Declared {
        &self.data().declared
    }
}

/// A VNeID account the load logs in as (level 1 or 2, alive, card not revoked).
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub cccd: String,
    pub credentials: TestCredentials,
}

/// Draws sample indices according to the distribution.
#[derive(Debug, Clone)]
enum Picker {
    /// Uniform over the first `n` of the sample.
    Uniform(usize),
    /// Cumulative probabilities by rank (Zipf), searched by bisection.
    Cumulative(Vec<f64>),
}

impl Picker {
    fn new(distribution: CitizenDistribution, sample: usize) -> Self {
        match distribution {
            CitizenDistribution::Uniform => Picker::Uniform(sample),
            CitizenDistribution::Hot { size } => Picker::Uniform(size.min(sample)),
            CitizenDistribution::Zipf { exponent } => {
                let mut sum = 0.0;
                let mut cumulative: Vec<f64> = (1..=sample)
                    .map(|rank| {
                        sum += (rank as f64).powf(-exponent);
                        sum
                    })
                    .collect();
                for c in &mut cumulative {
                    *c /= sum;
                }
                Picker::Cumulative(cumulative)
            }
        }
    }

    fn pick(&self, rng: &mut impl Rng) -> usize {
        match self {
            Picker::Uniform(n) => rng.random_range(0..*n),
            Picker::Cumulative(cumulative) => {
                let draw: f64 = rng.random();
                cumulative
                    .partition_point(|&c| c < draw)
                    .min(cumulative.len() - 1)
            }
        }
    }
}

/// Non-citizens of each kind prepared before the run.
const PREPARED_NON_CITIZENS: usize = 1024;

/// The prepared citizens and how to draw them.
#[derive(Debug)]
pub struct CitizenPool {
    known: Vec<TargetData>,
    unknown: Vec<TargetData>,
    invalid: Vec<TargetData>,
    accounts: Vec<Account>,
    next_account: AtomicUsize,
    picker: Picker,
    unknown_share: f64,
    invalid_share: f64,
}

/// What the pool must prepare (only what the mix uses).
#[derive(Debug, Clone, Copy)]
pub struct PoolSpec {
    pub population: PopulationSpec,
    pub sample: usize,
    pub distribution: CitizenDistribution,
    pub unknown_share: f64,
    pub invalid_share: f64,
    /// QR payloads and declared data (for `verify` and `qr`).
    pub details: bool,
    /// VNeID accounts and their credentials (for `auth`).
    pub accounts: bool,
}

impl CitizenPool {
    /// Computes the sample (in parallel) and everything the requests will send.
    pub fn prepare(spec: PoolSpec) -> Self {
        let sample = spec.sample.min(spec.population.size).max(1);
        let stride = (spec.population.size / sample).max(1) as u64;
        let generated =
            population::Population::new(spec.population, &population::builtin_fixtures());
        let citizens: Vec<Citizen> = (0..sample as u64)
            .into_par_iter()
            .map(|k| match &generated {
                Ok(generated) => generated.citizen(k * stride),
                // A size the server refuses: the citizens it would have had.
                Err(_) => population::citizen_at(spec.population, k * stride),
            })
            .collect();
        let known = citizens
            .par_iter()
            .map(|c| known_target(c, spec.details))
            .collect();
        let accounts = if spec.accounts {
            citizens
                .par_iter()
                .filter(|c| c.vneid != VneidLevel::None && c.status == CitizenStatus::Active)
                .map(|c| Account {
                    cccd: c.cccd.to_string(),
                    credentials: TestCredentials::derive(spec.population.seed, c.cccd),
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(spec.population.seed);
        CitizenPool {
            known,
            unknown: (0..PREPARED_NON_CITIZENS)
                .map(|_| unknown_target(&mut rng))
                .collect(),
            invalid: (0..PREPARED_NON_CITIZENS)
                .map(|i| invalid_target(&mut rng, i))
                .collect(),
            accounts,
            // A random start, so that runs one after the other seldom log in to the same account
            // within one 30-second step (its code would be refused as reused).
            next_account: AtomicUsize::new(random_start()),
            picker: Picker::new(spec.distribution, sample),
            unknown_share: spec.unknown_share,
            invalid_share: spec.invalid_share,
        }
    }

    /// Citizens prepared.
    #[cfg(test)]
    fn known_count(&self) -> usize {
        self.known.len()
    }

    /// VNeID accounts prepared: at most this many logins fit in one 30-second TOTP step.
    #[cfg(test)]
    fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// Draws whom the next request is about.
    pub fn pick(&self, rng: &mut impl Rng) -> Target<'_> {
        let draw: f64 = rng.random();
        if draw < self.invalid_share {
            Target::Invalid(&self.invalid[rng.random_range(0..self.invalid.len())])
        } else if draw < self.invalid_share + self.unknown_share {
            Target::Unknown(&self.unknown[rng.random_range(0..self.unknown.len())])
        } else {
            Target::Known(&self.known[self.picker.pick(rng)])
        }
    }

    /// The next account to log in as, in turn (none if the sample has no account).
    pub(crate) fn next_account(&self) -> Option<&Account> {
        if self.accounts.is_empty() {
            return None;
        }
        let n = self.next_account.fetch_add(1, Ordering::Relaxed);
        Some(&self.accounts[n % self.accounts.len()])
    }
}

fn known_target(citizen: &Citizen, details: bool) -> TargetData {
    TargetData {
        cccd: citizen.cccd.to_string(),
        qr_payload: if details {
            QrPayload::of(citizen).encode()
        } else {
            String::new()
        },
        declared: if details {
            proto::Declared {
                full_name: Some(citizen.full_name.clone()),
                date_of_birth: Some(convert::date(citizen.date_of_birth)),
                sex: Some(convert::sex(citizen.sex) as i32),
                address: Some(citizen.permanent_address.to_string()),
            }
        } else {
            proto::Declared::default()
        },
    }
}

/// Someone declared by an applicant whose number the database does not have.
fn stranger(cccd: String, qr_payload: String) -> TargetData {
    TargetData {
        cccd,
        qr_payload,
        declared: proto::Declared {
            full_name: Some("Nguyễn Văn Tải".into()),
            ..Default::default()
        },
    }
}

/// A well-formed number of someone born 1900–1919: generated citizens are all younger than 100
/// on the 2026 reference date, and no built-in fixture is that old, so nobody has it. Its QR
/// payload is consistent (birth date and sex agree with the number), so VerifyQr answers
/// UNKNOWN_NUMBER rather than rejecting the payload.
fn unknown_target(rng: &mut impl Rng) -> TargetData {
    let provinces = Province::all();
    let province = provinces[rng.random_range(0..provinces.len())].code;
    let sex = if rng.random_bool(0.5) {
        Sex::Female
    } else {
        Sex::Male
    };
    let year = rng.random_range(1900..1920);
    let cccd = CccdNumber::from_parts(province, sex, year, rng.random_range(0..1_000_000));
    let qr = format!(
        "{cccd}||Nguyễn Văn Tải|0101{year}|{}|Số 1 Phố Tràng Tiền, Phường Tràng Tiền, Quận Hoàn Kiếm, Hà Nội|",
        sex.vietnamese()
    );
    stranger(cccd.to_string(), qr)
}

/// A number that fails CCCD validation; the kinds take turns: wrong length, a letter, an unknown
/// province code, a century digit in the future, a birth year in the future.
fn invalid_target(rng: &mut impl Rng, turn: usize) -> TargetData {
    let cccd = match turn % 5 {
        0 => {
            let length = if rng.random_bool(0.5) { 11 } else { 13 };
            random_digits(rng, length)
        }
        1 => format!("{}X", random_digits(rng, 11)),
        2 => {
            let province = loop {
                let code = rng.random_range(0..1000u16);
                if ProvinceCode::new(code).is_none() {
                    break code;
                }
            };
            format!("{province:03}0{}", random_digits(rng, 8))
        }
        // Digits 4–9 mean 2100–2499.
        3 => format!("001{}{}", rng.random_range(4..10u8), random_digits(rng, 8)),
        // Digit 2 or 3 (2000s) with the year 2099.
        _ => format!("001{}99{}", rng.random_range(2..4u8), random_digits(rng, 6)),
    };
    let qr = format!("{cccd}||Nguyễn Văn Tải|01011990|Nam|Số 1 Phố Tràng Tiền, Hà Nội|");
    stranger(cccd, qr)
}

fn random_start() -> usize {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_or(0, |()| u32::from_le_bytes(bytes) as usize)
}

fn random_digits(rng: &mut impl Rng, count: usize) -> String {
    (0..count)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(distribution: CitizenDistribution) -> PoolSpec {
        PoolSpec {
            population: PopulationSpec {
                seed: 7,
                size: 2_000,
                reference_date: PopulationSpec::default_reference_date(),
            },
            sample: 1_000,
            distribution,
            unknown_share: 0.0,
            invalid_share: 0.0,
            details: true,
            accounts: true,
        }
    }

    /// How often each sample index is drawn, over `draws` draws.
    fn histogram(pool: &CitizenPool, draws: usize) -> Vec<usize> {
        let index: std::collections::HashMap<&str, usize> = pool
            .known
            .iter()
            .enumerate()
            .map(|(i, t)| (t.cccd.as_str(), i))
            .collect();
        let mut counts = vec![0; pool.known.len()];
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..draws {
            let Target::Known(t) = pool.pick(&mut rng) else {
                panic!("only known citizens were asked for")
            };
            counts[index[t.cccd.as_str()]] += 1;
        }
        counts
    }

    #[test]
    fn the_sample_is_the_servers_population() {
        let pool = CitizenPool::prepare(spec(CitizenDistribution::Uniform));
        assert_eq!(pool.known_count(), 1_000);
        let generated = population::generate(
            spec(CitizenDistribution::Uniform).population,
            &population::builtin_fixtures(),
        );
        // Evenly spread: every second citizen.
        assert_eq!(pool.known[1].cccd, generated[2].cccd.to_string());
        let qr = QrPayload::parse(&pool.known[1].qr_payload).unwrap();
        assert_eq!(qr, QrPayload::of(&generated[2]));
        assert!(pool.account_count() > 500, "{}", pool.account_count());
        // Each account once before any again (from a random start).
        let first = pool.next_account().unwrap().cccd.clone();
        for _ in 1..pool.account_count() {
            assert_ne!(pool.next_account().unwrap().cccd, first);
        }
        assert_eq!(pool.next_account().unwrap().cccd, first);
    }

    #[test]
    fn zipf_favours_the_first_ranks() {
        let pool = CitizenPool::prepare(spec(CitizenDistribution::Zipf { exponent: 1.0 }));
        let counts = histogram(&pool, 100_000);
        // P(rank 1) = 1 / H(1000) ≈ 0.134; P(rank 2) half of it; rank 1000 about 1/1000 of it.
        let first = counts[0] as f64 / 100_000.0;
        assert!((0.12..0.15).contains(&first), "rank 1 share {first}");
        let ratio = counts[0] as f64 / counts[1] as f64;
        assert!((1.8..2.2).contains(&ratio), "rank 1 / rank 2 = {ratio}");
        let tail: usize = counts[500..].iter().sum();
        assert!(tail < 12_000, "ranks 501..1000 drew {tail}");
    }

    #[test]
    fn hot_draws_only_the_hot_set_and_uniform_draws_everyone() {
        let hot = CitizenPool::prepare(spec(CitizenDistribution::Hot { size: 10 }));
        let counts = histogram(&hot, 10_000);
        assert!(counts[10..].iter().all(|c| *c == 0));
        assert!(
            counts[..10].iter().all(|c| (800..1200).contains(c)),
            "{counts:?}"
        );
        let uniform = CitizenPool::prepare(spec(CitizenDistribution::Uniform));
        let counts = histogram(&uniform, 100_000);
        assert!(counts.iter().all(|c| (40..170).contains(c)));
    }

    #[test]
    fn invalid_numbers_fail_validation_and_unknown_ones_pass_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for turn in 0..500 {
            let invalid = invalid_target(&mut rng, turn);
            assert!(
                CccdNumber::parse(&invalid.cccd).is_err(),
                "{} was accepted",
                invalid.cccd
            );
            assert!(QrPayload::parse(&invalid.qr_payload).is_err());
            let unknown = unknown_target(&mut rng);
            let number = CccdNumber::parse(&unknown.cccd).expect("well-formed");
            assert!(number.birth_year() < 1920);
            assert_eq!(QrPayload::parse(&unknown.qr_payload).unwrap().cccd, number);
        }
    }

    #[test]
    fn shares_of_unknown_and_invalid_numbers() {
        let mut spec = spec(CitizenDistribution::Uniform);
        spec.unknown_share = 0.2;
        spec.invalid_share = 0.1;
        let pool = CitizenPool::prepare(spec);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (mut unknown, mut invalid) = (0, 0);
        for _ in 0..20_000 {
            match pool.pick(&mut rng) {
                Target::Unknown(_) => unknown += 1,
                Target::Invalid(_) => invalid += 1,
                Target::Known(_) => {}
            }
        }
        assert!((3_700..4_300).contains(&unknown), "{unknown}");
        assert!((1_750..2_250).contains(&invalid), "{invalid}");
    }
}
