//! The server under a hostile caller on loopback: costly chip reads do not stall other calls,
//! reads and fields beyond their bounds are refused at once, idle connections that never
//! handshake do not keep others out, development keys are refused off loopback, one agency
//! cannot lock a citizen out of another's desk, and the metrics endpoint answers a scrape beside
//! 64 idle keep-alive clients and listens off loopback only with `--allow-remote-metrics`.

mod common;

use std::time::{Duration, Instant};

use common::{answer_challenge, assert_reason, context, error_metadata, test_config, TestServer};
use tonic::Code;
use vnpop::{
    chip::{chip_read, DocumentSigner},
    domain::CccdNumber,
    proto,
    server::RunningServer,
};

const AN: &str = "001090012345";

/// A read within every bound that costs the most: 16 data groups of 64 KiB, none of which the
/// security object's hashes match, and a signature that does not verify.
fn hostile_read(server: &RunningServer, seed: u64) -> proto::ChipRead {
    let an = server.store.get(CccdNumber::parse(AN).unwrap()).unwrap();
    let mut read = chip_read(seed, &an, &DocumentSigner::development()).unwrap();
    for number in 2..=16 {
        if read.data_groups.len() < 16 && number != 13 {
            read.data_groups.push(proto::DataGroup {
                number,
                content: vec![number as u8; 64 * 1024],
            });
        }
    }
    if let Some(sod) = read.security_object.as_mut() {
        sod.signature[8] ^= 1;
    }
    read
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_hostile_chip_reads_do_not_stall_who_am_i() {
    let server = TestServer::start().await;
    let seed = server.seed;
    let read = hostile_read(&server, seed);
    assert_eq!(read.data_groups.len(), 16);
    let chip = server.vneid("one-stop-phuong-ba-dinh").await;
    let answer = chip.verify_chip(&context(), read.clone()).await.unwrap();
    assert_eq!(answer.verdict(), proto::ChipVerdict::BadSignature);

    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let who_am_i = |desk: vnpop::client::RegistryClient| async move {
        let mut latencies = Vec::new();
        for _ in 0..200 {
            let started = Instant::now();
            desk.who_am_i().await.unwrap();
            latencies.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.sort();
        latencies
    };
    let quiet = who_am_i(desk.clone()).await;

    // The attackers run on their own runtime and thread, as another process would: their
    // encoding is not done on the server's workers.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attack = {
        let stop = stop.clone();
        let endpoint = format!("https://localhost:{}", server.local_addr.port());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut attackers = Vec::new();
                for _ in 0..8 {
                    let chip = vnpop::client::VneidClient::connect(
                        &endpoint,
                        Some(common::agency_tls("one-stop-phuong-ba-dinh")),
                    )
                    .await
                    .unwrap();
                    let read = read.clone();
                    let stop = stop.clone();
                    attackers.push(tokio::spawn(async move {
                        let mut served = 0u32;
                        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                            chip.verify_chip(&context(), read.clone()).await.unwrap();
                            served += 1;
                        }
                        served
                    }));
                }
                let mut served = 0;
                for attacker in attackers {
                    served += attacker.await.unwrap();
                }
                served
            })
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let latencies = who_am_i(desk).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let served = tokio::task::spawn_blocking(move || attack.join().unwrap())
        .await
        .unwrap();
    let p99 = percentile(&latencies, 0.99);
    eprintln!(
        "WhoAmI alone: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&quiet, 0.5),
        percentile(&quiet, 0.99),
        quiet.last().unwrap()
    );
    eprintln!(
        "WhoAmI under 8 hostile chip reads: p50 {:?}, p99 {:?}, max {:?}; {served} hostile reads served",
        percentile(&latencies, 0.5),
        p99,
        latencies.last().unwrap()
    );
    assert!(served >= 8, "the hostile reads were served: {served}");
    // The bound of the issue is for the server as built to run (`cargo test --release`: it
    // holds there even on a loaded 2-core machine). An unoptimised build spends several times
    // longer in TLS, HTTP/2 and decoding on the async workers (measured on a loaded 2-core
    // machine: p99 120-260 ms), so it gets a looser bound, still far below the seconds-long
    // stalls of unbounded reads.
    let bound = if cfg!(debug_assertions) {
        Duration::from_millis(500)
    } else {
        Duration::from_millis(50)
    };
    assert!(p99 < bound, "WhoAmI p99 {p99:?} (bound {bound:?})");
}

