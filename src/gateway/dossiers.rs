//! The dossiers opened through the gateway, kept on disk (SQLite, `synchronous=FULL`) so that a
//! restarted gateway still accepts verifications for dossiers opened before it stopped, and the
//! most recently used ones in memory for the lookup on every call: at most [`RECENT_DOSSIERS`],
//! however many the file holds (a dossier not among them is read from the file by its key).
//!
//! The index file outlives gateway versions: columns added since the first one (`commune`) are
//! added to an existing file when it is opened, with the value older rows meant (empty).

use std::{
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use rusqlite::{params, Connection};

use crate::{
    client::{DossierChannel, DossierInfo},
    domain::check_safe_text,
    proto,
};

use super::{recent::Recent, GatewayError};

/// How many dossiers the index keeps in memory, the most recently used (about 300 bytes each).
pub(crate) const RECENT_DOSSIERS: usize = 100_000;

/// The known dossiers.
pub(crate) struct DossierIndex {
    /// Writes (an insert commits and fsyncs under this lock).
    connection: Arc<Mutex<Connection>>,
    /// Reads of dossiers not in memory: a second connection, so that a read never waits for a
    /// commit (WAL).
    reader: Mutex<Connection>,
    recent: Mutex<Recent<Arc<DossierInfo>>>,
    /// Dossiers in the file.
    count: AtomicU64,
}

/// The columns of a dossier, in the order [`read_row`] reads them.
const COLUMNS: &str =
    "dossier_id, procedure_code, district, officer_id, channel, received_at_ms, load_test, commune";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DossierInfo> {
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
    Ok(info)
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
    /// Opens (or creates) the index file and loads the dossiers opened last (by row order: no
    /// sort of the whole file).
    pub(crate) fn open(path: &Path) -> Result<Self, GatewayError> {
        Self::open_keeping(path, RECENT_DOSSIERS)
    }

    /// [`DossierIndex::open`], keeping at most `capacity` dossiers in memory.
    fn open_keeping(path: &Path, capacity: usize) -> Result<Self, GatewayError> {
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
        let count: u64 = connection
            .query_row("SELECT count(*) FROM dossiers", [], |r| r.get(0))
            .map_err(index_error)?;
        let mut recent = Recent::new(capacity);
        let mut newest = connection
            .prepare(&format!(
                "SELECT {COLUMNS} FROM dossiers ORDER BY rowid DESC LIMIT ?1"
            ))
            .map_err(index_error)?
            .query_map([recent.generation() as i64], read_row)
            .map_err(index_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(index_error)?;
        // Oldest first, so that the newest are the last put.
        newest.reverse();
        for info in newest {
            recent.put(info.id.clone(), Arc::new(info));
        }
        let reader = Connection::open(path).map_err(index_error)?;
        Ok(DossierIndex {
            connection: Arc::new(Mutex::new(connection)),
            reader: Mutex::new(reader),
            recent: Mutex::new(recent),
            count: AtomicU64::new(count),
        })
    }

    /// The dossier `id`, from memory or else from the file (a read by its key).
    pub(crate) fn get(&self, id: &str) -> Option<Arc<DossierInfo>> {
        if let Some(info) = self.recent().get(id) {
            return Some(info);
        }
        let reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let stored = reader
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM dossiers WHERE dossier_id = ?1"
            ))
            .and_then(|mut statement| {
                statement
                    .query_row([id], read_row)
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        other => Err(other),
                    })
            });
        drop(reader);
        match stored {
            Ok(Some(info)) => {
                let info = Arc::new(info);
                self.recent().put(info.id.clone(), Arc::clone(&info));
                Some(info)
            }
            Ok(None) => None,
            Err(error) => {
                // An unreadable index refuses the call as for a dossier never opened; said once
                // a call in the log.
                tracing::error!(%error, "gateway: the dossier index cannot be read");
                None
            }
        }
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, Recent<Arc<DossierInfo>>> {
        self.recent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many dossiers the index holds (in the file, not only in memory).
    pub(crate) fn len(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Stores `info` durably (committed and fsync'd when this returns), then in memory. Returns
    /// the dossier as the index holds it: the first one stored under its id.
    pub(crate) async fn insert(&self, info: DossierInfo) -> Result<Arc<DossierInfo>, GatewayError> {
        let info = Arc::new(info);
        let (connection, stored) = (Arc::clone(&self.connection), Arc::clone(&info));
        let added = tokio::task::spawn_blocking(move || {
            let connection = connection.lock().unwrap_or_else(|e| e.into_inner());
            let added = connection
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
            Ok::<_, rusqlite::Error>(added)
        })
        .await
        .map_err(index_error)?
        .map_err(index_error)?;
        if added == 0 {
            // Opened meanwhile by another call: the index holds that one.
            return self
                .get(&info.id)
                .ok_or_else(|| index_error("a dossier the index refused to add is not in it"));
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.recent().put(info.id.clone(), Arc::clone(&info));
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
        check_safe_text(value).map_err(|unsafe_char| GatewayError::InvalidField {
            field,
            message: unsafe_char.to_string(),
        })?;
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
    async fn keeps_a_bounded_number_in_memory_and_finds_the_rest_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dossiers.sqlite");
        let opened = |i: usize| {
            let request = proto::OpenDossierRequest {
                dossier_id: format!("D-{i}"),
                ..request()
            };
            from_request(&request, 1_000 + i as i64).unwrap()
        };
        let index = DossierIndex::open_keeping(&path, 4).unwrap();
        for i in 0..10 {
            index.insert(opened(i)).await.unwrap();
            assert!(index.recent().len() <= 4);
        }
        assert_eq!(index.len(), 10);
        // The same id again is the one stored first.
        let again = index.insert(from_request(&request(), 7).unwrap()).await;
        assert_eq!(again.unwrap().received_at_ms, Some(1_000 + 1));
        assert_eq!(index.len(), 10);
        for i in 0..10 {
            let known = index
                .get(&format!("D-{i}"))
                .expect("every dossier is found");
            assert_eq!(known.received_at_ms, Some(1_000 + i as i64));
            assert!(index.recent().len() <= 4);
        }
        assert!(index.get("D-10").is_none());
        drop(index);
        // Reopened: the count is the file's, memory holds the last opened.
        let index = DossierIndex::open_keeping(&path, 4).unwrap();
        assert_eq!(index.len(), 10);
        assert!(index.recent().get("D-9").is_some());
        assert!(index.recent().get("D-0").is_none());
        assert!(index.get("D-0").is_some());
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
        for (request, named) in [
            (
                proto::OpenDossierRequest {
                    officer_id: "cb\0".into(),
                    ..request()
                },
                "officer_id",
            ),
            (
                proto::OpenDossierRequest {
                    dossier_id: "D\u{202E}1".into(),
                    ..request()
                },
                "dossier_id",
            ),
            (
                proto::OpenDossierRequest {
                    procedure_code: "1.004227\u{7F}".into(),
                    ..request()
                },
                "procedure_code",
            ),
        ] {
            assert_eq!(field_at_fault(&request), Some(named), "{request:?}");
        }
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
