//! The gRPC pass-through: CitizenRegistry, VneidAuthentication and ChipVerification as the server
//! serves them (the dossier named by `context.dossier_id`), each verifying call made and recorded
//! through [`Gateway`] exactly as the REST routes are; AgencyGateway opens dossiers. Calls that
//! concern no dossier (WhoAmI, GetJwks, IntrospectToken) are forwarded as they are.

use std::sync::Arc;

use tonic::{service::Routes, Request, Response, Status};

use super::Gateway;
use crate::proto::{
    self, agency_gateway_server::AgencyGatewayServer,
    chip_verification_server::ChipVerificationServer,
    citizen_registry_server::CitizenRegistryServer,
    vneid_authentication_server::VneidAuthenticationServer,
};

/// The gateway's gRPC services.
#[derive(Clone)]
pub(crate) struct GrpcGateway(Arc<Gateway>);

/// The gRPC services as one router.
pub(crate) fn routes(gateway: Arc<Gateway>) -> Routes {
    let service = GrpcGateway(gateway);
    Routes::new(CitizenRegistryServer::new(service.clone()))
        .add_service(VneidAuthenticationServer::new(service.clone()))
        .add_service(ChipVerificationServer::new(service.clone()))
        .add_service(AgencyGatewayServer::new(service))
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl proto::citizen_registry_server::CitizenRegistry for GrpcGateway {
    /// The same call typed; `serve` hands LookupByCccd to `passthrough` before these routes.
    async fn lookup_by_cccd(
        &self,
        request: Request<proto::LookupByCccdRequest>,
    ) -> Answer<proto::LookupResponse> {
        Ok(Response::new(
            self.0.lookup_by_cccd(None, request.into_inner()).await?,
        ))
    }

    async fn lookup_by_cmnd(
        &self,
        request: Request<proto::LookupByCmndRequest>,
    ) -> Answer<proto::LookupResponse> {
        Ok(Response::new(
            self.0.lookup_by_cmnd(None, request.into_inner()).await?,
        ))
    }

    async fn verify_demographics(
        &self,
        request: Request<proto::VerifyDemographicsRequest>,
    ) -> Answer<proto::VerifyDemographicsResponse> {
        Ok(Response::new(
            self.0
                .verify_demographics(None, request.into_inner())
                .await?,
        ))
    }

    async fn verify_qr(
        &self,
        request: Request<proto::VerifyQrRequest>,
    ) -> Answer<proto::VerifyQrResponse> {
        Ok(Response::new(
            self.0.verify_qr(None, request.into_inner()).await?,
        ))
    }

    async fn who_am_i(&self, _: Request<proto::WhoAmIRequest>) -> Answer<proto::WhoAmIResponse> {
        let answer = self
            .0
            .client()
            .registry()
            .who_am_i()
            .await
            .map_err(super::GatewayError::from)?;
        Ok(Response::new(answer))
    }
}

#[tonic::async_trait]
impl proto::vneid_authentication_server::VneidAuthentication for GrpcGateway {
    async fn start_authentication(
        &self,
        request: Request<proto::StartAuthenticationRequest>,
    ) -> Answer<proto::StartAuthenticationResponse> {
        Ok(Response::new(
            self.0.start_vneid(None, request.into_inner()).await?,
        ))
    }

    async fn complete_authentication(
        &self,
        request: Request<proto::CompleteAuthenticationRequest>,
    ) -> Answer<proto::CompleteAuthenticationResponse> {
        Ok(Response::new(
            self.0.complete_vneid(None, request.into_inner()).await?,
        ))
    }

    async fn get_jwks(
        &self,
        request: Request<proto::GetJwksRequest>,
    ) -> Answer<proto::GetJwksResponse> {
        let (mut auth, _) = self.0.client().vneid().raw();
        auth.get_jwks(request.into_inner()).await
    }

    async fn introspect_token(
        &self,
        request: Request<proto::IntrospectTokenRequest>,
    ) -> Answer<proto::IntrospectTokenResponse> {
        let (mut auth, _) = self.0.client().vneid().raw();
        auth.introspect_token(request.into_inner()).await
    }
}

#[tonic::async_trait]
impl proto::chip_verification_server::ChipVerification for GrpcGateway {
    async fn verify_chip_read(
        &self,
        request: Request<proto::VerifyChipReadRequest>,
    ) -> Answer<proto::VerifyChipReadResponse> {
        Ok(Response::new(
            self.0.verify_chip(None, request.into_inner()).await?,
        ))
    }
}

#[tonic::async_trait]
impl proto::agency_gateway_server::AgencyGateway for GrpcGateway {
    async fn open_dossier(
        &self,
        request: Request<proto::OpenDossierRequest>,
    ) -> Answer<proto::OpenedDossier> {
        let (dossier, _) = self.0.open_dossier(request.into_inner()).await?;
        Ok(Response::new(dossier))
    }

    async fn get_dossier(
        &self,
        request: Request<proto::GetDossierRequest>,
    ) -> Answer<proto::OpenedDossier> {
        Ok(Response::new(
            self.0.get_dossier(&request.into_inner().dossier_id)?,
        ))
    }
}
