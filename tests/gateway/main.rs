//! `vnpop gateway` end to end, in process: a real server with mTLS, a gateway forwarding to it,
//! and callers speaking REST/JSON (a plain HTTP client) or gRPC without TLS on loopback.
//!
//! This file holds what the tests share; `outage` runs the bundled scenario through an outage,
//! `problems` the errors and the API key, `openapi` the document against the routes served,
//! `grpc` the gRPC services, `limits` the connection bounds, the API key rule and `/health`,
//! `communes` dossiers received at communes since the reform, `language` messages in Vietnamese,
//! `readme`
//! docs/gateway.md's curl and Python examples.

#[path = "../common/mod.rs"]
mod common;
mod communes;
mod grpc;
mod language;
mod limits;
mod openapi;
mod outage;
mod problems;
mod readme;
#[path = "../common/rest.rs"]
mod rest;

use std::{
    collections::VecDeque,
    path::Path,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use common::{assert_reason, certs_dir, free_port, test_config, TestServer};
use rest::Rest;
use serde_json::{json, Value};
use tonic::Code;
use vnpop::{
    chip::{chip_read, DocumentSigner},
    client::{ClientError, LookupContext, RegistryClient, VneidClient},
    domain::CccdNumber,
    gateway::{self, GatewayConfig, RunningGateway},
    population::{self, PopulationSpec},
    proto::{self, agency_gateway_client::AgencyGatewayClient},
    simulate::{self, Scenario},
    vneid::TestCredentials,
};

const AN: &str = "001090012345";
/// Has a level-1 VNeID account.
const NGOC: &str = "079195001234";

fn gateway_config(server_port: u16, data_dir: &Path) -> GatewayConfig {
    let mut config = GatewayConfig::defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.server = format!("https://localhost:{server_port}");
    config.ca = certs_dir().join("ca.pem");
    config.cert = certs_dir().join("simulation.pem");
    config.key = certs_dir().join("simulation.key");
    config.data_dir = data_dir.to_owned();
    config.api_key = None;
    config
}

async fn start_gateway(server_port: u16) -> RunningGateway {
    gateway::start(&gateway_config(server_port, &common::data_dir()))
        .await
        .expect("the gateway starts")
}

fn open_body(id: &str) -> Value {
    json!({
        "dossierId": id,
        "procedureCode": "1.004227",
        "district": "Quận Ba Đình",
        "officerId": "officer-017",
        "channel": "DOSSIER_CHANNEL_DESK",
    })
}

fn lookup_body(cccd: &str) -> Value {
    json!({"context": {"purpose": "đăng ký thường trú"}, "cccdNumber": cccd})
}

fn ratio(from: &str, to: &str) -> proto::LookupRatioRequest {
    proto::LookupRatioRequest {
        from: from.into(),
        to: to.into(),
        ..Default::default()
    }
}
