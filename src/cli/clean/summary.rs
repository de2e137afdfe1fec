//! The summary a data team acts on: counts per verdict and per mismatching field, with the
//! first examples of each kind, printed and written as JSON. It covers the whole verdicts file:
//! each row is counted as it is written ([`Tally::of_verdict`], [`Tally::of_local`]), and a
//! resumed job first reads back the rows written before ([`Summary::of_file`]). Its size does
//! not grow with the rows: counts, and at most [`EXAMPLES`] examples of each kind.

use std::{collections::BTreeMap, io::BufRead, path::Path};

use serde_json::{json, Value};

use crate::cli::{
    messages::{clean::Clean, Message},
    output::{file_error, FileAction},
};

use super::{
    csv::{FileError, Row, Rows},
    output::{field_result, verdict_word, FIELDS, OUTPUT_COLUMNS},
};
use crate::proto;

/// Examples kept of each kind.
const EXAMPLES: usize = 3;
/// The example kinds of the mismatching fields, in [`FIELDS`] order.
const FIELD_KINDS: [&str; 4] = [
    "field:full_name",
    "field:date_of_birth",
    "field:sex",
    "field:address",
];

/// The counts of a verdicts file.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Rows.
    pub(crate) records: u64,
    /// Rows per verdict word.
    pub(crate) verdicts: BTreeMap<String, u64>,
    /// Rows per field that did not match.
    pub(crate) mismatching: BTreeMap<String, u64>,
    /// CMND numbers linked to a CCCD number.
    pub(crate) linked: u64,
    /// Addresses converted from the pre-2025 form.
    pub(crate) converted: u64,
    /// The first rows of each kind (`verdict` or `field:NAME`): (line, record id, reason or
    /// field).
    pub(crate) examples: BTreeMap<String, Vec<(u64, String, String)>>,
}

/// One row of the verdicts file as the summary counts it: read back from the file, or taken
/// from a verdict as its row is written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tally<'a> {
    /// The input line.
    pub(crate) line: u64,
    pub(crate) record_id: &'a str,
    /// The verdict's word.
    pub(crate) verdict: &'a str,
    /// With `malformed`: the reason and the field at fault.
    pub(crate) reason: &'a str,
    pub(crate) field: &'a str,
    /// The result word of each of [`FIELDS`].
    pub(crate) results: [&'a str; 4],
    /// A CMND number linked to a CCCD number.
    pub(crate) linked: bool,
    /// An address converted from the pre-2025 form.
    pub(crate) converted: bool,
}

impl<'a> Tally<'a> {
    /// A row of the file, its values in [`OUTPUT_COLUMNS`] order.
    fn of_row(row: &Row<'a>) -> Self {
        let get = |name: &str| {
            OUTPUT_COLUMNS
                .iter()
                .position(|c| *c == name)
                .and_then(|i| row.get(i))
                .unwrap_or("")
        };
        Tally {
            line: get("line").parse().unwrap_or(0),
            record_id: get("record_id"),
            verdict: get("verdict"),
            reason: get("reason"),
            field: get("field"),
            results: FIELDS.map(get),
            linked: !get("linked_cccd").is_empty(),
            converted: !get("converted_address").is_empty(),
        }
    }

    /// The row written for `verdict` on input line `line`.
    pub(crate) fn of_verdict(line: u64, verdict: &'a proto::RecordVerdict) -> Self {
        Tally {
            line,
            record_id: &verdict.record_id,
            verdict: verdict_word(verdict.verdict()),
            reason: &verdict.reason,
            field: &verdict.field,
            results: FIELDS.map(|name| field_result(verdict, name)),
            linked: !verdict.linked_cccd.is_empty(),
            converted: !verdict.converted_address.is_empty(),
        }
    }

    /// The row written for a registry row that was not sent.
    pub(crate) fn of_local(line: u64, record_id: &'a str, field: &'a str) -> Self {
        Tally {
            line,
            record_id,
            verdict: "malformed",
            reason: "FIELD_INVALID",
            field,
            results: [""; 4],
            linked: false,
            converted: false,
        }
    }
}

impl Summary {
    /// Counts one row; strings are made only for a kind not seen before and for the examples
    /// kept, so counting a million rows allocates next to nothing.
    pub(crate) fn add(&mut self, row: &Tally<'_>) {
        self.records += 1;
        count(&mut self.verdicts, row.verdict);
        let detail = || {
            if row.reason.is_empty() {
                String::new()
            } else {
                format!("{} {}", row.reason, row.field)
            }
        };
        example(&mut self.examples, row.verdict, row, detail);
        for ((field, kind), result) in FIELDS.iter().zip(FIELD_KINDS).zip(row.results) {
            if result == "mismatch" {
                count(&mut self.mismatching, field);
                example(&mut self.examples, kind, row, String::new);
            }
        }
        self.linked += u64::from(row.linked);
        self.converted += u64::from(row.converted);
    }

