//! Assembling and running the server: population → store → services (registry, VNeID, chip,
//! audit, QA administration, health, reflection) behind the metrics and fault-injection layers
//! → tonic over mTLS; and the optional metrics endpoint.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::{server::TcpIncoming, Server};

use crate::{
    admin::{AdminService, RuntimeFixtures},
    audit::{
        lock::DataDirLock,
        log::{load_or_create_secret, SUBJECT_KEY_FILE},
        postgres::PgStore,
        recorder::ServedRecorder,
        service::AuditService,
        AuditError, AuditLog,
    },
    chip::{ChipService, ChipVerifier, CscaTrust, PkiError},
    cleaning::CleaningService,
    config::{PopulationArgs, ServeConfig},
    faults::{layer::FaultLayer, FaultFile, FaultInjector},
    metrics::{self, Metrics, MetricsLayer},
    population::{self, FixtureError, Population, PopulationError},
    proto::{
        audit_trail_server::AuditTrailServer, chip_verification_server::ChipVerificationServer,
        citizen_registry_server::CitizenRegistryServer, data_cleaning_server::DataCleaningServer,
        qa_administration_server::QaAdministrationServer,
        vneid_authentication_server::VneidAuthenticationServer,
    },
    registry::RegistryService,
    security::{
        acceptor::{tls_incoming, AcceptLimits},
        admission::AdmissionLayer,
        dev_pki::{self, DevMaterial, DevUse},
        tls::{TlsMaterial, DEV_CA_PEM},
        AgencyDirectory, AgencyError, Authenticator, Role,
    },
    serving::{Clock, Serving},
    store::CitizenStore,
    vneid::{AuthSettings, TokenIssuer, VneidService},
};

