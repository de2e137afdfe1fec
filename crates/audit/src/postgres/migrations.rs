//! The fleet database's schema: one migration per version, applied in order at start (under a
//! session-scoped advisory lock, one transaction each); a database newer than the binary is
//! refused.

use super::AuditError;

/// The advisory lock held while migrations run (session-scoped, released at once).
pub(super) const MIGRATION_LOCK: i64 = 0x766e_706f_705f_6d67; // "vnpop_mg"
/// The schema, one migration per version, applied in order at start in a transaction each.
/// Never edit a released migration: add the next.
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "
CREATE TABLE audit_meta (
    only_row          BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    log_id            TEXT NOT NULL,
    public_key        BYTEA NOT NULL,
    subject_key_check BYTEA NOT NULL,
    created_at_ms     BIGINT NOT NULL
);
CREATE TABLE audit_records (
    first_seq BIGINT PRIMARY KEY,
    count     INTEGER NOT NULL,
    body      BYTEA NOT NULL
);
CREATE TABLE audit_strings (
    id   BIGINT PRIMARY KEY,
    text TEXT NOT NULL
);
CREATE TABLE audit_blocks (
    block BIGINT PRIMARY KEY,
    root  BYTEA NOT NULL
);
CREATE TABLE audit_heads (
    tree_size    BIGINT PRIMARY KEY,
    root         BYTEA NOT NULL,
    signed_at_ms BIGINT NOT NULL,
    signature    BYTEA NOT NULL
);
",
)];

/// The newest schema version this binary knows.
pub(super) fn schema_version() -> i32 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// Applies the migrations the database lacks (the caller holds [`MIGRATION_LOCK`]); the inner
/// error refuses a database newer than this binary.
pub(super) async fn apply_migrations(
    client: &mut deadpool_postgres::Object,
) -> Result<Result<(), AuditError>, tokio_postgres::Error> {
    let fresh: bool = client
        .query_one("SELECT to_regclass('vnpop_schema') IS NULL", &[])
        .await?
        .get(0);
    if fresh {
        client
            .batch_execute("CREATE TABLE vnpop_schema (version INTEGER NOT NULL)")
            .await?;
    }
    let applied: i32 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM vnpop_schema", &[])
        .await?
        .get(0);
    if applied > schema_version() {
        return Ok(Err(AuditError::Store(format!(
            "the database's audit schema is version {applied}, newer than this vnpop's {}: upgrade vnpop on every server of the fleet",
            schema_version()
        ))));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        let transaction = client.transaction().await?;
        transaction.batch_execute(sql).await?;
        transaction
            .execute("INSERT INTO vnpop_schema (version) VALUES ($1)", &[version])
            .await?;
        transaction.commit().await?;
        tracing::info!(version, "audit store: schema migration applied");
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(versions, (1..=versions.len() as i32).collect::<Vec<_>>());
    }
}
