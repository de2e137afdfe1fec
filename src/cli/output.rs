//! How the auditor's list commands print: one record per line, as CSV (with its header, even when
//! nothing matches) or as JSON lines, written as the records arrive; a spinner on stderr counts
//! them when stderr is a terminal.

use std::io::Write;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) use super::messages::common::{FileAction, Records};
use super::messages::{client_error, common::Common, Message};

/// The output of a list command (`unverified`, `export`, `citizen`, `reconcile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Comma-separated values with a header line (RFC 4180 quoting).
    Csv,
    /// One JSON object per line.
    Json,
}

/// Writes records with fixed `columns` to stdout.
pub(crate) struct RecordWriter {
    columns: &'static [&'static str],
    format: ListFormat,
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    written: u64,
    progress: ProgressBar,
}

impl RecordWriter {
    /// Starts the output (the CSV header); `what` names the records in the progress line.
    pub(crate) fn start(
        columns: &'static [&'static str],
        format: ListFormat,
        what: Records,
    ) -> Result<Self, String> {
        let progress = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        progress.set_style(
            ProgressStyle::with_template(&Common::Progress { what }.text())
                .expect("valid template"),
        );
        let mut writer = RecordWriter {
            columns,
            format,
            out: std::io::BufWriter::new(std::io::stdout().lock()),
            written: 0,
            progress,
        };
        if format == ListFormat::Csv {
            writeln!(writer.out, "{}", columns.join(",")).map_err(output_error)?;
        }
        Ok(writer)
    }

    /// One record: a JSON object holding every column (missing ones print empty).
    pub(crate) fn write(&mut self, record: &serde_json::Value) -> Result<(), String> {
        match self.format {
            ListFormat::Json => writeln!(self.out, "{record}"),
            ListFormat::Csv => {
                let line: Vec<String> = self
                    .columns
                    .iter()
                    .map(|column| match record.get(column) {
                        Some(serde_json::Value::String(s)) => csv_field(s),
                        Some(serde_json::Value::Null) | None => String::new(),
                        Some(other) => other.to_string(),
                    })
                    .collect();
                writeln!(self.out, "{}", line.join(","))
            }
        }
        .map_err(output_error)?;
        self.written += 1;
        if self.written.is_multiple_of(1_000) {
            self.progress.set_position(self.written);
        }
        Ok(())
    }

    /// Flushes stdout; the number of records written.
    pub(crate) fn finish(mut self) -> Result<u64, String> {
        self.progress.finish_and_clear();
        self.out.flush().map_err(output_error)?;
        Ok(self.written)
    }
}

/// Prints `text` to stdout (and flushes); a reader that went away ends the process quietly.
pub fn print(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(output_error)
}

/// A spinner with `message` on stderr while a long request runs (hidden unless stderr is a
/// terminal); `finish_and_clear` it when the answer is in.
pub(crate) fn spinner(message: String) -> ProgressBar {
    let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid template"),
    );
    spinner.set_message(message);
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    spinner
}

/// The error of reading the TLS files a command was given, with a hint when a default relative
/// path was not found (the command runs outside the repository).
pub(crate) fn tls_files_error(error: crate::client::ClientError) -> String {
    match error {
        crate::client::ClientError::ReadTls { path, source } => {
            let hint = source.kind() == std::io::ErrorKind::NotFound && !path.starts_with('/');
            Common::TlsFile {
                path,
                error: source,
                hint,
            }
            .text()
        }
        error => client_error(&error),
    }
}

/// A write to stdout that failed. A reader that went away (`| head`) is not an error of ours:
/// the process ends quietly (exit status 0), as Unix tools do. (The Rust runtime ignores SIGPIPE,
/// and must: restoring it would also kill the process when a server closes a socket we write.)
pub(crate) fn output_error(error: std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    Common::Output { error }.text()
}

/// A file or directory `path` that could not be read, written or created, in the CLI's
/// language.
pub(crate) fn file_error(
    path: &std::path::Path,
    action: FileAction,
    error: std::io::Error,
) -> String {
    Common::File {
        path: path.display().to_string(),
        action,
        error,
    }
    .text()
}

/// A CSV field, quoted when it must be. A text a spreadsheet would read as a formula (starting
/// with `=`, `+`, `-`, `@`, a tab or a carriage return: OWASP's CSV injection rule) is prefixed
/// with `'`, and characters that display as something else are written visibly
/// ([`shown`](crate::domain::shown)).
pub(crate) fn csv_field(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len() + 2);
    write_csv_field(&mut out, text).expect("writing to memory");
    String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
}

/// [`csv_field`] written to `out`, without a string of its own when the text needs no change
/// (for files of millions of rows).
pub(crate) fn write_csv_field(out: &mut impl std::io::Write, text: &str) -> std::io::Result<()> {
    let text = crate::domain::shown(text);
    let formula: &[u8] = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        b"'"
    } else {
        b""
    };
    if !text.contains([',', '"', '\n', '\r']) {
        out.write_all(formula)?;
        return out.write_all(text.as_bytes());
    }
    out.write_all(b"\"")?;
    out.write_all(formula)?;
    for (i, part) in text.split('"').enumerate() {
        if i > 0 {
            out.write_all(b"\"\"")?;
        }
        out.write_all(part.as_bytes())?;
    }
    out.write_all(b"\"")
}

/// Escapes text for HTML and SVG content and attribute values, with characters that display
/// as something else written visibly ([`shown_in_html`](crate::domain::shown_in_html)).
pub(crate) fn html_escape(text: &str) -> String {
    crate::domain::shown_in_html(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Says on stderr that a list came out empty, naming the filters that were applied.
pub(crate) fn report_empty(written: u64, what: Records, filters: &[(&str, &str)]) {
    if written > 0 {
        return;
    }
    let applied: Vec<String> = filters
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(flag, value)| format!("{flag} {value:?}"))
        .collect();
    let filters = applied.join(", ");
    eprintln!("{}", Common::NoRecords { what, filters }.text());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("Huyện Bình Lục"), "Huyện Bình Lục");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_execute_are_neutralised() {
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        for cell in ["+1", "-1", "@SUM(A1)"] {
            assert!(csv_field(cell).starts_with('\''), "{cell}");
        }
        // A leading tab or carriage return is a control character: written visibly.
        assert_eq!(csv_field("\tx"), "[U+0009]x");
        assert_eq!(csv_field("\r=1"), "[U+000D]=1");
        assert_eq!(csv_field("officer\u{202E}1"), "officer[U+202E]1");
    }

    #[test]
    fn html_escapes_markup_and_bidi_controls() {
        assert_eq!(
            html_escape("<b>\u{202E}A&B\""),
            "&lt;b&gt;[U+202E]A&amp;B&quot;"
        );
    }
}