#[tokio::test]
async fn chip_reads_beyond_the_bounds_are_refused_at_once() {
    let server = TestServer::start().await;
    let seed = server.seed;
    let chip = server.vneid("one-stop-phuong-ba-dinh").await;
    let base = hostile_read(&server, seed);

    let mut too_many = base.clone();
    too_many.data_groups.push(proto::DataGroup {
        number: 16,
        content: vec![0; 16],
    });
    let mut too_large = base.clone();
    too_large.data_groups[0].content = vec![0; 64 * 1024 + 1];
    let mut duplicated = base.clone();
    duplicated.data_groups[2].number = 1;
    let cases = [
        (too_many, "chip_read.data_groups", "MAX_DATA_GROUPS"),
        (
            too_large,
            "chip_read.data_groups[0].content",
            "MAX_DATA_GROUP_BYTES",
        ),
        (duplicated, "chip_read.data_groups", "twice"),
    ];
    for (read, field, bound) in cases {
        let started = Instant::now();
        let error = chip.verify_chip(&context(), read).await.unwrap_err();
        let elapsed = started.elapsed();
        assert_reason(&error, Code::InvalidArgument, "CHIP_READ_MALFORMED");
        assert_eq!(error.invalid_fields(), [field]);
        assert!(error.to_string().contains(bound), "{error}");
        assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
    }

    // Sixty thousand data groups (2.7 MB, the read of the issue): over the chip service's
    // decoding limit, refused before it is even decoded.
    let mut flood = base;
    flood.data_groups = (0..60_000)
        .map(|n| proto::DataGroup {
            number: n,
            content: vec![7; 40],
        })
        .collect();
    let error = chip.verify_chip(&context(), flood).await.unwrap_err();
    assert_reason(&error, Code::ResourceExhausted, "MESSAGE_TOO_LARGE");
}

#[tokio::test]
async fn a_one_mebibyte_field_is_refused_quickly() {
    let server = TestServer::start().await;
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let huge = "0".repeat(1 << 20);

    // Over the registry's decoding limit (64 KiB): refused before it is decoded.
    let started = Instant::now();
    let error = desk.lookup_by_cccd(&context(), &huge).await.unwrap_err();
    let elapsed = started.elapsed();
    // Like every error, with its reason: RESOURCE_EXHAUSTED MESSAGE_TOO_LARGE, the limit and the
    // size in its metadata (tonic's own answer was OUT_OF_RANGE without an ErrorInfo).
    assert_reason(&error, Code::ResourceExhausted, "MESSAGE_TOO_LARGE");
    let metadata = error_metadata(&error);
    assert_eq!(metadata["limit"], (64 * 1024).to_string());
    assert!(
        metadata["size"].parse::<usize>().unwrap() > 1 << 20,
        "{metadata:?}"
    );
    assert!(error.to_string().len() < 400, "{error}");
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");

    // Under it, a field over its own bound: named, refused before parsing, not echoed.
    let name = proto::Declared {
        full_name: Some("A".repeat(60_000)),
        ..Default::default()
    };
    let error = desk
        .verify_demographics(&context(), AN, name)
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "FIELD_TOO_LONG");
    assert_eq!(error.invalid_fields(), ["declared.full_name"]);
    assert!(!error
        .to_string()
        .contains("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));

    // A 1 MiB passcode reaches VNeID (its limit allows a chip read) and is refused by its bound.
    let vneid = server.vneid("one-stop-phuong-ba-dinh").await;
    let started = Instant::now();
    let error = vneid
        .complete(&context(), "challenge", &huge, "123456", None)
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "FIELD_TOO_LONG");
    assert_eq!(error.invalid_fields(), ["passcode"]);
    assert!(started.elapsed() < Duration::from_millis(500));

    // Every service, the audit trail's too: an Ingest batch over its 16 MiB.
    let audit = server.audit("one-stop-phuong-ba-dinh").await;
    let event = common::receipt(
        "big",
        "D-1",
        "Quận Ba Đình",
        &"o".repeat(100),
        vnpop::ids::now_ms(),
    );
    let error = audit.ingest(vec![event; 120_000]).await.unwrap_err();
    assert_reason(&error, Code::ResourceExhausted, "MESSAGE_TOO_LARGE");
}

