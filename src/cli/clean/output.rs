//! The verdicts file: one row a registry row, in input order, every row on one line (line breaks
//! in a value are written as spaces). It is also the job's progress record: `--resume` keeps
//! its complete rows (a row cut by a kill is dropped) and continues after the last one's line.

use std::{
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Seek, SeekFrom, Write},
    path::Path,
};

use super::record::Entry;
use crate::{
    cli::{
        messages::{clean::Clean, Message},
        output::{file_error, write_csv_field, FileAction},
    },
    proto::{self, CleaningVerdict, FieldResult},
};

/// The columns of the verdicts file.
pub(crate) const OUTPUT_COLUMNS: [&str; 18] = [
    "line",
    "record_id",
    "verification_id",
    "verdict",
    "reason",
    "field",
    "problem",
    "linked_cccd",
    "converted_address",
    "status",
    "full_name",
    "date_of_birth",
    "sex",
    "address",
    "population_full_name",
    "population_date_of_birth",
    "population_sex",
    "population_address",
];

/// The compared fields, in the order of their columns.
pub(crate) const FIELDS: [&str; 4] = ["full_name", "date_of_birth", "sex", "address"];

/// A verdict's word in the file.
pub(crate) fn verdict_word(verdict: CleaningVerdict) -> &'static str {
    match verdict {
        CleaningVerdict::Match => "match",
        CleaningVerdict::Mismatch => "mismatch",
        CleaningVerdict::UnknownNumber => "unknown_number",
        CleaningVerdict::Malformed => "malformed",
        CleaningVerdict::Deceased => "deceased",
        CleaningVerdict::CardRevoked => "card_revoked",
        CleaningVerdict::Unspecified => "unspecified",
    }
}

fn result_word(result: FieldResult) -> &'static str {
    match result {
        FieldResult::Match => "match",
        FieldResult::Mismatch => "mismatch",
        FieldResult::NotComparable => "not_comparable",
        FieldResult::Unspecified => "",
    }
}

fn status_word(status: proto::CitizenStatus) -> &'static str {
    match status {
        proto::CitizenStatus::Active => "active",
        proto::CitizenStatus::Deceased => "deceased",
        proto::CitizenStatus::CardRevoked => "card_revoked",
        proto::CitizenStatus::Unspecified => "",
    }
}

/// Writes the row of a record the server answered, straight from its verdict (no string per
/// value).
pub(crate) fn write_server_row(
    out: &mut impl Write,
    line: u64,
    verdict: &proto::RecordVerdict,
) -> std::io::Result<()> {
    write!(out, "{line}")?;
    for value in [
        verdict.record_id.as_str(),
        &verdict.verification_id,
        verdict_word(verdict.verdict()),
        &verdict.reason,
        &verdict.field,
        &verdict.problem,
        &verdict.linked_cccd,
        &verdict.converted_address,
        status_word(verdict.status()),
    ] {
        write_value(out, value)?;
    }
    let field = |name: &str| verdict.fields.iter().find(|f| f.field == name);
    for name in FIELDS {
        write_value(out, field(name).map_or("", |f| result_word(f.result())))?;
    }
    for name in FIELDS {
        write_value(out, field(name).map_or("", |f| f.population_value.as_str()))?;
    }
    out.write_all(b"\n")
}

/// The result word of `field` in `verdict` (empty when it is not among its fields).
pub(crate) fn field_result(verdict: &proto::RecordVerdict, field: &str) -> &'static str {
    verdict
        .fields
        .iter()
        .find(|f| f.field == field)
        .map_or("", |f| result_word(f.result()))
}

/// Writes the row of a registry row that was not sent.
pub(crate) fn write_local_row(
    out: &mut impl Write,
    line: u64,
    entry: &Entry,
) -> std::io::Result<()> {
    let Entry::Malformed {
        record_id,
        field,
        problem,
    } = entry
    else {
        unreachable!("only malformed rows are written locally")
    };
    write!(out, "{line}")?;
    let mut values = [""; OUTPUT_COLUMNS.len() - 1];
    values[0] = record_id;
    values[2] = "malformed";
    values[3] = "FIELD_INVALID";
    values[4] = field;
    values[5] = problem;
    for value in values {
        write_value(out, value)?;
    }
    out.write_all(b"\n")
}

/// Writes `,` and `value` as a CSV field, a line break in it written as a space (every row on
/// one line).
fn write_value(out: &mut impl Write, value: &str) -> std::io::Result<()> {
    out.write_all(b",")?;
    if value.contains(['\n', '\r']) {
        write_csv_field(out, &value.replace(['\n', '\r'], " "))
    } else {
        write_csv_field(out, value)
    }
}

/// Where a job stands in its verdicts file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Rows written.
    pub(crate) done: u64,
    /// The input line of the last row written (0: none).
    pub(crate) last_line: u64,
}

/// Opens the verdicts file for a job: created with its header, or with `resume`, kept up to its
/// last complete row and opened to append after it.
pub(crate) fn open(path: &Path, resume: bool) -> Result<(File, Progress), String> {
    let shown = path.display().to_string();
    let io = |e| file_error(path, FileAction::Write, e);
    if !resume {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Clean::VerdictsExist { path: shown }.text(),
                _ => io(e),
            })?;
        writeln!(file, "{}", OUTPUT_COLUMNS.join(",")).map_err(io)?;
        return Ok((
            file,
            Progress {
                done: 0,
                last_line: 0,
            },
        ));
    }
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return open(path, false),
        Err(e) => return Err(io(e)),
    };
    let mut reader = BufReader::new(&mut file);
    let (mut kept, mut done, mut last_line) = (0u64, 0u64, 0u64);
    let mut line = Vec::new();
    let mut first = true;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| file_error(path, FileAction::Read, e))?;
        if n == 0 || line.last() != Some(&b'\n') {
            break; // the end, or a row cut short: dropped
        }
        let text = String::from_utf8_lossy(&line);
        if first {
            if text.trim_end() != OUTPUT_COLUMNS.join(",") {
                return Err(Clean::NotVerdicts { path: shown }.text());
            }
            first = false;
        } else {
            done += 1;
            last_line = text
                .split(',')
                .next()
                .and_then(|l| l.parse().ok())
                .ok_or_else(|| {
                    Clean::RowWithoutLine {
                        path: shown.clone(),
                        row: done,
                    }
                    .text()
                })?;
        }
        kept += n as u64;
    }
    drop(reader);
    if first {
        file.set_len(0).map_err(io)?;
        writeln!(file, "{}", OUTPUT_COLUMNS.join(",")).map_err(io)?;
    } else {
        file.set_len(kept).map_err(io)?;
        file.seek(SeekFrom::End(0)).map_err(io)?;
    }
    Ok((file, Progress { done, last_line }))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn resume_keeps_complete_rows_and_drops_a_cut_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.csv");
        let (mut file, progress) = open(&path, false).unwrap();
        assert_eq!(progress.done, 0);
        let entry = Entry::Malformed {
            record_id: "R1".into(),
            field: "sex",
            problem: "two\nlines".into(),
        };
        write_local_row(&mut file, 2, &entry).unwrap();
        write_local_row(&mut file, 3, &entry).unwrap();
        file.write_all(b"4,R3,clean:j:R3,mat").unwrap();
        drop(file);
        assert!(open(&path, false).unwrap_err().contains("--resume"));
        let (file, progress) = open(&path, true).unwrap();
        assert_eq!(
            progress,
            Progress {
                done: 2,
                last_line: 3
            }
        );
        drop(file);
        let mut text = String::new();
        File::open(&path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.ends_with('\n'));
        assert!(text.contains("two lines"));
    }
}
