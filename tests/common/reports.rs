//! Audit events as tests report them and read them back, and the bundled scenario cut down and
//! run through an agency client.

use std::path::Path;

use vnpop::{
    client::{AgencyClient, AgencyClientConfig},
    proto,
    server::RunningServer,
    simulate,
};

use super::{agency_tls, connect_audit};

/// The report of a dossier's receipt at the desk (procedure 1.004227) of `district` by
/// `officer` at `at` (Unix ms). Other fields: struct update syntax over it.
pub fn receipt(
    event_id: impl Into<String>,
    dossier_id: &str,
    district: &str,
    officer: &str,
    at: i64,
) -> proto::ReportedEvent {
    proto::ReportedEvent {
        event_id: event_id.into(),
        dossier_id: dossier_id.into(),
        district: district.into(),
        officer_id: officer.into(),
        occurred_at_ms: at,
        kind: Some(proto::reported_event::Kind::Dossier(
            proto::DossierReceived {
                procedure_code: "1.004227".into(),
                channel: "desk".into(),
            },
        )),
        ..Default::default()
    }
}

/// `event` (see [`receipt`]) reporting a verification instead: `rpc` of the citizen `cccd`, with
/// `outcome`, for `purpose`.
pub fn as_verification(
    event: proto::ReportedEvent,
    rpc: &str,
    outcome: &str,
    purpose: &str,
    cccd: &str,
) -> proto::ReportedEvent {
    proto::ReportedEvent {
        kind: Some(proto::reported_event::Kind::Verification(
            proto::VerificationMade {
                rpc: rpc.into(),
                outcome: outcome.into(),
                purpose: purpose.into(),
                cccd_number: cccd.into(),
            },
        )),
        ..event
    }
}

/// The bundled scenario (`data/scenario.toml`) with every total divided by 100, as TOML.
pub fn small_bundled_scenario() -> String {
    let bundled =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/scenario.toml"))
            .unwrap();
    bundled
        .lines()
        .map(|line| match line.split_once(" = ") {
            Some((key @ ("dossiers" | "lookups"), n)) => {
                format!("{key} = {}", n.trim().parse::<u64>().unwrap() / 100)
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `scenario` as `identity` through a new agency client (the simulation agency's
/// certificate) with its own outbox.
pub async fn simulate_through(
    server: &RunningServer,
    scenario: &simulate::Scenario,
    identity: &simulate::RunIdentity,
) -> simulate::SimulationReport {
    let outbox = tempfile::tempdir().unwrap();
    let config = AgencyClientConfig::new(
        format!("https://localhost:{}", server.local_addr.port()),
        Some(agency_tls("simulation")),
        outbox.path().join("outbox.sqlite"),
    )
    .with_run_id(identity.id.clone());
    let client = AgencyClient::open(config).await.unwrap();
    simulate::run(
        &client,
        scenario,
        identity,
        16,
        2026,
        simulate::Stop::never(),
        std::time::Duration::ZERO,
        |_, _| {},
    )
    .await
    .unwrap()
}

/// The events an auditor lists with `request` (ListEvents), in log order.
pub async fn list_events(
    server: &RunningServer,
    request: vnpop::proto::ListEventsRequest,
) -> Vec<vnpop::proto::LoggedEvent> {
    use tokio_stream::StreamExt;
    let auditor = connect_audit(server, "auditor-thanh-tra").await;
    let mut stream = auditor
        .raw()
        .list_events(request)
        .await
        .unwrap()
        .into_inner();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.unwrap());
    }
    events
}

/// Every event in the audit log of `data_dir`, in log order, read back through the library.
#[allow(dead_code)]
pub fn logged_events(data_dir: &std::path::Path) -> Vec<vnpop::audit::AuditEvent> {
    let reader = vnpop::audit::query::AuditReader::open(&data_dir.join("audit.sqlite")).unwrap();
    let mut events = Vec::new();
    reader
        .events(&Default::default(), |logged| {
            events.push(logged.event);
            true
        })
        .unwrap();
    events
}

/// (rpc, outcome, dossier, agency, subject) of every server-observed verification, in order,
/// spelled as the log spells them.
#[allow(dead_code)]
pub fn served_calls(data_dir: &std::path::Path) -> Vec<(String, String, String, String, String)> {
    logged_events(data_dir)
        .into_iter()
        .filter(|e| e.source == vnpop::audit::EventSource::Server)
        .filter_map(|e| match e.kind {
            vnpop::audit::EventKind::Verification {
                rpc,
                outcome,
                subject,
                ..
            } => Some((
                rpc.to_string(),
                outcome.to_string(),
                e.dossier_id,
                e.agency_id,
                subject.map(|s| s.to_hex()).unwrap_or_default(),
            )),
            vnpop::audit::EventKind::Dossier { .. } => None,
        })
        .collect()
}

/// A report's page without what differs between two runs over the same log (the command line,
/// the times it was made) and without the signed checkpoint, which only a report made through
/// the server has (signing needs the log's key): what a report through the server and one on
/// the file must share.
#[allow(dead_code)]
pub fn stable_part(html: &str) -> String {
    let html = match (
        html.find("<pre id=\"checkpoint\">"),
        html.find("<pre id=\"verifier-key\">"),
    ) {
        (Some(start), Some(key)) => {
            let start = html[..start].rfind("<p><b>").unwrap_or(start);
            let end = key + html[key..].find("</pre>").unwrap() + "</pre>\n".len();
            format!("{}{}", &html[..start], &html[end..])
        }
        _ => html.to_owned(),
    };
    html.lines()
        .filter(|l| !l.contains("id=\"command\"") && !l.contains(": 20") && !l.contains("Lập lúc"))
        .collect::<Vec<_>>()
        .join("\n")
}
