//! The dossiers opened through the gateway, kept on disk (SQLite, `synchronous=FULL`) so that a
//! restarted gateway still accepts verifications for dossiers opened before it stopped, and in
//! memory for the lookup on every call.
//!
//! The index file outlives gateway versions: columns added since the first one (`commune`) are
//! added to an existing file when it is opened, with the value older rows meant (empty).

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, Mutex, RwLock},
};

use rusqlite::{params, Connection};

use crate::{
    client::{DossierChannel, DossierInfo},
    proto,
};

use super::GatewayError;

/// The known dossiers.
pub(crate) struct DossierIndex {
    connection: Arc<Mutex<Connection>>,
    known: RwLock<HashMap<String, Arc<DossierInfo>>>,
}

fn index_error(error: impl std::fmt::Display) -> GatewayError {
    GatewayError::Index(error.to_string())
}

fn channel_name(channel: DossierChannel) -> &'static str {
    channel.as_str()
}

fn channel_from_name(name: &str) -> DossierChannel {
    if name == "online" {
        DossierChannel::Online
    } else {
        DossierChannel::Desk
    }
}

impl DossierIndex {
    /// Opens (or creates) the index file and loads it.
    pub(crate) fn open(path: &Path) -> Result<Self, GatewayError> {
        let connection = Connection::open(path).map_err(index_error)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(index_error)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(index_error)?;
        connection
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS dossiers (
                     dossier_id     TEXT PRIMARY KEY,
                     procedure_code TEXT NOT NULL,
                     district       TEXT NOT NULL,
                     officer_id     TEXT NOT NULL,
                     channel        TEXT NOT NULL,
                     received_at_ms INTEGER NOT NULL,
                     load_test      INTEGER NOT NULL,
                     commune        TEXT NOT NULL DEFAULT ''
                 )",
            )
            .map_err(index_error)?;
        add_missing_columns(&connection).map_err(index_error)?;
        let known = connection
            .prepare(
                "SELECT dossier_id, procedure_code, district, officer_id, channel, received_at_ms, load_test, commune
                 FROM dossiers",
            )
            .map_err(index_error)?
            .query_map([], |r| {
                let channel: String = r.get(4)?;
                let mut info = DossierInfo::new(
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    channel_from_name(&channel),
                );
                info.received_at_ms = Some(r.get(5)?);
                info.load_test = r.get(6)?;
                info.commune = r.get(7)?;
                Ok((info.id.clone(), Arc::new(info)))
            })
            .map_err(index_error)?
            .collect::<Result<HashMap<_, _>, _>>()
            .map_err(index_error)?;
        Ok(DossierIndex {
            connection: Arc::new(Mutex::new(connection)),
            known: RwLock::new(known),
        })
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<DossierInfo>> {
        self.known
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    pub(crate) fn len(&self) -> usize {
        self.known.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Stores `info` durably (committed and fsync'd when this returns), then in memory.
    pub(crate) async fn insert(&self, info: DossierInfo) -> Result<Arc<DossierInfo>, GatewayError> {
        let info = Arc::new(info);
        let (connection, stored) = (Arc::clone(&self.connection), Arc::clone(&info));
        tokio::task::spawn_blocking(move || {
            let connection = connection.lock().unwrap_or_else(|e| e.into_inner());
            connection
                .prepare_cached(
                    "INSERT OR IGNORE INTO dossiers
                     (dossier_id, procedure_code, district, officer_id, channel, received_at_ms, load_test, commune)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    stored.id,
                    stored.procedure_code,
                    stored.district,
                    stored.officer_id,
                    channel_name(stored.channel),
                    stored.received_at_ms.unwrap_or_default(),
                    stored.load_test,
                    stored.commune
                ])?;
            Ok::<_, rusqlite::Error>(())
        })
        .await
        .map_err(index_error)?
        .map_err(index_error)?;
        self.known
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(info.id.clone())
            .or_insert_with(|| Arc::clone(&info));
        Ok(info)
    }
}

/// The dossier as the API shows it.
pub(crate) fn to_proto(info: &DossierInfo) -> proto::OpenedDossier {
    proto::OpenedDossier {
        dossier_id: info.id.clone(),
        procedure_code: info.procedure_code.clone(),
        district: info.district.clone(),
        officer_id: info.officer_id.clone(),
        channel: match info.channel {
            DossierChannel::Desk => proto::DossierChannel::Desk,
            DossierChannel::Online => proto::DossierChannel::Online,
        } as i32,
        received_at_ms: info.received_at_ms.unwrap_or_default(),
        load_test: info.load_test,
        commune: info.commune.clone(),
    }
}

/// Adds to an index written by an earlier gateway the columns it lacks (`commune`, since the
/// 2025 reform), each with the value its rows meant.
fn add_missing_columns(connection: &Connection) -> rusqlite::Result<()> {
    let columns = connection
        .prepare("SELECT name FROM pragma_table_info('dossiers')")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    if !columns.iter().any(|c| c == "commune") {
        connection
            .execute_batch("ALTER TABLE dossiers ADD COLUMN commune TEXT NOT NULL DEFAULT ''")?;
    }
    Ok(())
}

/// Longest id, district, commune, officer or procedure code accepted (the server's limit for
/// ids).
const MAX_TEXT: usize = 128;

/// Checks an OpenDossier request; `now_ms` stands in for a missing reception time.
pub(crate) fn from_request(
    request: &proto::OpenDossierRequest,
    now_ms: i64,
) -> Result<DossierInfo, GatewayError> {
    // Where the dossier was received (district, commune) may be left out: the agency's reporting
    // rules say when, and are checked by the client library.
    for (field, value, required) in [
        ("dossier_id", &request.dossier_id, true),
        ("procedure_code", &request.procedure_code, true),
        ("district", &request.district, false),
        ("commune", &request.commune, false),
        ("officer_id", &request.officer_id, true),
    ] {
        let value = value.trim();
        if required && value.is_empty() {
            return Err(GatewayError::InvalidField {
                field,
                message: "required".into(),
            });
        }
        if value.chars().count() > MAX_TEXT {
            return Err(GatewayError::InvalidField {
                field,
                message: format!("at most {MAX_TEXT} characters"),
            });
        }
    }
    let channel = match proto::DossierChannel::try_from(request.channel) {
        Ok(proto::DossierChannel::Desk) => DossierChannel::Desk,
        Ok(proto::DossierChannel::Online) => DossierChannel::Online,
        _ => {
            return Err(GatewayError::InvalidField {
                field: "channel",
                message: "required: DOSSIER_CHANNEL_DESK or DOSSIER_CHANNEL_ONLINE".into(),
            })
        }
    };
    if request.received_at_ms < 0 {
        return Err(GatewayError::InvalidField {
            field: "received_at_ms",
            message: "Unix milliseconds, not negative".into(),
        });
    }
    let mut info = DossierInfo::new(
        request.dossier_id.trim(),
        request.procedure_code.trim(),
        request.district.trim(),
        request.officer_id.trim(),
        channel,
    );
    info.received_at_ms = Some(if request.received_at_ms == 0 {
        now_ms
    } else {
        request.received_at_ms
    });
    info.load_test = request.load_test;
    info.commune = request.commune.trim().to_owned();
    Ok(info)
}

/// Whether a repeated OpenDossier asks for the dossier already opened (a retry) rather than for
/// another one under the same id. A retry without a reception time matches any.
pub(crate) fn same_dossier(known: &DossierInfo, request: &proto::OpenDossierRequest) -> bool {
    let asked = from_request(request, known.received_at_ms.unwrap_or_default());
    asked.is_ok_and(|asked| &asked == known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> proto::OpenDossierRequest {
        proto::OpenDossierRequest {
            dossier_id: "D-1".into(),
            procedure_code: "1.004227".into(),
            district: "Quận Ba Đình".into(),
            officer_id: "officer-017".into(),
            channel: proto::DossierChannel::Online as i32,
            received_at_ms: 0,
            load_test: false,
            commune: String::new(),
        }
    }

    #[tokio::test]
    async fn survives_reopening_and_recognises_retries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dossiers.sqlite");
        {
            let index = DossierIndex::open(&path).unwrap();
            index
                .insert(from_request(&request(), 42).unwrap())
                .await
                .unwrap();
        }
        let index = DossierIndex::open(&path).unwrap();
        let known = index.get("D-1").unwrap();
        assert_eq!(known.received_at_ms, Some(42));
        assert_eq!(known.channel, DossierChannel::Online);
        assert!(same_dossier(&known, &request()));
        let other = proto::OpenDossierRequest {
            district: "Quận Hoàn Kiếm".into(),
            ..request()
        };
        assert!(!same_dossier(&known, &other));
        let elsewhere = proto::OpenDossierRequest {
            commune: "Phường Ba Đình".into(),
            ..request()
        };
        assert!(!same_dossier(&known, &elsewhere));
        assert_eq!(index.len(), 1);

        let at_commune = proto::OpenDossierRequest {
            dossier_id: "D-2".into(),
            district: String::new(),
            commune: " 00004 ".into(),
            ..request()
        };
        index
            .insert(from_request(&at_commune, 43).unwrap())
            .await
            .unwrap();
        drop(index);
        let index = DossierIndex::open(&path).unwrap();
        let known = index.get("D-2").unwrap();
        assert_eq!(
            (known.commune.as_str(), known.district.as_str()),
            ("00004", "")
        );
        assert_eq!(to_proto(&known).commune, "00004");
        assert!(same_dossier(&known, &at_commune));
    }

    /// The field `from_request` refuses `request` for, if any.
    fn field_at_fault(request: &proto::OpenDossierRequest) -> Option<&'static str> {
        match from_request(request, 1) {
            Err(GatewayError::InvalidField { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn names_the_field_at_fault() {
        let missing = proto::OpenDossierRequest {
            officer_id: " ".into(),
            ..request()
        };
        assert_eq!(field_at_fault(&missing), Some("officer_id"));
        let long = proto::OpenDossierRequest {
            commune: "x".repeat(MAX_TEXT + 1),
            ..request()
        };
        assert_eq!(field_at_fault(&long), Some("commune"));
        let no_channel = proto::OpenDossierRequest {
            channel: 0,
            ..request()
        };
        assert_eq!(field_at_fault(&no_channel), Some("channel"));
        // Where it was received is the reporting rules' to require (the client library checks
        // them), not the gateway's.
        let no_place = proto::OpenDossierRequest {
            district: String::new(),
            ..request()
        };
        assert!(from_request(&no_place, 1).is_ok());
    }
}
