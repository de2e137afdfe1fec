//! Data cleaning over real mTLS through the client library: one verdict per record in order,
//! planted errors found, CMND numbers linked, old addresses converted, the stream's bounds, the
//! directory's permission, and every record on the audit trail once, as a cleaning
//! verification of its job.

mod common;

use common::{assert_reason, TestServer};
use tonic::Code;
use vnpop::{
    client::{CleaningClient, ClientError},
    proto::{self, CleanRecord, CleaningJob, CleaningVerdict, FieldResult},
};

const AN: &str = "001090012345";
const DECEASED: &str = "036050000777";

fn job(id: &str) -> CleaningJob {
    CleaningJob {
        job_id: id.into(),
        purpose: "làm sạch dữ liệu BHXH".into(),
        officer_id: "officer-017".into(),
    }
}

fn record(id: &str, number: &str) -> CleanRecord {
    CleanRecord {
        record_id: id.into(),
        number: number.into(),
        ..Default::default()
    }
}

fn date(year: i32, month: i32, day: i32) -> Option<proto::Date> {
    Some(proto::Date { year, month, day })
}

/// Runs `job` over `batches` and collects every verdict, or the error that ended the job.
async fn clean(
    client: &CleaningClient,
    job: CleaningJob,
    batches: Vec<Vec<CleanRecord>>,
) -> Result<Vec<proto::RecordVerdict>, ClientError> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        for batch in batches {
            if tx.send(batch).await.is_err() {
                break;
            }
        }
    });
    let mut stream = client.clean(job, rx).await?;
    let mut verdicts = Vec::new();
    while let Some(v) = stream.next().await? {
        verdicts.push(v);
    }
    Ok(verdicts)
}

/// The registry with planted errors, and what each record's verdict must be.
fn planted() -> Vec<CleanRecord> {
    vec![
        CleanRecord {
            full_name: Some("NGUYEN VAN AN".into()),
            date_of_birth: date(1990, 3, 15),
            sex: Some(proto::Sex::Male as i32),
            ..record("ok", AN)
        },
        CleanRecord {
            full_name: Some("Nguyễn Văn Ánh".into()),
            ..record("misspelt", AN)
        },
        CleanRecord {
            date_of_birth: date(1990, 15, 3),
            ..record("swapped", AN)
        },
        CleanRecord {
            date_of_birth: date(1991, 3, 15),
            ..record("year", AN)
        },
        CleanRecord {
            full_name: Some("Nguyễn Văn An".into()),
            ..record("cmnd", "012345678")
        },
        CleanRecord {
            address: Some("8 Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội".into()),
            ..record("old-address", AN)
        },
        record("deceased", DECEASED),
        record("unknown", "001090999999"),
        record("malformed", "12345"),
        record("", AN),
    ]
}

