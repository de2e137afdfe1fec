//! Verifying a chip read end to end: passive authentication, then the database (is there such a
//! citizen, does the chip say what the database says, is the card valid today).

use std::{sync::Arc, time::SystemTime};

use chrono::NaiveDate;

use tokio::sync::Semaphore;

use super::{data_groups::mismatched_fields, passive, CscaTrust};
use crate::{
    domain::{CardState, CccdNumber, Citizen, CitizenStatus},
    registry::scope::{chip_field, Disclosure},
    security::{FieldScope, ScopeField},
};

pub use passive::MalformedChipRead;

/// The scope fields a chip read is compared on (see `registry::scope::chip_field`), in the order
/// they are withheld.
const CHIP_COMPARED: [ScopeField; 11] = [
    ScopeField::CmndNumber,
    ScopeField::FullName,
    ScopeField::DateOfBirth,
    ScopeField::Sex,
    ScopeField::Nationality,
    ScopeField::Ethnicity,
    ScopeField::Religion,
    ScopeField::PlaceOfOrigin,
    ScopeField::PermanentAddress,
    ScopeField::Family,
    ScopeField::Card,
];

/// The outcome: the first failed check, in the order they are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChipVerdict {
    Valid,
    UnknownSigner,
    BadSignature,
    DataGroupTampered,
    UnknownNumber,
    CitizenDeceased,
    DatabaseMismatch,
    CardRevoked,
    CardExpired,
}

/// One check and its outcome (`Err` says why it failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipCheck {
    pub name: &'static str,
    pub outcome: Result<(), String>,
}

/// The full report.
#[derive(Debug, Clone)]
pub struct ChipVerification {
    pub verdict: ChipVerdict,
    pub checks: Vec<ChipCheck>,
    pub tampered_data_groups: Vec<u32>,
    pub mismatched_fields: Vec<String>,
    pub document_number: String,
    /// The scope fields not compared because the caller's scope lacks them.
    pub withheld_fields: Vec<String>,
}

impl ChipVerification {
    pub(crate) fn is_valid(&self) -> bool {
        self.verdict == ChipVerdict::Valid
    }
}

/// Verifies chip reads against a trusted CSCA and the population of a seed.
#[derive(Debug, Clone)]
pub struct ChipVerifier {
    pub trust: CscaTrust,
    pub seed: u64,
    /// Verifications running at once on the blocking pool (see [`ChipVerifier::verify_on_pool`]).
    pool: Arc<Semaphore>,
}

