//! The registry file: a CSV header naming the columns (any order, case and spacing ignored, a
//! byte-order mark skipped), then one record a row. Fields are RFC 4180: quoted when they hold
//! a comma, a quote (doubled) or a line break.

use std::io::BufRead;

use super::encoding::{check_line, NotUtf8};

/// The columns a registry file has, as its header names them.
pub(crate) const COLUMNS: [&str; 6] = [
    "record_id",
    "number",
    "full_name",
    "date_of_birth",
    "sex",
    "address",
];
/// The columns a header must name (`address` is optional).
const REQUIRED: [&str; 5] = ["record_id", "number", "full_name", "date_of_birth", "sex"];

/// Why a registry file is refused before anything is sent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileError {
    #[error("{0}")]
    NotUtf8(#[from] NotUtf8),
    #[error("the header lacks the column(s) {}: a registry file starts with the line `{}` (address optional); nothing was sent", .0.join(", "), COLUMNS.join(","))]
    MissingColumns(Vec<&'static str>),
    #[error("the file is empty: it needs a header line `{}`", COLUMNS.join(","))]
    Empty,
    #[error("line {line}: a quoted field is not closed before the end of the file")]
    Unclosed { line: u64 },
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
}

/// Where each column is in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// The index of each of [`COLUMNS`] (`None`: the optional address is absent).
    index: [Option<usize>; 6],
}

impl Header {
    /// Reads a header row; refuses one lacking a required column, naming it.
    pub(crate) fn parse(fields: &[String]) -> Result<Self, FileError> {
        let names: Vec<String> = fields
            .iter()
            .map(|f| f.trim_start_matches('\u{feff}').trim().to_lowercase())
            .collect();
        let mut index = [None; 6];
        for (slot, column) in index.iter_mut().zip(COLUMNS) {
            *slot = names.iter().position(|n| n == column);
        }
        let missing: Vec<&'static str> = REQUIRED
            .iter()
            .zip(index)
            .filter(|(_, i)| i.is_none())
            .map(|(c, _)| *c)
            .collect();
        if missing.is_empty() {
            Ok(Header { index })
        } else {
            Err(FileError::MissingColumns(missing))
        }
    }

    /// The value of `column` (one of [`COLUMNS`]) in `row`: `None` when the column is absent or
    /// the row is too short.
    pub(crate) fn get<'r>(&self, row: &'r [String], column: usize) -> Option<&'r str> {
        self.index[column]
            .and_then(|i| row.get(i))
            .map(String::as_str)
    }

    /// How many fields a row must have.
    pub(crate) fn width(&self) -> usize {
        self.index.iter().flatten().max().map_or(0, |m| m + 1)
    }
}

/// One row of the file, split into fields, and the line it starts on (from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) line: u64,
    pub(crate) fields: Vec<String>,
}

/// Reads rows from a UTF-8 file (checked line by line as it is read).
pub(crate) struct Rows<R> {
    input: R,
    line: u64,
    buffer: Vec<u8>,
}

impl<R: BufRead> Rows<R> {
    pub(crate) fn new(input: R) -> Self {
        Rows {
            input,
            line: 0,
            buffer: Vec::new(),
        }
    }

    /// The next row; `None` at the end. Blank lines are skipped.
    pub(crate) fn next_row(&mut self) -> Result<Option<Row>, FileError> {
        loop {
            let Some(text) = self.read_line()? else {
                return Ok(None);
            };
            let start = self.line;
            let mut text = text;
            let mut fields = Vec::new();
            let mut field = String::new();
            let mut quoted = false;
            let mut at_start = true;
            loop {
                let mut chars = text.chars().peekable();
                while let Some(c) = chars.next() {
                    if quoted {
                        if c == '"' {
                            if chars.peek() == Some(&'"') {
                                chars.next();
                                field.push('"');
                            } else {
                                quoted = false;
                            }
                        } else {
                            field.push(c);
                        }
                    } else if c == '"' && at_start {
                        quoted = true;
                        at_start = false;
                    } else if c == ',' {
                        fields.push(std::mem::take(&mut field));
                        at_start = true;
                    } else {
                        field.push(c);
                        at_start = false;
                    }
                }
                if !quoted {
                    break;
                }
                // A quoted field holding a line break: the row goes on.
                field.push('\n');
                text = self
                    .read_line()?
                    .ok_or(FileError::Unclosed { line: start })?;
            }
            fields.push(field);
            if fields.len() == 1 && fields[0].trim().is_empty() {
                continue;
            }
            return Ok(Some(Row {
                line: start,
                fields,
            }));
        }
    }

