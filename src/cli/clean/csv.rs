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
    pub(crate) fn parse(row: &Row<'_>) -> Result<Self, FileError> {
        let names: Vec<String> = row
            .fields()
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
    pub(crate) fn get<'r>(&self, row: &Row<'r>, column: usize) -> Option<&'r str> {
        self.index[column].and_then(|i| row.get(i))
    }

    /// How many fields a row must have.
    pub(crate) fn width(&self) -> usize {
        self.index.iter().flatten().max().map_or(0, |m| m + 1)
    }
}

/// One row of the file, its fields unquoted, and the line it starts on (from 1). It borrows
/// the reader's buffers: a row is read without a string per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row<'a> {
    pub(crate) line: u64,
    /// The fields' text one after the other.
    text: &'a str,
    /// Where each field ends in `text`.
    ends: &'a [usize],
}

impl<'a> Row<'a> {
    /// Field `i`, if the row has it.
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.text[start..end])
    }

    /// How many fields the row has.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The fields in order.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// Reads rows from a UTF-8 file (checked line by line as it is read), into buffers it keeps
/// from row to row.
pub(crate) struct Rows<R> {
    input: R,
    line: u64,
    /// The line being read, as bytes.
    buffer: Vec<u8>,
    /// The current row's fields' text, unquoted.
    text: String,
    /// Where each of the current row's fields ends in `text`.
    ends: Vec<usize>,
}

impl<R: BufRead> Rows<R> {
    pub(crate) fn new(input: R) -> Self {
        Rows {
            input,
            line: 0,
            buffer: Vec::new(),
            text: String::new(),
            ends: Vec::new(),
        }
    }

    /// The next row; `None` at the end. Blank lines are skipped.
    pub(crate) fn next_row(&mut self) -> Result<Option<Row<'_>>, FileError> {
        loop {
            if !self.read_line()? {
                return Ok(None);
            }
            let start = self.line;
            self.text.clear();
            self.ends.clear();
            let mut quoted = false;
            let mut at_start = true;
            loop {
                let line = std::str::from_utf8(&self.buffer).expect("checked");
                split(
                    line,
                    &mut self.text,
                    &mut self.ends,
                    &mut quoted,
                    &mut at_start,
                );
                if !quoted {
                    break;
                }
                // A quoted field holding a line break: the row goes on.
                self.text.push('\n');
                if !self.read_line()? {
                    return Err(FileError::Unclosed { line: start });
                }
            }
            self.ends.push(self.text.len());
            if self.ends.len() == 1 && self.text.trim().is_empty() {
                continue;
            }
            return Ok(Some(Row {
                line: start,
                text: &self.text,
                ends: &self.ends,
            }));
        }
    }

    /// Reads the next line into `buffer` without its line break, checked to be UTF-8; `false`
    /// at the end of the file.
    fn read_line(&mut self) -> Result<bool, FileError> {
        self.buffer.clear();
        if self.input.read_until(b'\n', &mut self.buffer)? == 0 {
            return Ok(false);
        }
        self.line += 1;
        while matches!(self.buffer.last(), Some(b'\n' | b'\r')) {
            self.buffer.pop();
        }
        check_line(self.line, &self.buffer)?;
        Ok(true)
    }
}

/// Splits one line of a row into `text`, ending each field but the row's last in `ends`:
/// RFC 4180, a field quoted only when its first character is a quote (a quote elsewhere is
/// text), two quotes within quotes one quote. `quoted` says whether the line ends inside a
/// quoted field (the row goes on), and is where the line starts.
fn split(
    line: &str,
    text: &mut String,
    ends: &mut Vec<usize>,
    quoted: &mut bool,
    at_start: &mut bool,
) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if *quoted {
            // Up to the next quote, as written; ',' and '"' are ASCII, so slicing at them keeps
            // whole characters.
            match bytes[i..].iter().position(|&b| b == b'"') {
                None => {
                    text.push_str(&line[i..]);
                    return;
                }
                Some(n) => {
                    text.push_str(&line[i..i + n]);
                    i += n + 1;
                    if bytes.get(i) == Some(&b'"') {
                        text.push('"');
                        i += 1;
                    } else {
                        *quoted = false;
                    }
                }
            }
        } else if *at_start && bytes[i] == b'"' {
            *quoted = true;
            *at_start = false;
            i += 1;
        } else {
            match bytes[i..].iter().position(|&b| b == b',') {
                None => {
                    text.push_str(&line[i..]);
                    *at_start = false;
                    return;
                }
                Some(n) => {
                    text.push_str(&line[i..i + n]);
                    ends.push(text.len());
                    *at_start = true;
                    i += n + 1;
                }
            }
        }
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

    /// A row as owned values: its line and fields.
    #[derive(Debug)]
    struct Owned {
        line: u64,
        fields: Vec<String>,
    }

    fn rows(text: &[u8]) -> Result<Vec<Owned>, FileError> {
        let mut reader = Rows::new(text);
        let mut all = Vec::new();
        while let Some(row) = reader.next_row()? {
            all.push(Owned {
                line: row.line,
                fields: row.fields().map(str::to_owned).collect(),
            });
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
            let line = names.join(",");
            let mut reader = Rows::new(line.as_bytes());
            let row = reader.next_row().unwrap().unwrap();
            Header::parse(&row)
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