/// gRPC reflection (v1 and v1alpha) listing exactly `services` (fully qualified, e.g.
/// "vnpop.v1.CitizenRegistry") beside health and reflection itself, and resolving every message
/// they use, the google.rpc error details included, so clients such as grpcurl decode those
/// instead of printing bytes. The server and the gateway each list what they serve.
pub(crate) fn reflection(
    services: &[&str],
) -> (
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    tonic_reflection::server::v1alpha::ServerReflectionServer<
        impl tonic_reflection::server::v1alpha::ServerReflection,
    >,
) {
    let always = [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];
    let builder = || {
        services
            .iter()
            .chain(&always)
            .fold(tonic_reflection::server::Builder::configure(), |b, name| {
                b.with_service_name(*name)
            })
            .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(crate::proto::ERROR_DETAILS_DESCRIPTOR_SET)
    };
    (
        builder()
            .build_v1()
            .expect("embedded descriptors are valid"),
        builder()
            .build_v1alpha()
            .expect("embedded descriptors are valid"),
    )
}
/// The health-service name that reports SERVING while the server uses development material.
pub(crate) const DEVELOPMENT_HEALTH_SERVICE: &str = "vnpop.development-pki";

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Fixtures(#[from] FixtureError),
    #[error(transparent)]
    Population(#[from] PopulationError),
    #[error(transparent)]
    Agencies(#[from] AgencyError),
    #[error("cannot open the audit log: {0}")]
    Audit(#[from] AuditError),
    #[error("--insecure-agency {0:?} is not a configured agency")]
    UnknownInsecureAgency(String),
    #[error(
        "--insecure serves plaintext and trusts every caller: only on a loopback address, not {0}"
    )]
    InsecureOffLoopback(SocketAddr),
    #[error(
        "--insecure may not take on agency {agency:?}: its role is {role}; use an agency role"
    )]
    InsecureRole { agency: String, role: &'static str },
    #[error("{0}")]
    DevelopmentMaterial(String),
    #[error("cannot read TLS material: {0}")]
    Tls(std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the CSCA certificate: {0}")]
    Csca(String),
    #[error("the CSCA certificate is not valid: {0}")]
    CscaInvalid(#[from] PkiError),
    #[error("fault rules {path}: {message}")]
    Faults { path: String, message: String },
    #[error("{0} must be greater than zero")]
    ZeroLimit(&'static str),
    #[error(transparent)]
    RemoteMetrics(#[from] metrics::http::RemoteMetricsRefused),
    #[error("cannot serve metrics on {addr}: {source}")]
    MetricsBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// What the server serves from: the store and who may call.
pub struct ServerState {
    pub store: Arc<CitizenStore>,
    pub authn: Arc<Authenticator>,
    pub tls: Option<TlsMaterial>,
    pub clock: Clock,
    pub recorder: Arc<ServedRecorder>,
    /// Verifies chip reads (the trusted CSCA and the population seed).
    pub chip: Arc<ChipVerifier>,
    /// Signs VNeID tokens.
    pub tokens: Arc<TokenIssuer>,
    pub auth: AuthSettings,
    /// The fault rules in force (none unless `--faults` or the admin service set some).
    pub faults: Arc<FaultInjector>,
    /// Collected only when the metrics endpoint is on.
    pub metrics: Option<Arc<Metrics>>,
    pub metrics_listen: Option<SocketAddr>,
    /// The transport bounds.
    pub limits: ServeLimits,
    /// Development material in use (allowed on loopback or by `--allow-dev-pki`).
    pub development: Vec<DevMaterial>,
    /// Whether the VNeID service is served (`--disable-vneid` turns it off).
    pub vneid: bool,
}

/// The transport bounds of a server, from [`ServeConfig`].
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub accept: AcceptLimits,
    pub max_concurrent_streams: u32,
    pub http2_keepalive_interval: Duration,
    pub http2_keepalive_timeout: Duration,
    pub request_timeout: Duration,
    pub max_request_registry: usize,
    pub max_request_vneid: usize,
    pub max_request_chip: usize,
    pub max_request_admin: usize,
    pub max_request_audit: usize,
    pub max_request_cleaning: usize,
    pub metrics: metrics::http::Limits,
}

impl ServeLimits {
    pub(crate) fn from_config(config: &ServeConfig) -> Self {
        ServeLimits {
            accept: AcceptLimits {
                max_connections: config.max_connections,
                handshake_timeout: config.handshake_timeout,
            },
            max_concurrent_streams: config.max_concurrent_streams,
            http2_keepalive_interval: config.http2_keepalive_interval,
            http2_keepalive_timeout: config.http2_keepalive_timeout,
            request_timeout: config.request_timeout,
            max_request_registry: config.max_request_registry,
            max_request_vneid: config.max_request_vneid,
            max_request_chip: config.max_request_chip,
            max_request_admin: config.max_request_admin,
            max_request_cleaning: config.max_request_cleaning,
            max_request_audit: config.max_request_audit,
            metrics: metrics::http::Limits {
                max_connections: config.metrics_max_connections,
                header_read_timeout: config.metrics_header_read_timeout,
                connection_lifetime: config.metrics_connection_lifetime,
            },
        }
    }
}

impl ServerState {
    /// Sets up the population and loads configuration (milliseconds at any population size).
    pub fn build(config: &ServeConfig) -> Result<Self, StartError> {
        // First: nothing is opened or bound for a configuration refused.
        if let Some(addr) = config.metrics_listen {
            metrics::http::check_listen(addr, config.allow_remote_metrics)?;
        }
        for (flag, duration) in [
            (
                "--metrics-header-read-timeout",
                config.metrics_header_read_timeout,
            ),
            (
                "--metrics-connection-lifetime",
                config.metrics_connection_lifetime,
            ),
        ] {
            if duration.is_zero() {
                return Err(StartError::ZeroLimit(flag));
            }
        }
        let directory = match &config.agencies {
            Some(path) => AgencyDirectory::load(path)?,
            None => AgencyDirectory::development(),
        };
        let authn = if config.insecure {
            if !config.listen.ip().is_loopback() {
                return Err(StartError::InsecureOffLoopback(config.listen));
            }
            let agency = directory
                .by_id(&config.insecure_agency)
                .ok_or_else(|| StartError::UnknownInsecureAgency(config.insecure_agency.clone()))?;
            if agency.role != Role::Agency {
                return Err(StartError::InsecureRole {
                    agency: agency.id.clone(),
                    role: agency.role.name(),
                });
            }
            Authenticator::insecure(directory, agency)
        } else {
            Authenticator::mtls(directory)
        };
        let tls = match (
            &config.insecure,
            &config.tls_ca,
            &config.tls_cert,
            &config.tls_key,
        ) {
            (true, ..) => None,
            (false, Some(ca), Some(cert), Some(key)) => {
                Some(TlsMaterial::read(ca, cert, key).map_err(StartError::Tls)?)
            }
            _ => Some(TlsMaterial::development_server()),
        };

        // One writer per data directory: the lock first, before anything in it is opened.
        let lock = DataDirLock::acquire(&config.data_dir)?;
        let audit = Arc::new(match &config.audit_store {
            Some(url) => AuditLog::open_fleet(lock, &PgStore::connect(url)?)?,
            None => AuditLog::open(lock)?,
        });
        audit.set_commit_delay(std::time::Duration::from_micros(config.audit_commit_delay));
        let subject_key = load_or_create_secret(&config.data_dir.join(SUBJECT_KEY_FILE))?;
        let recorder = Arc::new(ServedRecorder::new(audit, subject_key)?);
        let csca_pem = match &config.csca {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| StartError::Csca(format!("{}: {e}", path.display())))?,
            None => crate::chip::pki::DEV_CSCA_PEM.to_owned(),
        };
        let trust = CscaTrust::from_pem(&csca_pem)?;
        let development = DevUse {
            ca: tls
                .as_ref()
                .is_some_and(|t| dev_pki::same_certificate(&t.ca_pem, DEV_CA_PEM)),
            server_certificate: tls.as_ref().is_some_and(|t| {
                dev_pki::same_certificate(&t.cert_pem, &TlsMaterial::development_server().cert_pem)
            }),
            csca: dev_pki::same_certificate(&csca_pem, crate::chip::pki::DEV_CSCA_PEM),
            vneid: !config.disable_vneid,
        }
        .materials();
        dev_pki::check(config.listen.ip(), &development, config.allow_dev_pki)
            .map_err(StartError::DevelopmentMaterial)?;
        let auth = config.auth_settings();

        let spec = config.population_spec();
        let authn = Arc::new(authn);
        let metrics = config.metrics_listen.map(|_| Arc::new(Metrics::new()));
        let faults = Arc::new(FaultInjector::new(
            Arc::clone(&authn),
            metrics.clone(),
            config.fault_seed,
        ));
        if let Some(path) = &config.faults {
            let error = |message: String| StartError::Faults {
                path: path.display().to_string(),
                message,
            };
            let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
            let file = FaultFile::parse(&text).map_err(error)?;
            faults
                .replace(file.rules)
                .map_err(|e| error(e.to_string()))?;
        }
        // Last: every other file is checked before the population and its fixtures are set up.
        let store = build_store(&config.population)?;
        Ok(ServerState {
            store: Arc::new(store),
            authn,
            tls,
            clock: config.population.today.map_or(Clock::System, Clock::Fixed),
            recorder,
            chip: Arc::new(ChipVerifier::new(trust, spec.seed)),
            tokens: Arc::new(TokenIssuer::generate(auth.token_lifetime)),
            auth,
            faults,
            metrics,
            metrics_listen: config.metrics_listen,
            limits: ServeLimits::from_config(config),
            development,
            vneid: !config.disable_vneid,
        })
    }
}

/// The configured population (with the built-in and file fixtures) as a store, and logs how long
/// it took. Nothing is generated here: the store computes citizens when asked, so this takes
/// milliseconds at any population size (the fixtures file is the only work).
pub(crate) fn build_store(args: &PopulationArgs) -> Result<CitizenStore, StartError> {
    let started = Instant::now();
    let mut fixtures = population::builtin_fixtures();
    if let Some(path) = &args.fixtures {
        fixtures.extend(population::load_fixtures_file(path)?);
    }
    let spec = args.spec();
    let fixture_count = fixtures.len();
    let generated = Population::new(spec, &fixtures)?;
    let store = CitizenStore::new(generated, fixtures);
    tracing::info!(
        generated = spec.size,
        fixtures = fixture_count,
        seed = spec.seed,
        total_ms = started.elapsed().as_millis() as u64,
        "population ready"
    );
    Ok(store)
}

/// A server running in the background.
pub struct RunningServer {
    pub local_addr: SocketAddr,
    pub store: Arc<CitizenStore>,
    pub recorder: Arc<ServedRecorder>,
    /// The fault rules in force.
    pub faults: Arc<FaultInjector>,
    /// Where the metrics endpoint listens, when it is on.
    pub metrics_addr: Option<SocketAddr>,
    metrics_task: Option<JoinHandle<()>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl RunningServer {
    /// Stops accepting calls, lets calls in flight finish, and waits for the server to end.
    pub async fn shutdown(mut self) -> Result<(), tonic::transport::Error> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(metrics) = self.metrics_task.take() {
            metrics.abort();
        }
        self.task.await.expect("server task panicked")
    }

    /// Waits until the server ends (it ends on its own only on a transport error).
    pub async fn wait(self) -> Result<(), tonic::transport::Error> {
        self.task.await.expect("server task panicked")
    }
}

/// Binds `addr` and serves `state` in a background task.
pub async fn start(addr: SocketAddr, state: ServerState) -> Result<RunningServer, StartError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?;

    let (metrics_addr, metrics_task) = match (state.metrics_listen, &state.metrics) {
        (Some(addr), Some(metrics)) => {
            let (listener, bound) = metrics::http::bind(addr)
                .await
                .map_err(|source| StartError::MetricsBind { addr, source })?;
            let scrape = metrics::http::Scrape {
                metrics: Arc::clone(metrics),
                store: Arc::clone(&state.store),
                audit: Arc::clone(state.recorder.log()),
            };
            tracing::info!(%bound, "metrics endpoint listening (GET /metrics)");
            if !bound.ip().is_loopback() {
                tracing::warn!(%bound, "metrics endpoint on a non-loopback address (--allow-remote-metrics): plain HTTP, no authentication");
            }
            (
                Some(bound),
                Some(metrics::http::serve(listener, scrape, state.limits.metrics)),
            )
        }
        _ => (None, None),
    };

    if !local_addr.ip().is_loopback() {
        for material in &state.development {
            tracing::warn!(
                material = material.describe(),
                "DEVELOPMENT material on a non-loopback address (--allow-dev-pki): its keys are public"
            );
        }
    }
    let limits = state.limits;
    let builder = Server::builder()
        .max_concurrent_streams(Some(limits.max_concurrent_streams))
        .http2_keepalive_interval(Some(limits.http2_keepalive_interval))
        .http2_keepalive_timeout(Some(limits.http2_keepalive_timeout))
        .timeout(limits.request_timeout);
    let tls_config = match &state.tls {
        Some(tls) => Some(tls.server_config().map_err(StartError::Tls)?),
        None => {
            tracing::warn!("serving PLAINTEXT without TLS (--insecure): for local debugging only");
            None
        }
    };
    // The caller's language outermost, so every refusal below is written in it. Then metrics, so
    // injected faults are counted with their codes and delays; an unknown method
    // (METHOD_NOT_FOUND) or an oversize request (MESSAGE_TOO_LARGE) is refused before a fault or
    // a service sees it.
    let mut builder = builder
        .layer(crate::lang::layer::LanguageLayer)
        .layer(MetricsLayer::new(state.metrics.clone()))
        .layer(AdmissionLayer::new(
            [
                ("/vnpop.v1.CitizenRegistry/", limits.max_request_registry),
                ("/vnpop.v1.AuditTrail/", limits.max_request_audit),
                ("/vnpop.v1.VneidAuthentication/", limits.max_request_vneid),
                ("/vnpop.v1.ChipVerification/", limits.max_request_chip),
                ("/vnpop.v1.QaAdministration/", limits.max_request_admin),
                ("/vnpop.v1.DataCleaning/", limits.max_request_cleaning),
            ]
            .into_iter()
            .filter(|(prefix, _)| state.vneid || !prefix.contains("Vneid"))
            .collect(),
        ))
        .layer(FaultLayer::new(Arc::clone(&state.faults)));
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<CitizenRegistryServer<RegistryService>>()
        .await;
    health_reporter
        .set_serving::<AuditTrailServer<AuditService>>()
        .await;
    if state.vneid {
        health_reporter
            .set_serving::<VneidAuthenticationServer<VneidService>>()
            .await;
    }
    if !state.development.is_empty() {
        // Visible to any health checker: `grpc.health.v1.Health/Check` with this service name
        // answers SERVING while development material is in use.
        health_reporter
            .set_service_status(
                DEVELOPMENT_HEALTH_SERVICE,
                tonic_health::ServingStatus::Serving,
            )
            .await;
    }
    health_reporter
        .set_serving::<ChipVerificationServer<ChipService>>()
        .await;
    health_reporter
        .set_serving::<QaAdministrationServer<AdminService>>()
        .await;
    health_reporter
        .set_serving::<DataCleaningServer<CleaningService>>()
        .await;
    // Reflection lists exactly the services this process serves (not AgencyGateway, which only
    // `vnpop gateway` serves, nor VNeID when it is off).
    let mut served = vec![
        "vnpop.v1.CitizenRegistry",
        "vnpop.v1.AuditTrail",
        "vnpop.v1.ChipVerification",
        "vnpop.v1.QaAdministration",
        "vnpop.v1.DataCleaning",
    ];
    if state.vneid {
        served.push("vnpop.v1.VneidAuthentication");
    }
    let (reflection_v1, reflection_v1alpha) = reflection(&served);
    // Every citizen-facing service answers through one Serving: the caller, the clock and the
    // record made before every answer.
    let serving = Serving::new(
        Arc::clone(&state.authn),
        Arc::clone(&state.recorder),
        state.clock,
    );
    let registry = RegistryService::new(Arc::clone(&state.store), serving.clone());
    let cleaning = CleaningService::new(Arc::clone(&state.store), serving.clone());

    let audit = AuditService::new(Arc::clone(&state.authn), Arc::clone(&state.recorder));

    let vneid = VneidService::new(
        Arc::clone(&state.store),
        serving.clone(),
        Arc::clone(&state.chip),
        Arc::clone(&state.tokens),
        state.auth,
    );
    let admin = AdminService::new(
        Arc::clone(&state.authn),
        Arc::clone(&state.faults),
        Arc::new(RuntimeFixtures::new(Arc::clone(&state.store))),
        Arc::clone(&state.recorder),
    );
    let chip = ChipService::new(Arc::clone(&state.store), serving, Arc::clone(&state.chip));

    let (tx, rx) = oneshot::channel();
    let router = builder
        .add_service(
            CitizenRegistryServer::new(registry)
                .max_decoding_message_size(limits.max_request_registry),
        )
        .add_service(
            AuditTrailServer::new(audit).max_decoding_message_size(limits.max_request_audit),
        )
        .add_optional_service(state.vneid.then(|| {
            VneidAuthenticationServer::new(vneid)
                .max_decoding_message_size(limits.max_request_vneid)
        }))
        .add_service(
            ChipVerificationServer::new(chip).max_decoding_message_size(limits.max_request_chip),
        )
        .add_service(
            QaAdministrationServer::new(admin).max_decoding_message_size(limits.max_request_admin),
        )
        .add_service(
            DataCleaningServer::new(cleaning)
                .max_decoding_message_size(limits.max_request_cleaning),
        )
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let shutdown = async {
        let _ = rx.await;
    };
    let task =
        match tls_config {
            // TLS terminated by `security::acceptor`, which also sets TCP_NODELAY.
            Some(config) => tokio::spawn(router.serve_with_incoming_shutdown(
                tls_incoming(listener, config, limits.accept),
                shutdown,
            )),
            None => {
                // TCP_NODELAY: without it an answer written in more than one segment waits for the
                // client's delayed ACK (about 40 ms on Linux).
                let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
                tokio::spawn(router.serve_with_incoming_shutdown(incoming, shutdown))
            }
        };
    tracing::info!(%local_addr, tls = state.tls.is_some(), "vnpop listening");
    Ok(RunningServer {
        local_addr,
        store: state.store,
        recorder: state.recorder,
        faults: state.faults,
        metrics_addr,
        metrics_task,
        shutdown: Some(tx),
        task,
    })
}