    /// Reads the verdicts file at `path`.
    pub(crate) fn of_file(path: &Path) -> Result<Self, String> {
        let file = std::fs::File::open(path).map_err(|e| file_error(path, FileAction::Read, e))?;
        Self::of_reader(std::io::BufReader::new(file)).map_err(|error| {
            Clean::Refused {
                path: path.display().to_string(),
                error,
            }
            .text()
        })
    }

    fn of_reader(input: impl BufRead) -> Result<Self, FileError> {
        let mut rows = Rows::new(input);
        let mut summary = Summary::default();
        let mut header = true;
        while let Some(row) = rows.next_row()? {
            if std::mem::take(&mut header) {
                continue;
            }
            summary.add(&Tally::of_row(&row));
        }
        Ok(summary)
    }

    /// The summary as JSON.
    pub(crate) fn json(&self) -> Value {
        let examples: serde_json::Map<String, Value> = self
            .examples
            .iter()
            .map(|(kind, rows)| {
                let rows = rows
                    .iter()
                    .map(|(line, id, detail)| json!({"line": line, "record_id": id, "detail": detail}))
                    .collect();
                (kind.clone(), Value::Array(rows))
            })
            .collect();
        json!({
            "records": self.records,
            "verdicts": self.verdicts,
            "mismatching_fields": self.mismatching,
            "linked_cmnd": self.linked,
            "converted_addresses": self.converted,
            "examples": examples,
        })
    }

    /// The summary as people read it, in the CLI's language (the verdict words and field
    /// names are the verdicts file's own).
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        outln!(
            out,
            "{}",
            Clean::Records {
                count: self.records
            }
            .text()
        );
        outln!(out, "{}", Clean::Verdicts.text());
        for (verdict, count) in &self.verdicts {
            outln!(
                out,
                "  {verdict:<16} {}{}",
                self.count(*count),
                self.shown_examples(verdict)
            );
        }
        if !self.mismatching.is_empty() {
            outln!(out, "{}", Clean::Mismatching.text());
            for (field, count) in &self.mismatching {
                outln!(
                    out,
                    "  {field:<16} {}{}",
                    self.count(*count),
                    self.shown_examples(&format!("field:{field}"))
                );
            }
        }
        outln!(out, "{}", Clean::Linked { count: self.linked }.text());
        outln!(
            out,
            "{}",
            Clean::Converted {
                count: self.converted
            }
            .text()
        );
        out
    }

    /// A count in the CLI's language.
    fn count(&self, n: u64) -> String {
        match crate::cli::language::language() {
            crate::lang::Language::Vietnamese => crate::cli::messages::vi_count(n),
            _ => n.to_string(),
        }
    }

    fn shown_examples(&self, kind: &str) -> String {
        match self.examples.get(kind) {
            Some(rows) if !rows.is_empty() => Clean::Examples { rows: rows.clone() }.text(),
            _ => String::new(),
        }
    }
}

/// Adds one to `key`'s count (the key copied only the first time).
fn count(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_owned(), 1);
        }
    }
}

/// Keeps `row` as an example of `kind` while it has fewer than [`EXAMPLES`]; `detail` is made
/// only then. Line breaks in the record id are written as spaces, as in the file.
fn example(
    examples: &mut BTreeMap<String, Vec<(u64, String, String)>>,
    kind: &str,
    row: &Tally<'_>,
    detail: impl FnOnce() -> String,
) {
    if examples
        .get(kind)
        .is_some_and(|kept| kept.len() >= EXAMPLES)
    {
        return;
    }
    let record_id = row.record_id.replace(['\n', '\r'], " ");
    let kept = examples.entry(kind.to_owned()).or_default();
    kept.push((row.line, record_id, detail()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_verdicts_fields_and_keeps_the_first_examples() {
        let header = OUTPUT_COLUMNS.join(",");
        let text = format!(
            "{header}\n\
             2,R1,clean:j:R1,match,,,,,,active,match,match,,,,,,\n\
             3,R2,clean:j:R2,mismatch,,,,,,active,mismatch,match,,,A,,,\n\
             4,R3,,malformed,FIELD_INVALID,sex,bad,,,,,,,,,,,\n\
             5,R4,clean:j:R4,match,,,,001090012345,\"1 X, Phường Y, Tỉnh Z\",active,,,,,,,,\n"
        );
        let summary = Summary::of_reader(text.as_bytes()).unwrap();
        assert_eq!(summary.records, 4);
        assert_eq!(summary.verdicts["match"], 2);
        assert_eq!(summary.mismatching["full_name"], 1);
        assert_eq!((summary.linked, summary.converted), (1, 1));
        assert_eq!(summary.examples["malformed"][0].2, "FIELD_INVALID sex");
        let json = summary.json();
        assert_eq!(json["verdicts"]["mismatch"], 1);
        assert!(summary.text().contains("line 3 (R2)"));
    }
}
