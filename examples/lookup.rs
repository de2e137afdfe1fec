//! Looks a citizen up through the client library, as agency software would: the lookup is made
//! for a dossier, and both are recorded in the durable outbox before the calls return.
//!
//! Start the server first (`vnpop serve`), then, from anywhere in the repository:
//! `cargo run --release --example lookup -- 001090012345`
//! (`VNPOP_SERVER` names another server). Exits with status 1 when the lookup fails, after
//! printing the error, its reason code and the fields it names.

use std::{process::ExitCode, time::Duration};

use vnpop::client::{
    AgencyClient, AgencyClientConfig, ClientTls, DossierChannel, DossierInfo, Reason,
};

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
        format!("{certs}/one-stop-phuong-ba-dinh.pem"),
        format!("{certs}/one-stop-phuong-ba-dinh.key"),
    )?;
    let server = std::env::var("VNPOP_SERVER").unwrap_or_else(|_| "https://localhost:50051".into());
    let client = AgencyClient::open(AgencyClientConfig::new(
        server,
        Some(tls),
        "vnpop-example-outbox.sqlite",
    ))
    .await?;
    // The dossier received at the desk; every lookup names it, why, and who makes it.
    let dossier = client
        .open_dossier(DossierInfo::new(
            "000.00.01.H26-261123-0001",
            "1.004227",
            "Quận Ba Đình", // the desk's district in the agency directory
            "officer-017",
            DossierChannel::Desk,
        ))
        .await?;
    let answer = dossier.lookup_by_cccd("đăng ký thường trú", number).await;
    // Both events are in the outbox already; wait (a while) for the server to have them.
    client.flush(Duration::from_secs(10)).await?;
    match answer {
        Ok(answer) => {
            println!("{:#?}", answer.citizen);
            Ok(())
        }
        Err(error) => {
            // The reason is typed: match the ones the desk handles, print the others.
            match error.reason() {
                Some(Reason::CitizenNotFound) => {
                    eprintln!("reason: CITIZEN_NOT_FOUND (check the number with the applicant)")
                }
                Some(reason) => eprintln!("reason: {reason}, fields: {:?}", error.invalid_fields()),
                None => eprintln!("no reason: a {:?} failure", error.origin()),
            }
            Err(error)
        }
    }
}