#[tokio::test]
async fn every_record_gets_its_verdict_in_order() {
    let server = TestServer::start().await;
    let client = server.cleaning("simulation").await;
    let records = planted();
    // In two batches, the second smaller: order holds across batches.
    let batches = vec![records[..6].to_vec(), records[6..].to_vec()];
    let verdicts = clean(&client, job("bhxh-1"), batches).await.unwrap();
    let ids: Vec<&str> = verdicts.iter().map(|v| v.record_id.as_str()).collect();
    let expected: Vec<&str> = records.iter().map(|r| r.record_id.as_str()).collect();
    assert_eq!(ids, expected);
    let kind = |i: usize| verdicts[i].verdict();
    assert_eq!(kind(0), CleaningVerdict::Match);
    assert_eq!(verdicts[0].verification_id, "clean:bhxh-1:ok");
    assert_eq!(kind(1), CleaningVerdict::Mismatch);
    let name = &verdicts[1].fields[0];
    assert_eq!(
        (name.field.as_str(), name.result()),
        ("full_name", FieldResult::Mismatch)
    );
    assert_eq!(name.population_value, "Nguyễn Văn An");
    assert_eq!(verdicts[1].fields[1].result(), FieldResult::NotComparable);
    // 15 March written as the 3rd of the 15th month: not a calendar date, named.
    assert_eq!(kind(2), CleaningVerdict::Malformed);
    assert_eq!(verdicts[2].field, "date_of_birth");
    assert_eq!(verdicts[2].reason, "FIELD_INVALID");
    assert_eq!(kind(3), CleaningVerdict::Mismatch);
    assert_eq!(verdicts[3].fields[1].population_value, "1990-03-15");
    assert_eq!(kind(4), CleaningVerdict::Match);
    assert_eq!(verdicts[4].linked_cccd, AN);
    assert_eq!(kind(5), CleaningVerdict::Match);
    assert_eq!(
        verdicts[5].converted_address,
        "8 Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội"
    );
    assert_eq!(kind(6), CleaningVerdict::Deceased);
    assert_eq!(verdicts[6].status(), proto::CitizenStatus::Deceased);
    assert_eq!(kind(7), CleaningVerdict::UnknownNumber);
    assert_eq!(kind(8), CleaningVerdict::Malformed);
    assert_eq!(
        (verdicts[8].reason.as_str(), verdicts[8].field.as_str()),
        ("CCCD_MALFORMED", "number")
    );
    assert_eq!(kind(9), CleaningVerdict::Malformed);
    assert_eq!(verdicts[9].field, "record_id");
    assert_eq!(verdicts[9].verification_id, "");

    // Every record is on the trail, as a cleaning verification of its job; sent again (a job
    // resumed), recorded once.
    let again = clean(&client, job("bhxh-1"), vec![records.clone()])
        .await
        .unwrap();
    assert_eq!(again.len(), records.len());
    let audit = server.audit("auditor-thanh-tra").await;
    let mut events = audit
        .events(proto::ListEventsRequest {
            dossier_id: "bhxh-1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut logged = Vec::new();
    while let Some(event) = events.next().await.unwrap() {
        logged.push(event);
    }
    // Ten records, one without a usable id: recorded each time it was sent.
    assert_eq!(logged.len(), 11, "{logged:#?}");
    assert!(logged.iter().all(|e| e.rpc == "CleanRecord"
        && e.purpose == "làm sạch dữ liệu BHXH"
        && e.officer_id == "officer-017"));
}

#[tokio::test]
async fn the_scope_decides_what_is_compared_and_shown() {
    let server = TestServer::start().await;
    // The hospital sees names, dates of birth, sex and addresses, not CMND numbers or cards.
    let client = server.cleaning("hospital-bach-mai").await;
    let verdicts = clean(
        &client,
        job("bv-1"),
        vec![vec![
            record("cmnd", "012345678"),
            CleanRecord {
                full_name: Some("Nguyen Van An".into()),
                ..record("an", AN)
            },
        ]],
    )
    .await
    .unwrap();
    assert_eq!(verdicts[0].verdict(), CleaningVerdict::Malformed);
    assert_eq!(verdicts[0].reason, "FIELD_OUT_OF_SCOPE");
    assert_eq!(verdicts[1].verdict(), CleaningVerdict::Match);
    assert_eq!(
        verdicts[1].fields[0].detail(),
        proto::MatchResult::DiacriticInsensitive
    );
}

#[tokio::test]
async fn the_stream_is_bounded_and_the_directory_decides_who_cleans() {
    let server = TestServer::start().await;
    let desk = server.cleaning("one-stop-phuong-ba-dinh").await;
    let error = clean(&desk, job("j"), vec![vec![record("a", AN)]])
        .await
        .unwrap_err();
    assert_reason(&error, Code::PermissionDenied, "CLEANING_NOT_ALLOWED");

    let client = server.cleaning("simulation").await;
    let too_many = vec![record("a", AN); 1_001];
    let error = clean(&client, job("j"), vec![vec![record("first", AN)], too_many])
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "CLEANING_BATCH_TOO_LARGE");
    assert_eq!(error.invalid_fields(), vec!["records".to_owned()]);

    let error = clean(&client, job("a:b"), vec![vec![record("a", AN)]])
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "CLEANING_JOB_INVALID");
    assert_eq!(error.invalid_fields(), vec!["job.job_id".to_owned()]);
}

/// The directory's `cleaning_per_second` paces an agency's jobs on one schedule: at 2,000
/// records a second, two jobs of 1,500 records run at once take at least 1.5 s together (each
/// paced on its own, they would take 0.75 s; unpaced, a fraction of that).
#[tokio::test]
async fn the_directorys_rate_paces_the_agencys_jobs_together() {
    let (config, _dir) = common::config_with_desk("cleaning_per_second = 2000", "");
    let server = TestServer::with_config(config).await;
    let client = server.cleaning("one-stop-phuong-ba-dinh").await;
    let batches = |job: &str| -> Vec<Vec<CleanRecord>> {
        (0..3)
            .map(|b| {
                (0..500)
                    .map(|i| record(&format!("{job}-{b}-{i}"), AN))
                    .collect()
            })
            .collect()
    };
    let started = std::time::Instant::now();
    let (a, b) = tokio::join!(
        clean(&client, job("paced-a"), batches("a")),
        clean(&client, job("paced-b"), batches("b"))
    );
    let elapsed = started.elapsed();
    for verdicts in [a.unwrap(), b.unwrap()] {
        assert_eq!(verdicts.len(), 1_500);
        assert!(verdicts
            .iter()
            .all(|v| v.verdict() == CleaningVerdict::Match));
    }
    // The schedule's last batch is due 1.5 s after the first was admitted, which was after
    // `started`: a bound that holds however slow the machine, and fails without the pacing.
    assert!(
        elapsed >= std::time::Duration::from_millis(1_450),
        "{elapsed:?}"
    );
}
