//! The summary a data team acts on: counts per verdict and per mismatching field, with the
//! first examples of each kind, read back from the whole verdicts file (so a resumed job's
//! summary covers every row), printed and written as JSON.

use std::{collections::BTreeMap, io::BufRead, path::Path};

use serde_json::{json, Value};

use crate::cli::{
    messages::{clean::Clean, Message},
    output::{file_error, FileAction},
};

use super::{
    csv::{FileError, Rows},
    output::{FIELDS, OUTPUT_COLUMNS},
};

/// Examples kept of each kind.
const EXAMPLES: usize = 3;

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

impl Summary {
    /// Counts one row of the file.
    fn add(&mut self, row: &[String]) {
        let get = |name: &str| {
            OUTPUT_COLUMNS
                .iter()
                .position(|c| *c == name)
                .and_then(|i| row.get(i))
                .map_or("", String::as_str)
        };
        self.records += 1;
        let line = get("line").parse().unwrap_or(0);
        let record_id = get("record_id").to_owned();
        let verdict = get("verdict").to_owned();
        *self.verdicts.entry(verdict.clone()).or_default() += 1;
        let detail = if get("reason").is_empty() {
            String::new()
        } else {
            format!("{} {}", get("reason"), get("field"))
        };
        example(
            &mut self.examples,
            verdict,
            (line, record_id.clone(), detail),
        );
        for field in FIELDS {
            if get(field) == "mismatch" {
                *self.mismatching.entry(field.to_owned()).or_default() += 1;
                example(
                    &mut self.examples,
                    format!("field:{field}"),
                    (line, record_id.clone(), String::new()),
                );
            }
        }
        self.linked += u64::from(!get("linked_cccd").is_empty());
        self.converted += u64::from(!get("converted_address").is_empty());
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
            summary.add(&row.fields);
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

fn example(
    examples: &mut BTreeMap<String, Vec<(u64, String, String)>>,
    kind: String,
    row: (u64, String, String),
) {
    let kept = examples.entry(kind).or_default();
    if kept.len() < EXAMPLES {
        kept.push(row);
    }
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