/// Raises the soft limit on open files to `wanted` (or the hard limit), for tests that open
/// thousands of sockets.
fn raise_file_limit(wanted: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_silent_connections_do_not_keep_a_client_out() {
    // Both ends of each connection are in this process: 2,000 descriptors and some spare.
    raise_file_limit(4096);
    let server = TestServer::start().await;
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(
            tokio::net::TcpStream::connect(server.local_addr)
                .await
                .unwrap(),
        );
    }
    let started = Instant::now();
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    let me = desk.who_am_i().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(me.agency_id, "one-stop-phuong-ba-dinh");
    eprintln!("a new client served in {elapsed:?} beside 1,000 silent connections");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    drop(idle);
}

#[tokio::test]
async fn silent_connections_are_dropped_after_the_handshake_timeout() {
    let mut config = test_config();
    config.handshake_timeout = Duration::from_millis(300);
    config.max_connections = 4;
    let server = TestServer::with_config(config).await;
    // Four silent connections take every slot …
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(
            tokio::net::TcpStream::connect(server.local_addr)
                .await
                .unwrap(),
        );
    }
    // … until the handshake timeout frees them, and a real client is served.
    let desk = server.registry("one-stop-phuong-ba-dinh").await;
    assert!(desk.who_am_i().await.is_ok());
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), idle[0].read(&mut buf))
        .await
        .expect("the server closes a silent connection");
    assert!(matches!(read, Ok(0) | Err(_)), "closed: {read:?}");
}

#[test]
fn development_keys_are_refused_off_loopback_and_each_is_named() {
    let mut config = test_config();
    config.listen = "0.0.0.0:0".parse().unwrap();
    let error = vnpop::server::ServerState::build(&config)
        .err()
        .expect("refused")
        .to_string();
    for named in [
        "development CA",
        "development server certificate",
        "development CSCA",
        "development document signer",
        "seed-derived VNeID test credentials",
    ] {
        assert!(error.contains(named), "{named} not named in: {error}");
    }
    // With --disable-vneid the credentials are no longer named; the keys still are.
    config.disable_vneid = true;
    let error = vnpop::server::ServerState::build(&config)
        .err()
        .expect("refused")
        .to_string();
    assert!(!error.contains("VNeID"), "{error}");
    assert!(error.contains("development CA"), "{error}");
    // --allow-dev-pki lets it start, remembering what it uses.
    config.allow_dev_pki = true;
    let state = vnpop::server::ServerState::build(&config).expect("allowed");
    assert_eq!(state.development.len(), 4);
    // The same on loopback needs no flag.
    let mut loopback = test_config();
    loopback.allow_dev_pki = false;
    assert!(vnpop::server::ServerState::build(&loopback).is_ok());
}

#[test]
fn insecure_only_on_loopback_and_never_as_admin_or_auditor() {
    let mut config = test_config();
    config.insecure = true;
    assert!(vnpop::server::ServerState::build(&config).is_ok());
    for agency in ["qa-admin", "auditor-thanh-tra"] {
        config.insecure_agency = agency.into();
        let error = vnpop::server::ServerState::build(&config)
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains(agency), "{error}");
    }
    config.insecure_agency = "one-stop-phuong-ba-dinh".into();
    config.listen = "0.0.0.0:0".parse().unwrap();
    config.allow_dev_pki = true;
    let error = vnpop::server::ServerState::build(&config)
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("loopback"), "{error}");
}

