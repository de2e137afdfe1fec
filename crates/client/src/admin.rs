//! The QA administration client: fault rules and runtime fixtures. The server accepts it only
//! with a certificate whose agency has role `admin` (the development `certs/qa-admin.*`).

use chrono::Datelike;
use tonic::transport::Channel;

use super::{connect_channel, ClientError, ClientTls};
use crate::proto::{self, qa_administration_client::QaAdministrationClient};

/// A connection to the QaAdministration service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AdminClient {
    inner: QaAdministrationClient<Channel>,
}

impl AdminClient {
    /// Connects to `endpoint` (e.g. "https://localhost:50051") with an `admin` certificate.
    pub async fn connect(endpoint: &str, tls: Option<ClientTls>) -> Result<Self, ClientError> {
        Ok(Self::from_channel(
            connect_channel(endpoint, tls.as_ref()).await?,
        ))
    }

    /// The service over an existing channel (shared with other clients).
    pub fn from_channel(channel: Channel) -> Self {
        AdminClient {
            inner: QaAdministrationClient::new(channel),
        }
    }

    /// The generated client.
    pub fn raw(&self) -> QaAdministrationClient<Channel> {
        self.inner.clone()
    }

    /// The fault rules in force.
    pub async fn faults(&self) -> Result<proto::FaultConfig, ClientError> {
        Ok(self
            .raw()
            .get_faults(proto::GetFaultsRequest {})
            .await?
            .into_inner())
    }

    /// Replaces every fault rule with `rules`, at once; answers the rules now in force.
    pub async fn set_faults(
        &self,
        rules: Vec<proto::FaultRule>,
    ) -> Result<proto::FaultConfig, ClientError> {
        Ok(self
            .raw()
            .set_faults(proto::FaultConfig { rules })
            .await?
            .into_inner())
    }

    /// Removes every fault rule.
    pub async fn clear_faults(&self) -> Result<(), ClientError> {
        self.raw()
            .clear_faults(proto::ClearFaultsRequest {})
            .await?;
        Ok(())
    }

    /// Inserts or replaces a citizen given as one fixtures-file entry (a JSON object).
    pub async fn put_citizen_json(
        &self,
        citizen_json: &str,
    ) -> Result<proto::CitizenChanged, ClientError> {
        let request = proto::PutCitizenRequest {
            citizen_json: citizen_json.to_owned(),
        };
        Ok(self.raw().put_citizen(request).await?.into_inner())
    }

    /// Removes a citizen from the running population (until [`AdminClient::reset_population`]).
    pub async fn remove_citizen(
        &self,
        cccd_number: &str,
    ) -> Result<proto::CitizenChanged, ClientError> {
        let request = proto::RemoveCitizenRequest {
            cccd_number: cccd_number.to_owned(),
        };
        Ok(self.raw().remove_citizen(request).await?.into_inner())
    }

    /// Revokes a citizen's identity card (their VNeID account is then suspended).
    pub async fn revoke_card(
        &self,
        cccd_number: &str,
    ) -> Result<proto::CitizenChanged, ClientError> {
        let request = proto::RevokeCardRequest {
            cccd_number: cccd_number.to_owned(),
        };
        Ok(self.raw().revoke_card(request).await?.into_inner())
    }

    /// Records a citizen as deceased on `date_of_death`.
    pub async fn mark_deceased(
        &self,
        cccd_number: &str,
        date_of_death: chrono::NaiveDate,
    ) -> Result<proto::CitizenChanged, ClientError> {
        let request = proto::MarkDeceasedRequest {
            cccd_number: cccd_number.to_owned(),
            date_of_death: Some(proto::Date {
                year: date_of_death.year(),
                month: date_of_death.month() as i32,
                day: date_of_death.day() as i32,
            }),
        };
        Ok(self.raw().mark_deceased(request).await?.into_inner())
    }

    /// Undoes every runtime change; answers how many citizens were restored.
    pub async fn reset_population(&self) -> Result<u64, ClientError> {
        Ok(self
            .raw()
            .reset_population(proto::ResetPopulationRequest {})
            .await?
            .into_inner()
            .restored)
    }
}
