//! The AuditTrail service over mTLS: ingest with deduplication, exact ratios, role checks, and
//! proofs checked by an independent RFC 9162 verifier written here.

mod common;

use common::{as_verification, receipt, TestServer};
use ring::digest::{Context, SHA256};
use tonic::Code;
use vnpop::proto;

/// 2023-12-01T00:00:00+07:00.
const DEC_1_2023: i64 = 1_701_363_600_000;
const DAY: i64 = 86_400_000;

fn dossier(id: &str, district: &str, officer: &str, at: i64) -> proto::ReportedEvent {
    receipt(format!("dossier-{id}"), id, district, officer, at)
}

fn lookup(n: u32, id: &str, at: i64) -> proto::ReportedEvent {
    as_verification(
        receipt(format!("lookup-{id}-{n}"), id, "", "o", at),
        "LookupByCccd",
        "found",
        "đăng ký thường trú",
        "001090012345",
    )
}

/// Ten dossiers in two districts, four lookups (one dossier looked up twice).
fn known_events() -> Vec<proto::ReportedEvent> {
    let mut events = Vec::new();
    for i in 0..10 {
        let district = if i < 6 {
            "Quận Ba Đình"
        } else {
            "Quận Tây Hồ"
        };
        events.push(dossier(
            &format!("D{i}"),
            district,
            &format!("officer-{}", i % 2),
            DEC_1_2023 + i * DAY,
        ));
    }
    events.push(lookup(1, "D0", DEC_1_2023));
    events.push(lookup(2, "D0", DEC_1_2023));
    events.push(lookup(1, "D3", DEC_1_2023 + 3 * DAY));
    events.push(lookup(1, "D7", DEC_1_2023 + 7 * DAY));
    events
}

#[tokio::test]
async fn ingest_deduplicates_and_the_ratio_is_exact() {
    let server = TestServer::start().await;
    let desk = server.audit("simulation").await;
    let auditor = server.audit("auditor-thanh-tra").await;

    let first = desk.ingest(known_events()).await.unwrap();
    assert_eq!(
        (first.stored, first.duplicates, first.tree_size),
        (14, 0, 14)
    );
    let again = desk.ingest(known_events()).await.unwrap();
    assert_eq!(
        (again.stored, again.duplicates, again.tree_size),
        (0, 14, 14)
    );

    let request = |group_by: &[&str]| proto::LookupRatioRequest {
        from: "2023-12-01".into(),
        to: "2023-12-31".into(),
        group_by: group_by.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    };
    let total = auditor.lookup_ratio(request(&[])).await.unwrap();
    assert_eq!(total.len(), 1);
    // Reported only: the server served none of these lookups, so they cover nothing.
    assert_eq!(
        (
            total[0].dossiers,
            total[0].lookups,
            total[0].dossiers_with_reported_lookup,
            total[0].reported_not_served,
            total[0].served,
            total[0].dossiers_with_lookup
        ),
        (10, 4, 3, 4, 0, 0)
    );
    assert_eq!(
        (total[0].lookups_per_dossier, total[0].coverage),
        (0.0, 0.0)
    );

    let by_district = auditor.lookup_ratio(request(&["district"])).await.unwrap();
    let figures: Vec<(String, u64, u64)> = by_district
        .iter()
        .map(|r| (r.group.join("/"), r.dossiers, r.lookups))
        .collect();
    assert_eq!(
        figures,
        [
            ("Quận Ba Đình".to_string(), 6, 3),
            ("Quận Tây Hồ".to_string(), 4, 1)
        ]
    );

    // The period's end is inclusive, in Vietnam's time: 1–3 December holds D0, D1, D2.
    let mut short = request(&[]);
    short.to = "2023-12-03".into();
    let rows = auditor.lookup_ratio(short).await.unwrap();
    assert_eq!((rows[0].dossiers, rows[0].lookups), (3, 2));

    let error = auditor
        .lookup_ratio(request(&["weekday"]))
        .await
        .unwrap_err();
    assert_eq!(error.invalid_fields(), ["group_by"]);
}

