//! The world the workers share ([`World`]): the targets they call (citizens, cards, VNeID
//! accounts) and the ledger they keep, and the kill switch.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Mutex,
    },
    time::Duration,
};

use chrono::Datelike;
use vnpop::{
    chip::{chip_read, DocumentSigner},
    domain::{CitizenStatus, QrPayload, Sex, VneidLevel},
    population::{self, PopulationSpec},
    proto,
    vneid::TestCredentials,
};

use crate::{
    ledger::{Ending, Ledger},
    POPULATION_SEED,
};

/// The citizens the calls name, taken from the server's population.
pub(crate) struct Targets {
    /// (cccd, qr payload, declared) of active card holders.
    pub(crate) known: Vec<(String, String, proto::Declared)>,
    /// CMND numbers of citizens who have one.
    pub(crate) cmnd: Vec<String>,
    /// Genuine chip reads.
    pub(crate) chips: Vec<proto::ChipRead>,
    /// VNeID accounts (any level may log in at level 1), taken in turn so a one-time code is
    /// not reused within its 30-second step.
    accounts: Vec<TestCredentialsOf>,
    next_account: AtomicUsize,
}

pub(crate) struct TestCredentialsOf {
    pub(crate) cccd: String,
    pub(crate) credentials: TestCredentials,
}

impl Targets {
    pub(crate) fn build() -> Self {
        let spec = PopulationSpec {
            seed: POPULATION_SEED,
            size: 1_000,
            reference_date: PopulationSpec::default_reference_date(),
        };
        let citizens = population::generate(spec, &population::builtin_fixtures());
        let active: Vec<_> = citizens
            .iter()
            .filter(|c| c.status == CitizenStatus::Active && c.card.is_some())
            .collect();
        let signer = DocumentSigner::development();
        let targets = Targets {
            known: active
                .iter()
                .map(|c| {
                    (
                        c.cccd.to_string(),
                        QrPayload::of(c).encode(),
                        proto::Declared {
                            full_name: Some(c.full_name.clone()),
                            date_of_birth: Some(proto::Date {
                                year: c.date_of_birth.year(),
                                month: c.date_of_birth.month() as i32,
                                day: c.date_of_birth.day() as i32,
                            }),
                            sex: Some(match c.sex {
                                Sex::Male => proto::Sex::Male,
                                Sex::Female => proto::Sex::Female,
                            } as i32),
                            address: Some(c.permanent_address.to_string()),
                        },
                    )
                })
                .collect(),
            cmnd: citizens
                .iter()
                .filter_map(|c| c.cmnd.as_ref().map(|n| n.to_string()))
                .collect(),
            chips: active
                .iter()
                .take(16)
                .map(|c| chip_read(POPULATION_SEED, c, &signer).expect("a genuine chip read"))
                .collect(),
            accounts: citizens
                .iter()
                .filter(|c| c.vneid != VneidLevel::None && c.status == CitizenStatus::Active)
                .map(|c| TestCredentialsOf {
                    cccd: c.cccd.to_string(),
                    credentials: TestCredentials::derive(POPULATION_SEED, c.cccd),
                })
                .collect(),
            next_account: AtomicUsize::new(0),
        };
        assert!(targets.known.len() >= 100 && !targets.cmnd.is_empty());
        assert!(targets.accounts.len() >= 50, "{}", targets.accounts.len());
        targets
    }

    pub(crate) fn account(&self) -> &TestCredentialsOf {
        let n = self.next_account.fetch_add(1, Ordering::Relaxed);
        &self.accounts[n % self.accounts.len()]
    }
}

/// What the workers share.
pub(crate) struct World {
    pub(crate) ledger: Mutex<Ledger>,
    pub(crate) targets: Targets,
    pub(crate) stop: AtomicBool,
}

impl World {
    /// Counts a call (see [`Ledger::call`]); after a lost one, waits 10 ms, so that a worker
    /// does not spin while the server is down and most calls meet a server that is up.
    pub(crate) async fn call(&self, id: &str, rpc: &'static str, ending: Ending) {
        let lost = matches!(ending, Ending::Lost { .. });
        self.ledger.lock().unwrap().call(id, rpc, ending);
        if lost {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub(crate) fn violation(&self, what: String) {
        self.ledger.lock().unwrap().violations.push(what);
    }

    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}