#[tokio::test]
async fn lockout_by_one_agency_does_not_lock_the_citizen_for_another() {
    const NGOC: &str = "079195001234"; // level 1
    let server = TestServer::start().await;
    let seed = server.seed;
    let hospital = server.vneid("hospital-bach-mai").await;
    let creds = vnpop::vneid::TestCredentials::derive(seed, CccdNumber::parse(NGOC).unwrap());
    let started = hospital
        .start(&context(), NGOC, proto::VneidLevel::One)
        .await
        .unwrap();
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            hospital
                .complete(
                    &context(),
                    &started.challenge_id,
                    "not-the-passcode",
                    &creds.current_code(),
                    None,
                )
                .await
                .unwrap_err(),
        );
    }
    assert_reason(
        &last.unwrap(),
        Code::ResourceExhausted,
        "VNEID_ACCOUNT_LOCKED",
    );
    let error = hospital
        .start(&context(), NGOC, proto::VneidLevel::One)
        .await
        .unwrap_err();
    assert_reason(&error, Code::ResourceExhausted, "VNEID_ACCOUNT_LOCKED");

    // The desk still authenticates the citizen.
    let desk = server.vneid("one-stop-phuong-ba-dinh").await;
    let started = desk
        .start(&context(), NGOC, proto::VneidLevel::One)
        .await
        .unwrap();
    let done = answer_challenge(&desk, &started.challenge_id, &creds, None)
        .await
        .unwrap();
    assert!(!done.token.is_empty());
}

#[tokio::test]
async fn control_and_bidi_characters_are_refused_at_the_edge_naming_the_field() {
    let server = TestServer::start().await;
    let registry = server.registry("one-stop-phuong-ba-dinh").await;
    let nul = vnpop::client::LookupContext::new(
        "000.00.01.H26-261123-0001",
        "đăng ký thường trú",
        "officer\u{0}017",
    );
    let error = registry
        .lookup_by_cccd(&nul, "001090012345")
        .await
        .unwrap_err();
    assert_reason(&error, Code::InvalidArgument, "FIELD_INVALID");
    assert_eq!(error.invalid_fields(), ["context.officer_id"]);
    assert!(error.to_string().contains("U+0000"), "{error}");

    let audit = server.audit("one-stop-phuong-ba-dinh").await;
    let answer = audit
        .ingest(vec![common::receipt(
            "bidi-1",
            "D-bidi",
            "Quận Ba Đình",
            "cb\u{202E}10",
            vnpop::ids::now_ms(),
        )])
        .await
        .unwrap();
    assert_eq!(answer.stored, 0, "{answer:?}");
    assert_eq!(answer.refused.len(), 1, "{answer:?}");
    let refused = &answer.refused[0];
    assert_eq!(refused.code, "INVALID_ARGUMENT");
    assert_eq!(refused.reason, "EVENT_INVALID");
    assert_eq!(refused.field, "events[0].officer_id");
    assert!(refused.message.contains("U+202E"), "{}", refused.message);
}

/// Reads one answer's first bytes from `stream` (at most 5 s).
async fn first_bytes(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("answered within 5 s")
        .unwrap();
    buf.truncate(n);
    buf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_idle_keep_alive_connections_do_not_delay_a_scrape() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = test_config();
    config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    assert_eq!(config.metrics_max_connections, 64);
    let server = TestServer::with_config(config).await;
    let metrics = server.metrics_addr.expect("metrics endpoint is on");
    // 64 clients (the default cap) scrape once with keep-alive and then stay connected, idle.
    let mut kept = Vec::new();
    for _ in 0..64 {
        let mut stream = tokio::net::TcpStream::connect(metrics).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\n\r\n")
            .await
            .unwrap();
        let answer = first_bytes(&mut stream).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
        kept.push(stream);
    }
    let started = Instant::now();
    let mut scrape = tokio::net::TcpStream::connect(metrics).await.unwrap();
    scrape
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), scrape.read_to_end(&mut answer))
        .await
        .expect("the scrape is answered")
        .unwrap();
    let elapsed = started.elapsed();
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    assert!(
        String::from_utf8_lossy(&answer).contains("vnpop_store_citizens"),
        "a scrape"
    );
    eprintln!("a scrape beside 64 idle keep-alive clients took {elapsed:?}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    drop(kept);
}

