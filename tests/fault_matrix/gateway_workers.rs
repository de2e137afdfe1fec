//! The gateway's workers: the same calls through the in-process gateway, over REST/JSON
//! ([`rest_worker`]) and over gRPC ([`grpc_worker`]).

use std::{net::SocketAddr, sync::Arc};

use serde_json::{json, Value};
use vnpop::{
    client::{connect_channel, LookupContext, RegistryClient, VneidClient},
    proto::{self, agency_gateway_client::AgencyGatewayClient},
};

use crate::{
    direct::credentials,
    ledger::{Ending, Route},
    rest::Rest,
    world::World,
    Lcg, DISTRICT, PURPOSE,
};

/// A worker of the gateway's REST API: a dossier opened, then every verifying route.
pub(crate) async fn rest_worker(world: Arc<World>, gateway: SocketAddr, seed: u64) {
    let mut lcg = Lcg::new(seed ^ 0x2e57);
    let mut rest = Rest::new(gateway);
    for n in 0..5_000 {
        if world.stopped() {
            break;
        }
        let id = format!("FM-R-{n}");
        let opened = rest
            .post(
                "/v1/dossiers",
                &json!({
                    "dossierId": id,
                    "procedureCode": "1.004227",
                    "district": DISTRICT,
                    "officerId": "officer-rest",
                    "channel": "DOSSIER_CHANNEL_DESK",
                }),
            )
            .await;
        match opened {
            Ok(answer) if answer.status == 201 => {
                world.ledger.lock().unwrap().open(&id, Route::Rest)
            }
            other => {
                world.violation(format!("{id} REST open: {other:?}"));
                continue;
            }
        }
        let targets = &world.targets;
        let (cccd, qr, declared) = &targets.known[lcg.below(targets.known.len() as u64) as usize];
        let cmnd = &targets.cmnd[lcg.below(targets.cmnd.len() as u64) as usize];
        let chip = &targets.chips[lcg.below(targets.chips.len() as u64) as usize];
        let context = json!({"purpose": PURPOSE});
        let path = |route: &str| format!("/v1/dossiers/{id}/{route}");
        let calls: [(&'static str, &str, Value); 5] = [
            (
                "LookupByCccd",
                "lookup-by-cccd",
                json!({"context": context, "cccdNumber": cccd}),
            ),
            (
                "LookupByCmnd",
                "lookup-by-cmnd",
                json!({"context": context, "cmndNumber": cmnd}),
            ),
            (
                "VerifyDemographics",
                "verify-demographics",
                json!({"context": context, "cccdNumber": cccd, "declared": serde_json::to_value(declared).unwrap()}),
            ),
            (
                "VerifyQr",
                "verify-qr",
                json!({"context": context, "qrPayload": qr}),
            ),
            (
                "VerifyChipRead",
                "verify-chip",
                json!({"context": context, "chipRead": serde_json::to_value(chip).unwrap()}),
            ),
        ];
        for (rpc, route, body) in calls {
            let result = rest.post(&path(route), &body).await;
            world.call(&id, rpc, Ending::of_rest(&result)).await;
        }
        let account = targets.account();
        let started = rest
            .post(
                &path("vneid/start"),
                &json!({"context": context, "cccdNumber": account.cccd, "level": "VNEID_LEVEL_ONE"}),
            )
            .await;
        let challenge = match &started {
            Ok(answer) if answer.status == 200 => {
                answer.json["challengeId"].as_str().map(str::to_owned)
            }
            _ => None,
        };
        world
            .call(&id, "StartAuthentication", Ending::of_rest(&started))
            .await;
        if let Some(challenge) = challenge {
            let creds = &credentials(account, &mut lcg);
            let result = rest
                .post(
                    &path("vneid/complete"),
                    &json!({
                        "context": context,
                        "challengeId": challenge,
                        "passcode": creds.passcode,
                        "totpCode": creds.current_code(),
                    }),
                )
                .await;
            world
                .call(&id, "CompleteAuthentication", Ending::of_rest(&result))
                .await;
        }
    }
}

/// A worker of the gateway's gRPC API: a dossier opened (AgencyGateway), then every verifying
/// call.
pub(crate) async fn grpc_worker(world: Arc<World>, gateway: SocketAddr, seed: u64) {
    let mut lcg = Lcg::new(seed ^ 0x6c9c);
    let channel = connect_channel(&format!("http://{gateway}"), None)
        .await
        .expect("the gateway's gRPC port");
    let mut opener = AgencyGatewayClient::new(channel.clone());
    let registry = RegistryClient::from_channel(channel.clone());
    let vneid = VneidClient::from_channel(channel);
    for n in 0..5_000 {
        if world.stopped() {
            break;
        }
        let id = format!("FM-G-{n}");
        let opened = opener
            .open_dossier(proto::OpenDossierRequest {
                dossier_id: id.clone(),
                procedure_code: "1.004227".into(),
                district: DISTRICT.into(),
                officer_id: "officer-grpc".into(),
                channel: proto::DossierChannel::Desk as i32,
                ..Default::default()
            })
            .await;
        match opened {
            Ok(_) => world.ledger.lock().unwrap().open(&id, Route::Grpc),
            Err(status) => {
                world.violation(format!("{id} gRPC open: {status:?}"));
                continue;
            }
        }
        let targets = &world.targets;
        let (cccd, qr, declared) = &targets.known[lcg.below(targets.known.len() as u64) as usize];
        let cmnd = &targets.cmnd[lcg.below(targets.cmnd.len() as u64) as usize];
        let chip = targets.chips[lcg.below(targets.chips.len() as u64) as usize].clone();
        let context = LookupContext::new(id.as_str(), PURPOSE, "officer-grpc");

        let result = registry.lookup_by_cccd(&context, cccd).await;
        world
            .call(&id, "LookupByCccd", Ending::of_gateway_grpc(&result))
            .await;
        let result = registry.lookup_by_cmnd(&context, cmnd).await;
        world
            .call(&id, "LookupByCmnd", Ending::of_gateway_grpc(&result))
            .await;
        let result = registry
            .verify_demographics(&context, cccd, declared.clone())
            .await;
        world
            .call(&id, "VerifyDemographics", Ending::of_gateway_grpc(&result))
            .await;
        let result = registry.verify_qr(&context, qr).await;
        world
            .call(&id, "VerifyQr", Ending::of_gateway_grpc(&result))
            .await;
        let result = vneid.verify_chip(&context, chip).await;
        world
            .call(&id, "VerifyChipRead", Ending::of_gateway_grpc(&result))
            .await;
        let account = targets.account();
        let started = vneid
            .start(&context, &account.cccd, proto::VneidLevel::One)
            .await;
        world
            .call(
                &id,
                "StartAuthentication",
                Ending::of_gateway_grpc(&started),
            )
            .await;
        if let Ok(started) = started {
            let creds = &credentials(account, &mut lcg);
            let result = vneid
                .complete(
                    &context,
                    &started.challenge_id,
                    &creds.passcode,
                    &creds.current_code(),
                    None,
                )
                .await;
            world
                .call(
                    &id,
                    "CompleteAuthentication",
                    Ending::of_gateway_grpc(&result),
                )
                .await;
        }
    }
}
