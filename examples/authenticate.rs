//! Authenticating a citizen against a running `vnpop serve`, as an agency's login code would.
//!
//! ```text
//! cargo run --release -- serve &                                  # default seed 2026
//! cargo run --release -- chip read 001090012345 > /tmp/an.chip    # the card reader's part
//! cargo run --example authenticate -- 001090012345 /tmp/an.chip   # level 2
//! cargo run --example authenticate -- 079195001234                # level 1
//! ```
//!
//! The citizen's passcode and one-time code are derived here from the development seed, standing
//! in for the citizen typing them (DEVELOPMENT ONLY).

use std::error::Error;

use vnpop::{
    chip::decode_chip_read,
    client::{ClientTls, LookupContext, VneidClient},
    domain::CccdNumber,
    proto::VneidLevel,
    vneid::TestCredentials,
};

const AGENCY: &str = "one-stop-phuong-ba-dinh";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let cccd = args.next().unwrap_or_else(|| "079195001234".into());
    let chip_read = match args.next() {
        Some(path) => Some(decode_chip_read(&std::fs::read_to_string(path)?)?),
        None => None,
    };
    let level = if chip_read.is_some() {
        VneidLevel::Two
    } else {
        VneidLevel::One
    };

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/certs");
    let tls = ClientTls::from_files(
        format!("{dir}/ca.pem"),
        format!("{dir}/{AGENCY}.pem"),
        format!("{dir}/{AGENCY}.key"),
    )?;
    let client = VneidClient::connect("https://localhost:50051", Some(tls)).await?;
    let context = LookupContext::new(
        "000.00.01.H26-261123-0001",
        "đăng ký thường trú",
        "officer-017",
    );

    // 1. Start: the server says what the citizen must provide.
    let started = client.start(&context, &cccd, level).await?;
    let factors: Vec<_> = started.required_factors().collect();
    println!("challenge {} needs {factors:?}", started.challenge_id);

    // 2. The citizen provides the passcode and the code of their authenticator app.
    let credentials = TestCredentials::derive(2026, CccdNumber::parse(&cccd)?);
    let done = client
        .complete(
            &context,
            &started.challenge_id,
            &credentials.passcode,
            &credentials.current_code(),
            chip_read,
        )
        .await?;

    // 3. Verify the token offline with the published keys, for our own agency id.
    let verifier = client.token_verifier().await?;
    let claims = verifier.verify(&done.token, AGENCY)?;
    println!(
        "authenticated {} at level {} (acr {}, amr {:?}) until {}",
        claims.sub, claims.level, claims.acr, claims.amr, claims.exp
    );
    println!("token: {}", done.token);
    Ok(())
}
