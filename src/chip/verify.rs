//! Verifying a chip read end to end: passive authentication, then the database (is there such a
//! citizen, does the chip say what the database says, is the card valid today).

use std::{sync::Arc, time::SystemTime};

use chrono::NaiveDate;

use super::{data_groups::mismatched_fields, passive, CscaTrust};
use crate::domain::{CardState, CccdNumber, Citizen, CitizenStatus};

pub use passive::MalformedChipRead;

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
}

impl ChipVerification {
    pub fn is_valid(&self) -> bool {
        self.verdict == ChipVerdict::Valid
    }
}

/// Verifies chip reads against a trusted CSCA and the population of a seed.
#[derive(Debug, Clone)]
pub struct ChipVerifier {
    pub trust: CscaTrust,
    pub seed: u64,
}

impl ChipVerifier {
    pub fn new(trust: CscaTrust, seed: u64) -> Self {
        ChipVerifier { trust, seed }
    }

    /// Verifies `read`: `lookup` finds the citizen in the database, `today` decides card expiry,
    /// `now` the certificates' validity.
    pub fn verify(
        &self,
        read: &crate::proto::ChipRead,
        lookup: impl Fn(CccdNumber) -> Option<Arc<Citizen>>,
        today: NaiveDate,
        now: SystemTime,
    ) -> Result<ChipVerification, MalformedChipRead> {
        let passive = passive::authenticate(read, &self.trust, now)?;
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
        let citizen = CccdNumber::parse(&passive.document_number)
            .ok()
            .and_then(&lookup);
        let mut mismatched = Vec::new();
        match &citizen {
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
