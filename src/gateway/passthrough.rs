//! The hot route, LookupByCccd, with the server's answer passed on as the bytes it sent.
//!
//! What the gateway records for a lookup needs only the request (the dossier's context, the
//! number) and whether the call succeeded, never the citizen record: so the record is not decoded
//! into Rust and encoded again on its way to a gRPC caller, and a REST caller's JSON is written
//! straight from those bytes (`json::encode_bytes`). The request is still read and the one sent on
//! built from the dossier, exactly as [`crate::client::Dossier::lookup_by_cccd`] builds it, and the
//! call is made and recorded through [`crate::client::Dossier::recorded`]: the outbox holds the
//! event before the answer leaves, as for every other call.

use std::{future::Future, pin::Pin, sync::Arc};

use prost::bytes::{Buf, BufMut, Bytes};
use tonic::{
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    Request, Response, Status,
};
use tonic_prost::{ProstDecoder, ProstEncoder};

use super::{Gateway, GatewayError};
use crate::{
    client::ClientError,
    proto,
    vocabulary::{Answer, Rpc},
};

/// LookupByCccd's gRPC path, which the gateway serves here rather than through the generated
/// CitizenRegistry service.
pub(crate) const LOOKUP_BY_CCCD: &str = "/vnpop.v1.CitizenRegistry/LookupByCccd";

/// A gRPC message kept as its encoded bytes.
struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

/// Reads a gRPC message as its encoded bytes (no copy: a slice of tonic's buffer).
struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// A codec made of an encoder and a decoder: one side typed, the other raw.
struct Pair<E, D>(fn() -> E, fn() -> D);

impl<E, D> Codec for Pair<E, D>
where
    E: Encoder<Error = Status> + Send + 'static,
    D: Decoder<Error = Status> + Send + 'static,
    E::Item: Send + 'static,
    D::Item: Send + 'static,
{
    type Encode = E::Item;
    type Decode = D::Item;
    type Encoder = E;
    type Decoder = D;

    fn encoder(&mut self) -> E {
        (self.0)()
    }

    fn decoder(&mut self) -> D {
        (self.1)()
    }
}

/// Toward the server: the request written by prost, the answer kept as bytes.
fn upstream() -> Pair<ProstEncoder<proto::LookupByCccdRequest>, RawDecoder> {
    Pair(|| ProstEncoder::new(Default::default()), || RawDecoder)
}

/// Toward the caller: the request read by prost, the server's answer written as it came.
fn downstream() -> Pair<RawEncoder, ProstDecoder<proto::LookupByCccdRequest>> {
    Pair(|| RawEncoder, || ProstDecoder::new(Default::default()))
}

impl Gateway {
    /// LookupByCccd for the dossier named by the path or the context: the server's answer, a
    /// `vnpop.v1.LookupResponse`, as the bytes it sent.
    pub(crate) async fn lookup_by_cccd_bytes(
        &self,
        path_id: Option<&str>,
        request: proto::LookupByCccdRequest,
    ) -> Result<Bytes, GatewayError> {
        let (dossier, purpose) = self.dossier(path_id, request.context.as_ref())?;
        let channel = self.client().channel();
        let number = request.cccd_number;
        let sent_number = number.clone();
        let call = |context: crate::client::LookupContext| async move {
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready().await.map_err(ClientError::transport)?;
            let sent = proto::LookupByCccdRequest {
                context: context.to_proto(),
                cccd_number: sent_number,
            };
            let path = tonic::codegen::http::uri::PathAndQuery::from_static(LOOKUP_BY_CCCD);
            let answer = grpc.unary(context.request(sent), path, upstream()).await?;
            Ok::<_, ClientError>(answer.into_inner())
        };
        Ok(dossier
            .recorded(Rpc::LookupByCccd, &purpose, &number, call, |_| {
                Answer::Found.into()
            })
            .await?)
    }
}

/// LookupByCccd as a tonic unary service over [`Gateway::lookup_by_cccd_bytes`].
struct LookupByCccd(Arc<Gateway>);

impl tonic::server::UnaryService<proto::LookupByCccdRequest> for LookupByCccd {
    type Response = Bytes;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Bytes>, Status>> + Send>>;

    fn call(&mut self, request: Request<proto::LookupByCccdRequest>) -> Self::Future {
        let gateway = Arc::clone(&self.0);
        Box::pin(async move {
            let answer = gateway
                .lookup_by_cccd_bytes(None, request.into_inner())
                .await?;
            Ok(Response::new(answer))
        })
    }
}

/// Serves one gRPC LookupByCccd call.
pub(crate) async fn serve_lookup_by_cccd(
    gateway: Arc<Gateway>,
    request: axum::http::Request<hyper::body::Incoming>,
) -> axum::http::Response<tonic::body::Body> {
    tonic::server::Grpc::new(downstream())
        .unary(LookupByCccd(gateway), request)
        .await
}