#[tokio::test]
async fn metrics_off_loopback_are_refused_without_the_flag_naming_it() {
    // 192.0.2.1 (TEST-NET-1) is not this machine's: nothing is ever bound off loopback, whether
    // the binary refuses the address (as it must) or tries it.
    let data = common::data_dir();
    let (output, ended) = common::run_vnpop_binary_within(
        [
            "serve",
            "--population",
            "1000",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "192.0.2.1:9464",
            "--data-dir",
        ]
        .into_iter()
        .map(String::from)
        .chain([data.display().to_string()])
        .collect(),
        Duration::from_secs(30),
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(ended, "the server did not stop: {stderr}");
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("--allow-remote-metrics"), "{stderr}");
    assert!(stderr.contains("192.0.2.1:9464"), "{stderr}");
}

/// The sockets listening on `port` (IPv4) as `/proc/net/tcp` lists them: their local addresses
/// in its hex form (`0100007F` is 127.0.0.1).
fn listening_on(port: u16) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let suffix = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            (local.ends_with(&suffix) && fields.get(3) == Some(&"0A"))
                .then(|| local.trim_end_matches(&suffix).to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_bare_metrics_port_listens_on_loopback_only() {
    if !std::path::Path::new("/proc/net/tcp").exists() {
        eprintln!("no /proc/net/tcp: the listening address cannot be read here");
        return;
    }
    let (port, metrics) = (common::free_port(), common::free_port());
    let data = common::data_dir();
    let mut serve = common::spawn_serve(port, &data, &["--metrics-listen", &metrics.to_string()]);
    let mut found = Vec::new();
    for _ in 0..300 {
        found = listening_on(metrics);
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    serve.kill().unwrap();
    serve.wait().unwrap();
    assert_eq!(found, ["0100007F"], "metrics listen on {found:?}");
}

/// The server answers a method it does not serve — AgencyGateway's, which only `vnpop gateway`
/// serves, or a mistyped one — with UNIMPLEMENTED and a reason like every other error, and its
/// reflection lists exactly the services it serves.
#[tokio::test]
async fn unknown_methods_have_a_reason_and_reflection_lists_only_what_is_served() {
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        ServerReflectionRequest,
    };
    let server = TestServer::start().await;
    let channel = vnpop::client::connect_channel(
        &server.endpoint(),
        Some(&common::agency_tls("one-stop-phuong-ba-dinh")),
    )
    .await
    .unwrap();
    for path in [
        "/vnpop.v1.AgencyGateway/OpenDossier",
        "/vnpop.v1.CitizenRegistry/LookupByCcd",
    ] {
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await.unwrap();
        let status = grpc
            .unary::<_, (), _>(
                tonic::Request::new(()),
                path.parse().unwrap(),
                tonic_prost::ProstCodec::<(), ()>::default(),
            )
            .await
            .unwrap_err();
        let error = vnpop::client::ClientError::from(status);
        assert_reason(&error, Code::Unimplemented, "METHOD_NOT_FOUND");
        assert_eq!(error_metadata(&error)["path"], path);
    }

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a list: {answer:?}");
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert!(
        !names.iter().any(|n| n.contains("AgencyGateway")),
        "{names:?}"
    );
    assert!(
        names.contains(&"vnpop.v1.CitizenRegistry".to_owned()),
        "{names:?}"
    );
}
