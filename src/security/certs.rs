//! The development PKI (`vnpop certs`): a CA, a server certificate for localhost, and a client
//! certificate per configured agency, all generated with rcgen. DEVELOPMENT ONLY: the private
//! keys are published in the repository.

use std::{fs, io, path::Path};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use super::AgencyDirectory;

/// A certificate and its private key, PEM-encoded.
#[derive(Debug, Clone)]
pub struct CertifiedKey {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A certificate authority that issues server and client certificates.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    /// The CA's own certificate, PEM.
    pub cert_pem: String,
    key_pem: String,
}

fn base_params(common_name: &str, organization: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, organization);
    params.distinguished_name.push(DnType::CountryName, "VN");
    params.not_before = date_time_ymd(2026, 1, 1);
    params.not_after = date_time_ymd(2036, 1, 1);
    params
}

impl CertificateAuthority {
    /// A new self-signed CA.
    pub fn new(common_name: &str) -> Result<Self, rcgen::Error> {
        Self::self_signed(common_name, "vnpop development (DO NOT TRUST)")
    }

    /// A self-signed CA that issues end-entity certificates only (path length 0).
    fn self_signed(common_name: &str, organization: &str) -> Result<Self, rcgen::Error> {
        let mut params = base_params(common_name, organization);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(CertificateAuthority {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// An existing CA, from its certificate and private key (PEM), to issue more certificates.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, rcgen::Error> {
        let key = KeyPair::from_pem(key_pem)?;
        let key_copy = KeyPair::from_pem(key_pem)?;
        Ok(CertificateAuthority {
            issuer: Issuer::from_ca_cert_pem(cert_pem, key)?,
            cert_pem: cert_pem.to_owned(),
            key_pem: key_copy.serialize_pem(),
        })
    }

    /// A server certificate for the given DNS names and IP addresses.
    pub fn server(&self, hosts: &[&str]) -> Result<CertifiedKey, rcgen::Error> {
        let mut params = base_params(
            hosts.first().copied().unwrap_or("localhost"),
            "vnpop server",
        );
        params.subject_alt_names = hosts
            .iter()
            .map(|h| match h.parse() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => Ok(SanType::DnsName((*h).try_into()?)),
            })
            .collect::<Result<_, rcgen::Error>>()?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    /// A client certificate with this subject CN and O.
    pub fn client(
        &self,
        common_name: &str,
        organization: &str,
    ) -> Result<CertifiedKey, rcgen::Error> {
        let mut params = base_params(common_name, organization);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    /// A mock country signing CA (CSCA) for identity-card chips: a self-signed CA that issues
    /// document-signer certificates only (ICAO Doc 9303 part 12, in spirit).
    pub fn country_signing_ca(common_name: &str) -> Result<Self, rcgen::Error> {
        Self::self_signed(common_name, "Bộ Công an (mock CSCA, DO NOT TRUST)")
    }

    /// A document-signer certificate (ECDSA P-256, digital signature only, no extended key
    /// usage), for signing chip security objects.
    pub(crate) fn document_signer(&self, common_name: &str) -> Result<CertifiedKey, rcgen::Error> {
        self.sign(base_params(
            common_name,
            "Bộ Công an (mock document signer, DO NOT TRUST)",
        ))
    }

    fn sign(&self, mut params: CertificateParams) -> Result<CertifiedKey, rcgen::Error> {
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(CertifiedKey {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// The file names of the development PKI inside a directory.
pub mod files {
    pub(crate) const CA_CERT: &str = "ca.pem";
    pub(crate) const CA_KEY: &str = "ca.key";
    pub(crate) const SERVER_CERT: &str = "server.pem";
    pub(crate) const SERVER_KEY: &str = "server.key";
    /// The mock country signing CA of identity-card chips.
    pub(crate) const CSCA_CERT: &str = "csca.pem";
    pub(crate) const CSCA_KEY: &str = "csca.key";
    /// The mock document signer that signs chip security objects.
    pub(crate) const DOCUMENT_SIGNER_CERT: &str = "document-signer.pem";
    pub(crate) const DOCUMENT_SIGNER_KEY: &str = "document-signer.key";
    /// Client certificate of an agency: `<agency id>.pem` / `<agency id>.key`.
    pub fn client(agency_id: &str) -> (String, String) {
        (format!("{agency_id}.pem"), format!("{agency_id}.key"))
    }
}

/// Writes a fresh development PKI into `dir`: CA, localhost server, one client per agency.
/// Returns the names of the files written.
pub(crate) fn write_development_pki(
    dir: &Path,
    agencies: &AgencyDirectory,
) -> io::Result<Vec<String>> {
    let to_io = |e: rcgen::Error| io::Error::other(e.to_string());
    fs::create_dir_all(dir)?;
    let ca = CertificateAuthority::new("vnpop Development CA - DEVELOPMENT ONLY").map_err(to_io)?;
    let server = ca
        .server(&["localhost", "127.0.0.1", "::1"])
        .map_err(to_io)?;
    let mut written = Vec::new();
    let mut write = |name: String, text: &str| -> io::Result<()> {
        fs::write(dir.join(&name), text)?;
        written.push(name);
        Ok(())
    };
    write(files::CA_CERT.into(), &ca.cert_pem)?;
    write(files::CA_KEY.into(), &ca.key_pem)?;
    write(files::SERVER_CERT.into(), &server.cert_pem)?;
    write(files::SERVER_KEY.into(), &server.key_pem)?;
    for agency in agencies.iter() {
        let org = agency.organization.as_deref().unwrap_or(&agency.name);
        let client = ca.client(&agency.common_name, org).map_err(to_io)?;
        let (cert, key) = files::client(&agency.id);
        write(cert, &client.cert_pem)?;
        write(key, &client.key_pem)?;
    }
    written.extend(write_chip_pki(dir)?);
    Ok(written)
}

/// Writes a fresh mock chip PKI into `dir`: the CSCA and one document signer under it. Returns the
/// names of the files written. DEVELOPMENT ONLY.
pub(crate) fn write_chip_pki(dir: &Path) -> io::Result<Vec<String>> {
    let to_io = |e: rcgen::Error| io::Error::other(e.to_string());
    fs::create_dir_all(dir)?;
    let csca =
        CertificateAuthority::country_signing_ca("vnpop mock CSCA Viet Nam - DEVELOPMENT ONLY")
            .map_err(to_io)?;
    let signer = csca
        .document_signer("vnpop mock Document Signer 01 - DEVELOPMENT ONLY")
        .map_err(to_io)?;
    let files = [
        (files::CSCA_CERT, &csca.cert_pem),
        (files::CSCA_KEY, &csca.key_pem),
        (files::DOCUMENT_SIGNER_CERT, &signer.cert_pem),
        (files::DOCUMENT_SIGNER_KEY, &signer.key_pem),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        fs::write(dir.join(name), text)?;
        written.push(name.to_owned());
    }
    Ok(written)
}