#[tokio::test]
async fn only_auditors_query_and_events_are_validated() {
    let server = TestServer::start().await;
    let desk = server.audit("simulation").await;
    let error = desk.tree_head().await.unwrap_err();
    assert_eq!(error.code(), Code::PermissionDenied);
    assert_eq!(error.reason(), Some(vnpop::client::Reason::RoleNotAllowed));
    let error = desk
        .lookup_ratio(proto::LookupRatioRequest {
            from: "2023-01-01".into(),
            to: "2023-12-31".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::PermissionDenied);

    let auditor = server.audit("auditor-thanh-tra").await;
    let error = auditor.ingest(known_events()).await.unwrap_err();
    assert_eq!(
        error.code(),
        Code::PermissionDenied,
        "auditors do not report events"
    );

    // A bad event is refused alone, named with its field; the rest of the batch is stored.
    let mut bad = known_events();
    bad[2].dossier_id.clear();
    let answer = desk.ingest(bad.clone()).await.unwrap();
    assert_eq!(answer.stored as usize, bad.len() - 1);
    assert_eq!(answer.refused.len(), 1);
    let refused = &answer.refused[0];
    assert_eq!(
        (refused.index, refused.event_id.as_str()),
        (2, "dossier-D2")
    );
    assert_eq!(refused.code, "INVALID_ARGUMENT");
    assert_eq!(refused.reason, "EVENT_INVALID");
    assert_eq!(refused.field, "events[2].dossier_id");
}

// ---- An independent RFC 9162 verifier (not the crate's), to check the server's proofs. ----

fn hash_children(left: &[u8], right: &[u8]) -> Vec<u8> {
    let mut h = Context::new(&SHA256);
    h.update(&[1u8]);
    h.update(left);
    h.update(right);
    h.finish().as_ref().to_vec()
}

fn independent_inclusion(
    leaf_data: &[u8],
    index: u64,
    size: u64,
    path: &[Vec<u8>],
    root: &[u8],
) -> bool {
    let mut h = Context::new(&SHA256);
    h.update(&[0u8]);
    h.update(leaf_data);
    let mut r = h.finish().as_ref().to_vec();
    let (mut f, mut s) = (index, size - 1);
    for p in path {
        if s == 0 {
            return false;
        }
        if f % 2 == 1 || f == s {
            r = hash_children(p, &r);
            while f % 2 == 0 && f != 0 {
                f /= 2;
                s /= 2;
            }
        } else {
            r = hash_children(&r, p);
        }
        f /= 2;
        s /= 2;
    }
    s == 0 && r == root
}

fn independent_consistency(m: u64, n: u64, old: &[u8], new: &[u8], proof: &[Vec<u8>]) -> bool {
    let mut path = proof.to_vec();
    if m.is_power_of_two() {
        path.insert(0, old.to_vec());
    }
    let (mut f, mut s) = (m - 1, n - 1);
    while f % 2 == 1 {
        f /= 2;
        s /= 2;
    }
    let (mut fr, mut sr) = (path[0].clone(), path[0].clone());
    for c in &path[1..] {
        if s == 0 {
            return false;
        }
        if f % 2 == 1 || f == s {
            fr = hash_children(c, &fr);
            sr = hash_children(c, &sr);
            while f % 2 == 0 && f != 0 {
                f /= 2;
                s /= 2;
            }
        } else {
            sr = hash_children(&sr, c);
        }
        f /= 2;
        s /= 2;
    }
    fr == old && sr == new && s == 0
}

#[tokio::test]
async fn proofs_verify_independently_and_heads_are_signed() {
    let server = TestServer::start().await;
    let desk = server.audit("simulation").await;
    let auditor = server.audit("auditor-thanh-tra").await;
    let events = known_events();
    desk.ingest(events[..5].to_vec()).await.unwrap();
    let yesterday = auditor.tree_head().await.unwrap();
    assert_eq!(yesterday.tree_size, 5);
    desk.ingest(events[5..].to_vec()).await.unwrap();
    let today = auditor.tree_head().await.unwrap();
    assert_eq!(today.tree_size, 14);

    // The head's signature verifies with the published key.
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &today.public_key);
    let mut message = b"vnpop-tree-head-v1".to_vec();
    message.extend_from_slice(&today.tree_size.to_be_bytes());
    message.extend_from_slice(&today.signed_at_ms.to_be_bytes());
    message.extend_from_slice(&today.root_hash);
    key.verify(&message, &today.signature).unwrap();

    for index in 0..14 {
        let proof = auditor.inclusion_proof(index, 0).await.unwrap();
        assert_eq!(proof.root_hash, today.root_hash);
        assert!(
            independent_inclusion(&proof.leaf_data, index, 14, &proof.path, &today.root_hash),
            "leaf {index}"
        );
        let leaf = String::from_utf8_lossy(&proof.leaf_data);
        assert!(
            !leaf.contains("001090012345"),
            "leaves carry the keyed subject only"
        );
        assert!(!independent_inclusion(
            b"forged",
            index,
            14,
            &proof.path,
            &today.root_hash
        ));
    }

    let proof = auditor.consistency_proof(5, 0).await.unwrap();
    assert_eq!(proof.old_root, yesterday.root_hash);
    assert!(independent_consistency(
        5,
        14,
        &yesterday.root_hash,
        &today.root_hash,
        &proof.path
    ));
    assert!(!independent_consistency(
        5,
        14,
        &today.root_hash,
        &today.root_hash,
        &proof.path
    ));

    let error = auditor.inclusion_proof(14, 0).await.unwrap_err();
    assert_eq!(error.invalid_fields(), ["leaf_index"]);

    // The same head as a C2SP checkpoint, checked here as any signed-note verifier would.
    let checkpoint = auditor.checkpoint().await.unwrap();
    assert_eq!(
        (checkpoint.tree_size, &checkpoint.root_hash),
        (14, &today.root_hash)
    );
    assert!(independent_checkpoint(&checkpoint, &today.public_key));
    let forged = proto::Checkpoint {
        note: checkpoint.note.replacen("\n14\n", "\n15\n", 1),
        ..checkpoint.clone()
    };
    assert!(!independent_checkpoint(&forged, &today.public_key));
    // The command prints the same note, and the verifier key.
    for (flag, expected) in [
        (None, checkpoint.note.clone()),
        (
            Some("--verifier-key"),
            format!("{}\n", checkpoint.verifier_key),
        ),
    ] {
        let mut args = vec![
            "audit".to_owned(),
            "checkpoint".to_owned(),
            "--server".to_owned(),
            server.endpoint(),
        ];
        args.extend(flag.map(str::to_owned));
        let out = common::run_vnpop_binary(args).await;
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    }
}