    /// The next line without its line break, checked to be UTF-8.
    fn read_line(&mut self) -> Result<Option<String>, FileError> {
        self.buffer.clear();
        if self.input.read_until(b'\n', &mut self.buffer)? == 0 {
            return Ok(None);
        }
        self.line += 1;
        while matches!(self.buffer.last(), Some(b'\n' | b'\r')) {
            self.buffer.pop();
        }
        check_line(self.line, &self.buffer)?;
        Ok(Some(
            String::from_utf8(std::mem::take(&mut self.buffer)).expect("checked"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A field as RFC 4180 writes it.
    fn quoted(field: &str) -> String {
        if field.contains([',', '"', '\n']) {
            format!("\"{}\"", field.replace('"', "\"\""))
        } else {
            field.to_owned()
        }
    }

    fn rows(text: &[u8]) -> Result<Vec<Row>, FileError> {
        let mut reader = Rows::new(text);
        let mut all = Vec::new();
        while let Some(row) = reader.next_row()? {
            all.push(row);
        }
        Ok(all)
    }

    #[test]
    fn fields_are_split_and_unquoted() {
        let all = rows(b"a,b\r\n\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\n").unwrap();
        assert_eq!(all[0].fields, ["a", "b"]);
        assert_eq!(all[1].line, 3);
        assert_eq!(all[1].fields, ["x, y", "say \"hi\""]);
        assert_eq!(all[2].line, 4);
        assert_eq!(all[2].fields, ["two\nlines", "z"]);
        assert!(matches!(
            rows(b"a\n\"open\n"),
            Err(FileError::Unclosed { line: 2 })
        ));
    }

    #[test]
    fn a_header_must_name_the_required_columns() {
        let header = |names: &[&str]| {
            Header::parse(&names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        };
        let ok = header(&[
            "\u{feff}Record_ID",
            "number",
            "full_name",
            "sex",
            "date_of_birth",
        ])
        .unwrap();
        assert_eq!(ok.index[0], Some(0));
        assert_eq!(ok.index[5], None);
        match header(&["record_id", "full_name", "sex"]) {
            Err(FileError::MissingColumns(missing)) => {
                assert_eq!(missing, ["number", "date_of_birth"])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_line_in_a_legacy_encoding_is_refused_naming_it() {
        let error = rows(b"record_id\nR1,Nguy\xEA\xDEn V\xE3n\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 2 is not UTF-8 (it looks like Windows-1258, a legacy Vietnamese encoding); \
             save the file as UTF-8 (nothing was sent)"
        );
    }

    proptest! {
        /// Any fields written as RFC 4180 writes them read back as written.
        #[test]
        fn written_rows_read_back(fields in proptest::collection::vec("[a-zA-Zàáạễđ0-9 ,\"\n]{0,12}", 1..6)) {
            prop_assume!(!(fields.len() == 1 && fields[0].trim().is_empty()));
            let line: Vec<String> = fields.iter().map(|f| quoted(f)).collect();
            let text = format!("{}\n", line.join(","));
            let all = rows(text.as_bytes()).unwrap();
            prop_assert_eq!(all.len(), 1);
            prop_assert_eq!(&all[0].fields, &fields);
        }

        #[test]
        fn any_bytes_are_read_or_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = rows(&bytes);
        }
    }
}
