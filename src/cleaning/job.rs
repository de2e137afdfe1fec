//! The job a cleaning stream belongs to, from its first message, and the stream's bounds.

use crate::{
    domain::check_safe_text,
    error::ApiError,
    ids::{MAX_CLEANING_JOB_ID, MAX_CLEANING_RECORD_ID},
    proto,
};

/// The most records one message of a cleaning stream may hold (more: INVALID_ARGUMENT,
/// `CLEANING_BATCH_TOO_LARGE`, naming `records`).
pub const MAX_RECORDS_PER_BATCH: usize = 1_000;
/// The longest purpose (characters), as a request context's.
const MAX_PURPOSE: usize = 256;
/// The longest officer id (characters), as a request context's.
const MAX_OFFICER: usize = 128;

/// A checked cleaning job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    /// The agency's id for the job (no `:`, at most [`MAX_CLEANING_JOB_ID`] characters).
    pub(crate) job_id: String,
    /// Why the registry is cleaned.
    pub(crate) purpose: String,
    /// The officer responsible.
    pub(crate) officer_id: String,
}

impl Job {
    /// The job of a stream's first message; the error names the field at fault.
    pub(crate) fn from_proto(job: Option<proto::CleaningJob>) -> Result<Self, ApiError> {
        let job = job.ok_or_else(|| ApiError::CleaningJobInvalid {
            field: "job",
            message: "the first message of a cleaning stream must describe the job".into(),
        })?;
        let job_id = checked("job.job_id", &job.job_id, MAX_CLEANING_JOB_ID)?;
        if job_id.contains(':') {
            return Err(ApiError::CleaningJobInvalid {
                field: "job.job_id",
                message: "may not contain ':'".into(),
            });
        }
        Ok(Job {
            job_id,
            purpose: checked("job.purpose", &job.purpose, MAX_PURPOSE)?,
            officer_id: checked("job.officer_id", &job.officer_id, MAX_OFFICER)?,
        })
    }
}

/// `text` trimmed, if it is present, at most `max` characters and safe text.
fn checked(field: &'static str, text: &str, max: usize) -> Result<String, ApiError> {
    let invalid = |message: String| ApiError::CleaningJobInvalid { field, message };
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid("required".into()));
    }
    if text.chars().count() > max {
        return Err(invalid(format!("at most {max} characters")));
    }
    check_safe_text(text).map_err(|c| invalid(c.to_string()))?;
    Ok(text.to_owned())
}

/// Why a record id cannot name a verification, if it cannot: empty, too long or unsafe text.
pub(crate) fn record_id_problem(record_id: &str) -> Option<String> {
    if record_id.trim().is_empty() {
        return Some("required".into());
    }
    if record_id.chars().count() > MAX_CLEANING_RECORD_ID {
        return Some(format!("at most {MAX_CLEANING_RECORD_ID} characters"));
    }
    check_safe_text(record_id).err().map(|c| c.to_string())
}

/// The batch-size bound.
pub(crate) fn check_batch(count: usize) -> Result<(), ApiError> {
    if count > MAX_RECORDS_PER_BATCH {
        return Err(ApiError::CleaningBatchTooLarge {
            count,
            max: MAX_RECORDS_PER_BATCH,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, purpose: &str, officer: &str) -> Option<proto::CleaningJob> {
        Some(proto::CleaningJob {
            job_id: id.into(),
            purpose: purpose.into(),
            officer_id: officer.into(),
        })
    }

    fn field_of(error: ApiError) -> &'static str {
        match error {
            ApiError::CleaningJobInvalid { field, .. } => field,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_job_is_checked_field_by_field() {
        let ok = Job::from_proto(job(" bhxh-2026 ", "làm sạch", "o-1")).unwrap();
        assert_eq!(ok.job_id, "bhxh-2026");
        assert_eq!(field_of(Job::from_proto(None).unwrap_err()), "job");
        assert_eq!(
            field_of(Job::from_proto(job("", "p", "o")).unwrap_err()),
            "job.job_id"
        );
        assert_eq!(
            field_of(Job::from_proto(job("a:b", "p", "o")).unwrap_err()),
            "job.job_id"
        );
        assert_eq!(
            field_of(Job::from_proto(job(&"j".repeat(61), "p", "o")).unwrap_err()),
            "job.job_id"
        );
        assert_eq!(
            field_of(Job::from_proto(job("j", "", "o")).unwrap_err()),
            "job.purpose"
        );
        assert_eq!(
            field_of(Job::from_proto(job("j", "p", "o\u{202e}")).unwrap_err()),
            "job.officer_id"
        );
    }

    #[test]
    fn batches_and_record_ids_are_bounded() {
        assert!(check_batch(MAX_RECORDS_PER_BATCH).is_ok());
        let error = check_batch(MAX_RECORDS_PER_BATCH + 1).unwrap_err();
        assert_eq!(error.violations()[0].0, "records");
        assert!(record_id_problem("r-1").is_none());
        assert!(record_id_problem(" ").is_some());
        assert!(record_id_problem(&"r".repeat(61)).is_some());
        assert!(record_id_problem("r\u{0}").is_some());
    }
}
