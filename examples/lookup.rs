//! Looks a citizen up through the client library, as agency software would.
//!
//! Start the server first (`cargo run --release -- serve`), then:
//! `cargo run --example lookup -- 001090012345`

use vnpop::client::{ClientTls, LookupContext, RegistryClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let number = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "001090012345".into());
    // The one-stop-shop desk's development identity (certs/ is DEVELOPMENT ONLY).
    let tls = ClientTls::from_files(
        "certs/ca.pem",
        "certs/one-stop-ba-dinh.pem",
        "certs/one-stop-ba-dinh.key",
    )?;
    let client = RegistryClient::connect("https://localhost:50051", Some(tls)).await?;
    // Every lookup names the dossier it serves, why, and who makes it.
    let context = LookupContext::new(
        "000.00.01.H26-261123-0001",
        "đăng ký thường trú",
        "officer-017",
    );
    match client.lookup_by_cccd(&context, &number).await {
        Ok(answer) => println!("{:#?}", answer.citizen),
        Err(error) => {
            eprintln!("{error}");
            eprintln!(
                "reason: {:?}, fields: {:?}",
                error.reason(),
                error.invalid_fields()
            );
        }
    }
    Ok(())
}
