//! docs/gateway.md's examples, run as written against a real server and gateway: the `curl`
//! block with `sh` (its answers as the page shows them, the problem document exactly) and the
//! Python block with `python3` and `requests`; the README's gateway call is the first two of
//! those curl calls. Only the gateway's address is changed (an ephemeral port for the `8080`). Where `curl`, or Python's
//! `requests`, is not installed that example is skipped, saying so (`.ci/run` installs
//! `requests`).

use std::process::Command;

use super::*;

/// docs/gateway.md's section with the examples: from its `## curl` heading to the gRPC one.
fn examples() -> &'static str {
    const PAGE: &str = include_str!("../../docs/gateway.md");
    let start = PAGE
        .find("## curl")
        .expect("docs/gateway.md has a curl section");
    let end = PAGE[start..]
        .find("## gRPC without a vnpop library")
        .expect("the gRPC section follows it");
    &PAGE[start..start + end]
}

/// The README's gateway call, its one `sh` block of curl calls.
fn readme_curl() -> &'static str {
    const README: &str = include_str!("../../README.md");
    let found: Vec<&str> = blocks(README, "sh")
        .into_iter()
        .filter(|block| block.starts_with("curl "))
        .collect();
    let [block] = found[..] else {
        panic!("one sh block of curl calls in the README")
    };
    block
}

/// The fenced blocks of `text` written in `language`.
fn blocks<'a>(text: &'a str, language: &str) -> Vec<&'a str> {
    let fence = format!("```{language}\n");
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(&fence) {
        let body = &rest[at + fence.len()..];
        let end = body.find("```").expect("a closed block");
        found.push(&body[..end]);
        rest = &body[end..];
    }
    found
}

/// `program` is installed (answers `args` successfully).
fn installed(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Runs `program` with `args` and `script` as written, the gateway's address put for the
/// README's (on a blocking thread: the gateway answers on this test's runtime); returns its
/// standard output.
async fn run(program: &'static str, args: &[&str], script: &str, gateway: &str) -> String {
    let script = script
        .replace("127.0.0.1:8080", gateway)
        .replace("localhost:8080", gateway);
    let mut command = Command::new(program);
    command.args(args).arg(&script);
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the command's thread")
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} failed: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[tokio::test]
async fn the_curl_and_python_examples_run_as_written() {
    let server = TestServer::start().await;
    // The docs' gateway is `vnpop gateway` on its defaults: the one-stop shop of Ba Đình.
    let mut config = gateway_config(server.local_addr.port(), &common::data_dir());
    config.cert = certs_dir().join("one-stop-phuong-ba-dinh.pem");
    config.key = certs_dir().join("one-stop-phuong-ba-dinh.key");
    let gateway = gateway::start(&config).await.expect("the gateway starts");
    let address = gateway.local_addr.to_string();
    let section = examples();
    // The README's call is the page's first calls, which run below.
    assert!(
        blocks(section, "sh")[0].starts_with(readme_curl()),
        "the README's gateway call is docs/gateway.md's first curl calls"
    );

    if installed("curl", &["--version"]) {
        let [script] = blocks(section, "sh")[..] else {
            panic!("one sh block of curl calls")
        };
        let output = run("sh", &["-c"], script, &address).await;
        let answers: Vec<Value> = serde_json::Deserializer::from_str(&output)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("JSON answers: {e}\n{output}"));
        let [opened, found, refused] = &answers[..] else {
            panic!("three answers: {output}")
        };
        assert_eq!(opened["dossierId"], "000.00.01.H26-261130-0001", "{opened}");
        assert_eq!(opened["commune"], "Phường Ba Đình", "{opened}");
        assert_eq!(found["citizen"]["fullName"], "Nguyễn Văn An", "{found}");
        let [shown] = blocks(section, "json")[..] else {
            panic!("one json block: the problem document")
        };
        let shown: Value = serde_json::from_str(shown).expect("the page's problem is JSON");
        assert_eq!(refused, &shown, "the problem as docs/gateway.md shows it");
    } else {
        eprintln!("curl is not installed: docs/gateway.md's curl example was not run");
    }

    if installed("python3", &["-c", "import requests"]) {
        let [script] = blocks(section, "python")[..] else {
            panic!("one python block")
        };
        let output = run("python3", &["-c"], script, &address).await;
        assert_eq!(output, "Nguyễn Văn An\n");
    } else {
        eprintln!(
            "python3 with requests is not installed: docs/gateway.md's Python example was not run"
        );
    }
    gateway.shutdown().await;
}
