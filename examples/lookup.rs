//! Looks a citizen up through the client library, as agency software would.
//!
//! Start the server first (`vnpop serve`), then, from anywhere in the repository:
//! `cargo run --release --example lookup -- 001090012345`
//! (`VNPOP_SERVER` names another server). Exits with status 1 when the lookup fails, after
//! printing the error, its reason code and the fields it names.

use std::process::ExitCode;

use vnpop::client::{ClientTls, LookupContext, RegistryClient};

#[tokio::main]
async fn main() -> ExitCode {
    let number = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "001090012345".into());
    match lookup(&number).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lookup: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn lookup(number: &str) -> Result<(), vnpop::client::ClientError> {
    // The one-stop-shop desk's development identity (certs/ is DEVELOPMENT ONLY), found from the
    // repository whatever the working directory.
    let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/certs");
    let tls = ClientTls::from_files(
        format!("{certs}/ca.pem"),
        format!("{certs}/one-stop-ba-dinh.pem"),
        format!("{certs}/one-stop-ba-dinh.key"),
    )?;
    let server = std::env::var("VNPOP_SERVER").unwrap_or_else(|_| "https://localhost:50051".into());
    let client = RegistryClient::connect(&server, Some(tls)).await?;
    // Every lookup names the dossier it serves, why, and who makes it.
    let context = LookupContext::new(
        "000.00.01.H26-261123-0001",
        "đăng ký thường trú",
        "officer-017",
    );
    match client.lookup_by_cccd(&context, number).await {
        Ok(answer) => {
            println!("{:#?}", answer.citizen);
            Ok(())
        }
        Err(error) => {
            eprintln!(
                "reason: {:?}, fields: {:?}",
                error.reason(),
                error.invalid_fields()
            );
            Err(error)
        }
    }
}
