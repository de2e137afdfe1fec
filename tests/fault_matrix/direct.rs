//! The direct worker: every `AgencyClient` call in a loop, `open_dossier` and
//! `open_dossier_once`, then each `Dossier` call.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use vnpop::{
    client::{AgencyClient, ClientError, Dossier, DossierChannel, DossierInfo},
    proto,
    vneid::TestCredentials,
};

use crate::{
    common,
    ledger::{Ending, Route},
    world::{TestCredentialsOf, World},
    Lcg, DISTRICT, PURPOSE,
};

/// The account's credentials, or (one time in four) a wrong passcode: the server refuses the
/// login (UNAUTHENTICATED, VNEID_PASSCODE_WRONG) and records the refusal.
pub(crate) fn credentials(account: &TestCredentialsOf, lcg: &mut Lcg) -> TestCredentials {
    if lcg.below(4) == 0 {
        common::wrong_passcode(&account.credentials)
    } else {
        account.credentials.clone()
    }
}

fn dossier_info(id: &str, officer: &str) -> DossierInfo {
    DossierInfo::new(id, "1.004227", DISTRICT, officer, DossierChannel::Desk)
}

/// A worker of the client library: dossiers opened with `open_dossier` (even) or
/// `open_dossier_once` (odd), then every call through the `Dossier`, and now and then a short
/// `flush`.
pub(crate) async fn direct_worker(
    world: Arc<World>,
    client: AgencyClient,
    worker: usize,
    seed: u64,
) {
    let mut lcg = Lcg::new(seed ^ (worker as u64 + 1));
    let officer = format!("officer-{worker}");
    for n in 0..5_000 {
        if world.stopped() {
            break;
        }
        let id = format!("FM-D{worker}-{n}");
        let info = dossier_info(&id, &officer);
        let once = n % 2 == 1;
        let dossier = if once {
            match open_once(&world, &client, &id, info).await {
                Some(dossier) => dossier,
                None => continue,
            }
        } else {
            match client.open_dossier(info).await {
                Ok(dossier) => {
                    world.ledger.lock().unwrap().open(&id, Route::Direct);
                    dossier
                }
                Err(error) => {
                    world.violation(format!("{id} open_dossier: {error:?}"));
                    continue;
                }
            }
        };
        dossier_calls(&world, &dossier, &id, &mut lcg).await;
        if n % 5 == 4 {
            match client.flush(Duration::from_millis(200)).await {
                Ok(()) | Err(ClientError::FlushTimeout { .. }) => {}
                Err(error) => world.violation(format!("flush: {error:?}")),
            }
        }
    }
}

/// `open_dossier_once` until the server answers (at most 30 s): the dossier, or `None` when it
/// was given up (then its receipt may or may not be in the log, and nothing more is made for it).
async fn open_once(
    world: &World,
    client: &AgencyClient,
    id: &str,
    info: DossierInfo,
) -> Option<Dossier> {
    let started = Instant::now();
    loop {
        let result = client.open_dossier_once(info.clone()).await;
        match result {
            Ok(Some(dossier)) => {
                world.ledger.lock().unwrap().open(id, Route::Once);
                return Some(dossier);
            }
            // An earlier attempt reached the log before its answer was lost.
            Ok(None) => {
                world.ledger.lock().unwrap().open(id, Route::Once);
                return Some(client.resume_dossier(info));
            }
            Err(_) => match Ending::of_client(&result) {
                Ending::Lost { .. } if started.elapsed() < Duration::from_secs(30) => {
                    *world
                        .ledger
                        .lock()
                        .unwrap()
                        .endings
                        .entry("open_dossier_once retried".into())
                        .or_default() += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ending::Violation(what) => {
                    world.violation(format!("{id} open_dossier_once: {what}"));
                    return None;
                }
                ending => {
                    world.violation(format!("{id} open_dossier_once gave up: {ending:?}"));
                    return None;
                }
            },
        }
    }
}

/// Every verifying call through `dossier`, each counted in the ledger.
async fn dossier_calls(world: &World, dossier: &Dossier, id: &str, lcg: &mut Lcg) {
    let targets = &world.targets;
    let (cccd, qr, declared) = &targets.known[lcg.below(targets.known.len() as u64) as usize];
    let cmnd = &targets.cmnd[lcg.below(targets.cmnd.len() as u64) as usize];
    let chip = targets.chips[lcg.below(targets.chips.len() as u64) as usize].clone();

    let result = dossier.lookup_by_cccd(PURPOSE, cccd).await;
    world
        .call(id, "LookupByCccd", Ending::of_client(&result))
        .await;
    let result = dossier.lookup_by_cmnd(PURPOSE, cmnd).await;
    world
        .call(id, "LookupByCmnd", Ending::of_client(&result))
        .await;
    let result = dossier
        .verify_demographics(PURPOSE, cccd, declared.clone())
        .await;
    world
        .call(id, "VerifyDemographics", Ending::of_client(&result))
        .await;
    let result = dossier.verify_qr(PURPOSE, qr).await;
    world.call(id, "VerifyQr", Ending::of_client(&result)).await;
    let result = dossier.verify_chip(PURPOSE, chip).await;
    world
        .call(id, "VerifyChipRead", Ending::of_client(&result))
        .await;
    let account = targets.account();
    let started = dossier
        .start_vneid(PURPOSE, &account.cccd, proto::VneidLevel::One)
        .await;
    world
        .call(id, "StartAuthentication", Ending::of_client(&started))
        .await;
    if let Ok(started) = started {
        let creds = &credentials(account, lcg);
        let result = dossier
            .complete_vneid(
                PURPOSE,
                &started.challenge_id,
                &creds.passcode,
                &creds.current_code(),
                None,
            )
            .await;
        world
            .call(id, "CompleteAuthentication", Ending::of_client(&result))
            .await;
    }
}