/// A checkpoint checked by the C2SP signed-note and tlog-checkpoint rules, written here from
/// the specifications: three body lines (origin, size, base64 root), a blank line, and a
/// signature line `— ORIGIN BASE64(KEY_ID || SIG)` whose key id is the first four bytes of
/// SHA-256(ORIGIN || "\n" || 0x01 || public key), the signature Ed25519 over the body; the
/// verifier key is ORIGIN+KEY_ID_HEX+BASE64(0x01 || public key).
fn independent_checkpoint(checkpoint: &proto::Checkpoint, public_key: &[u8]) -> bool {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    let Some((body, signatures)) = checkpoint.note.split_once("\n\n") else {
        return false;
    };
    let body = format!("{body}\n");
    let lines: Vec<&str> = body.lines().collect();
    if lines.len() != 3
        || lines[0] != checkpoint.origin
        || lines[1] != checkpoint.tree_size.to_string()
        || STANDARD.decode(lines[2]).ok().as_ref() != Some(&checkpoint.root_hash)
    {
        return false;
    }
    let mut id_input = format!("{}\n", checkpoint.origin).into_bytes();
    id_input.push(1);
    id_input.extend_from_slice(public_key);
    let mut hash = Context::new(&SHA256);
    hash.update(&id_input);
    let key_id = hash.finish().as_ref()[..4].to_vec();
    let mut encoded_key = vec![1];
    encoded_key.extend_from_slice(public_key);
    let hex: String = key_id.iter().map(|b| format!("{b:02x}")).collect();
    if checkpoint.verifier_key
        != format!(
            "{}+{hex}+{}",
            checkpoint.origin,
            STANDARD.encode(&encoded_key)
        )
    {
        return false;
    }
    let prefix = format!("\u{2014} {} ", checkpoint.origin);
    signatures.lines().any(|line| {
        let Some(blob) = line.strip_prefix(&prefix) else {
            return false;
        };
        let Ok(blob) = STANDARD.decode(blob) else {
            return false;
        };
        blob.len() == 68
            && blob[..4] == key_id[..]
            && ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key)
                .verify(body.as_bytes(), &blob[4..])
                .is_ok()
    })
}

#[tokio::test]
async fn unverified_dossiers_page_and_the_citizen_sees_who_looked_them_up() {
    use tokio_stream::StreamExt;
    let server = TestServer::start().await;
    let desk = server.audit("simulation").await;
    let auditor = server.audit("auditor-thanh-tra").await;
    desk.ingest(known_events()).await.unwrap();
    // The server serves lookups for D0, D3 and D7 (of another citizen than the reports name).
    let registry = server.registry("simulation").await;
    for dossier in ["D0", "D3", "D7"] {
        let context = vnpop::client::LookupContext::new(dossier, "đăng ký thường trú", "o");
        registry
            .lookup_by_cccd(&context, "001098005555")
            .await
            .unwrap();
    }

    // D0, D3 and D7 were looked up: the other seven, oldest first, three a page.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = auditor
            .raw()
            .list_unverified_dossiers(proto::ListUnverifiedDossiersRequest {
                from: "2023-12-01".into(),
                to: "2023-12-31".into(),
                page_size: 3,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.dossiers.iter().map(|d| d.dossier_id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ["D1", "D2", "D4", "D5", "D6", "D8", "D9"]);

    // The citizen access log: the four lookups of 001090012345, nobody else's.
    let log = auditor
        .raw()
        .citizen_access_log(proto::CitizenAccessLogRequest {
            cccd_number: "001090012345".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let dossiers: Vec<_> = log.accesses.iter().map(|a| a.dossier_id.as_str()).collect();
    assert_eq!(dossiers, ["D0", "D0", "D3", "D7"]);
    assert!(log
        .accesses
        .iter()
        .all(|a| a.agency_id == "simulation" && a.purpose == "đăng ký thường trú"));
    let nobody = auditor
        .raw()
        .citizen_access_log(proto::CitizenAccessLogRequest {
            cccd_number: "079195001234".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(nobody.accesses.is_empty());

    // Streamed event listing with filters.
    let mut stream = auditor
        .raw()
        .list_events(proto::ListEventsRequest {
            dossier_id: "D0".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut kinds = Vec::new();
    while let Some(event) = stream.next().await {
        kinds.push(event.unwrap().kind);
    }
    assert_eq!(
        kinds,
        ["dossier", "verification", "verification", "verification"]
    );

    let error = desk
        .raw()
        .citizen_access_log(proto::CitizenAccessLogRequest {
            cccd_number: "001090012345".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::PermissionDenied);
}
