//! Looks a citizen up through the client library, as agency software would: the lookup is made
//! for a dossier, and both are recorded in the durable outbox before the calls return.
//!
//! Start the server first (`cargo run --release -- serve`), then:
//! `cargo run --example lookup -- 001090012345`

use std::time::Duration;

use vnpop::client::{AgencyClient, AgencyClientConfig, ClientTls, DossierChannel, DossierInfo};

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
    let client = AgencyClient::open(AgencyClientConfig::new(
        "https://localhost:50051",
        Some(tls),
        "vnpop-example-outbox.sqlite",
    ))
    .await?;
    // The dossier received at the desk; every lookup names it, why, and who makes it.
    let dossier = client
        .open_dossier(DossierInfo::new(
            "000.00.01.H26-261123-0001",
            "1.004227",
            "Quận Ba Đình",
            "officer-017",
            DossierChannel::Desk,
        ))
        .await?;
    match dossier.lookup_by_cccd("đăng ký thường trú", &number).await {
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
    // Both events are in the outbox already; wait (a while) for the server to have them.
    client.flush(Duration::from_secs(10)).await?;
    Ok(())
}