impl ChipVerifier {
    /// A verifier that runs verifications on at most half the CPUs at once (at least one), so
    /// the other half always answers the other calls.
    pub fn new(trust: CscaTrust, seed: u64) -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::with_concurrency(trust, seed, (cpus / 2).max(1))
    }

    /// A verifier that runs at most `concurrency` verifications at once.
    pub(crate) fn with_concurrency(trust: CscaTrust, seed: u64, concurrency: usize) -> Self {
        ChipVerifier {
            trust,
            seed,
            pool: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// [`ChipVerifier::verify`] as a server runs it: the size bounds checked at once (a read
    /// beyond them costs nothing), then the hashing, decoding and signature checks on tokio's
    /// blocking pool, at most `concurrency` at a time, so chip reads never hold up the async
    /// workers that answer every other call.
    pub(crate) async fn verify_on_pool(
        self: &Arc<Self>,
        read: crate::proto::ChipRead,
        store: Arc<crate::store::CitizenStore>,
        today: NaiveDate,
        scope: FieldScope,
    ) -> Result<ChipVerification, MalformedChipRead> {
        passive::check_bounds(&read)?;
        let _permit = self
            .pool
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let verifier = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            verifier.verify(&read, |n| store.get(n), today, SystemTime::now(), scope)
        })
        .await
        .expect("chip verification does not panic")
    }

    /// Verifies `read`: `lookup` finds the citizen in the database, `today` decides card expiry,
    /// `now` the certificates' validity; only the fields `scope` grants are compared with the
    /// database, and only when the read is authentic.
    pub fn verify(
        &self,
        read: &crate::proto::ChipRead,
        lookup: impl Fn(CccdNumber) -> Option<Arc<Citizen>>,
        today: NaiveDate,
        now: SystemTime,
        scope: FieldScope,
    ) -> Result<ChipVerification, MalformedChipRead> {
        let passive = passive::authenticate(read, &self.trust, now)?;
        let authentic = passive.certificate_chain.is_ok()
            && passive.signature.is_ok()
            && passive.tampered.is_empty();
        let mut disclosure = Disclosure::new(scope);
        let mut checks = vec![
            ChipCheck {
                name: "certificate_chain",
                outcome: passive.certificate_chain.clone(),
            },
            ChipCheck {
                name: "signature",
                outcome: passive.signature.clone(),
            },
            ChipCheck {
                name: "data_group_hashes",
                outcome: if passive.tampered.is_empty() {
                    Ok(())
                } else {
                    let groups: Vec<String> =
                        passive.tampered.iter().map(|n| format!("DG{n}")).collect();
                    Err(format!(
                        "hash differs from the signed one: {}",
                        groups.join(", ")
                    ))
                },
            },
        ];
        // An unauthenticated read is not compared with the database at all: its content is
        // whatever the caller wrote, and the answer would tell it what the database holds.
        let citizen = CccdNumber::parse(&passive.document_number)
            .ok()
            .filter(|_| authentic)
            .and_then(&lookup);
        let mut mismatched = Vec::new();
        match &citizen {
            None if !authentic => {}
            None => checks.push(ChipCheck {
                name: "citizen",
                outcome: Err("no citizen has the chip's document number".into()),
            }),
            Some(citizen) => {
                checks.push(ChipCheck {
                    name: "citizen",
                    outcome: if citizen.status == CitizenStatus::Deceased {
                        Err("the citizen is recorded as deceased".into())
                    } else {
                        Ok(())
                    },
                });
                mismatched = mismatched_fields(self.seed, citizen, &passive.dg1, &passive.dg13);
                // Every field outside the scope is withheld, whether it differs or not.
                for field in CHIP_COMPARED {
                    disclosure.shows(field, true);
                }
                mismatched.retain(|path| chip_field(path).is_none_or(|field| scope.allows(field)));
                checks.push(ChipCheck {
                    name: "database",
                    outcome: if mismatched.is_empty() {
                        Ok(())
                    } else {
                        Err(format!(
                            "differs from the database: {}",
                            mismatched.join(", ")
                        ))
                    },
                });
                if disclosure.shows(ScopeField::Card, true) {
                    checks.push(ChipCheck {
                        name: "card_state",
                        outcome: match citizen.card_state(today) {
                            Some(CardState::Valid) => Ok(()),
                            Some(CardState::Revoked) => Err("the card was revoked".into()),
                            Some(CardState::Expired) => Err("the card has expired".into()),
                            None => Err("the database records no card for this citizen".into()),
                        },
                    });
                }
            }
        }
        let verdict =
            checks
                .iter()
                .find(|c| c.outcome.is_err())
                .map_or(ChipVerdict::Valid, |failed| match failed.name {
                    "certificate_chain" => ChipVerdict::UnknownSigner,
                    "signature" => ChipVerdict::BadSignature,
                    "data_group_hashes" => ChipVerdict::DataGroupTampered,
                    "citizen" if citizen.is_none() => ChipVerdict::UnknownNumber,
                    "citizen" => ChipVerdict::CitizenDeceased,
                    "database" => ChipVerdict::DatabaseMismatch,
                    _ => match citizen.as_ref().and_then(|c| c.card_state(today)) {
                        Some(CardState::Revoked) => ChipVerdict::CardRevoked,
                        _ => ChipVerdict::CardExpired,
                    },
                });
        Ok(ChipVerification {
            verdict,
            checks,
            tampered_data_groups: passive.tampered,
            mismatched_fields: mismatched,
            document_number: passive.document_number,
            withheld_fields: disclosure.withheld(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        chip::{chip_read, tampered_chip_read, DocumentSigner, Tamper},
        population::builtin_fixtures,
    };

    fn verify(read: &crate::proto::ChipRead) -> ChipVerification {
        let fixtures: Vec<Arc<Citizen>> = builtin_fixtures().into_iter().map(Arc::new).collect();
        let verifier = ChipVerifier::new(CscaTrust::development(), 9);
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        verifier
            .verify(
                read,
                |n| fixtures.iter().find(|c| c.cccd == n).cloned(),
                today,
                SystemTime::now(),
                FieldScope::all(),
            )
            .unwrap()
    }

    #[test]
    fn genuine_and_each_tampering() {
        let signer = DocumentSigner::development();
        let an = &builtin_fixtures()[0];
        let valid = verify(&chip_read(9, an, &signer).unwrap());
        assert_eq!(valid.verdict, ChipVerdict::Valid, "{:?}", valid.checks);
        let cases = [
            (Tamper::Dg1, ChipVerdict::DataGroupTampered),
            (Tamper::Dg13, ChipVerdict::DataGroupTampered),
            (Tamper::Signature, ChipVerdict::BadSignature),
            (Tamper::UnknownSigner, ChipVerdict::UnknownSigner),
            (Tamper::DatabaseMismatch, ChipVerdict::DatabaseMismatch),
        ];
        for (tamper, expected) in cases {
            let report = verify(&tampered_chip_read(9, an, &signer, tamper).unwrap());
            assert_eq!(report.verdict, expected, "{tamper:?}: {:?}", report.checks);
        }
        // A read made for another seed's population has other DG13 personal data.
        let other = verify(&chip_read(10, an, &signer).unwrap());
        assert_eq!(other.verdict, ChipVerdict::DatabaseMismatch);
    }
}
