//! The tower layer that applies the fault plan to the citizen-facing services.
//!
//! It sits on the tonic server, in front of every service, and acts only on the methods the
//! [`crate::methods`] table marks citizen-facing (CitizenRegistry, VneidAuthentication,
//! ChipVerification): the admin service, the audit trail, health and reflection are never
//! faulted. With no rules in force it costs one atomic load per call. An injected error answers
//! the call before its service sees it, so the call is not served and not in the audit trail,
//! like a call the real database dropped.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use tonic::{
    transport::server::{TcpConnectInfo, TlsConnectInfo},
    Status,
};
use tower_layer::Layer;
use tower_service::Service;

use super::FaultInjector;
use crate::{domain::vietnam, error::ApiError, methods};

/// Applies the [`FaultInjector`]'s plan to every call.
#[derive(Debug, Clone)]
pub(crate) struct FaultLayer {
    injector: Arc<FaultInjector>,
}

impl FaultLayer {
    pub fn new(injector: Arc<FaultInjector>) -> Self {
        FaultLayer { injector }
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FaultService {
            inner,
            injector: Arc::clone(&self.injector),
        }
    }
}

/// The service [`FaultLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub(crate) struct FaultService<S> {
    inner: S,
    injector: Arc<FaultInjector>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> Service<http::Request<B>> for FaultService<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone is the one made ready; the standard tower pattern.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let Some(plan) = self.injector.current() else {
            return Box::pin(inner.call(request));
        };
        let Some(method) = methods::index_of_path(request.uri().path())
            .map(|i| &methods::METHODS[i])
            .filter(|m| m.citizen_facing)
        else {
            return Box::pin(inner.call(request));
        };
        let agency = if plan.needs_agency() {
            let certs = request
                .extensions()
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|info| info.peer_certs());
            let leaf = certs.as_deref().and_then(|c| c.first()).map(|c| c.as_ref());
            // An unidentified caller matches only the rules for every agency; the service
            // itself refuses it afterwards.
            self.injector.authn().identify_leaf(leaf).ok()
        } else {
            None
        };
        let time = plan.needs_clock().then(vietnam::time_of_day);
        let injector = Arc::clone(&self.injector);
        Box::pin(async move {
            let rpc = method.name;
            let agency_id = agency.as_ref().map(|a| a.id.as_str());
            let decision = plan.decide(method, agency_id, time, &mut injector.call_rng());
            if decision.is_clean() {
                return inner.call(request).await;
            }
            let agency_label = agency_id.unwrap_or("-");
            let metrics = injector.metrics();
            for rule in &decision.latency_rules {
                tracing::debug!(
                    rule = rule.name(),
                    rpc,
                    agency = agency_label,
                    "fault injected: latency"
                );
                if let Some(m) = metrics {
                    m.fault_injected("latency", rpc);
                }
            }
            if !decision.latency.is_zero() {
                tokio::time::sleep(decision.latency).await;
            }
            if let Some((kind, rule)) = decision.error {
                tracing::info!(
                    rule = rule.name(),
                    rpc,
                    agency = agency_label,
                    kind = kind.name(),
                    "fault injected: error"
                );
                if let Some(m) = metrics {
                    m.fault_injected(kind.name(), rpc);
                }
                let error = ApiError::FaultInjected {
                    rule: rule.name().to_owned(),
                    rpc,
                    kind,
                };
                return Ok(Status::from(error).into_http());
            }
            let mut slots = Vec::with_capacity(decision.overloads.len());
            let mut service_time = Duration::ZERO;
            for rule in &decision.overloads {
                let Some(overload) = rule.overload() else {
                    continue;
                };
                match overload.admit().await {
                    Ok(slot) => {
                        slots.push(slot);
                        service_time = service_time.max(overload.service_time());
                    }
                    Err(shed) => {
                        tracing::info!(
                            rule = rule.name(),
                            rpc,
                            agency = agency_label,
                            why = shed.describe(),
                            "fault injected: overload shed"
                        );
                        if let Some(m) = metrics {
                            m.fault_injected("overload_shed", rpc);
                        }
                        let error = ApiError::Overloaded {
                            rule: rule.name().to_owned(),
                            rpc,
                            capacity: overload.spec().capacity,
                            why: shed.describe(),
                        };
                        return Ok(Status::from(error).into_http());
                    }
                }
            }
            if !service_time.is_zero() {
                tokio::time::sleep(service_time).await;
            }
            let response = inner.call(request).await;
            drop(slots);
            response
        })
    }
}
