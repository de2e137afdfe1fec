//! The language of the CLI's messages (`vnpop --lang vi …`, `VNPOP_LANG`): set once at start by
//! [`Globals::apply`], read through [`language`] by the CLI's own messages (the catalogues of
//! [`super::messages`]: errors it finds itself, progress, summaries, hints) and by the commands
//! that print a server's refusal ([`Language::status_message`]). Data (tables, CSV, JSON) is
//! not translated: its columns are the API's names.

use std::sync::OnceLock;

use crate::lang::Language;

/// The flags every command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Globals {
    /// The language of messages: `en` (English, the default) or `vi` (Vietnamese, vi-VN). The
    /// CLI's own errors, progress, summaries and hints follow it, a server's refusal is printed
    /// in it too (its `google.rpc.LocalizedMessage`, or the error catalogue's message), and
    /// `audit report` writes the report in it (Vietnamese unless `en` is asked). Data (tables,
    /// CSV, JSON) is not translated.
    #[arg(long = "lang", global = true, env = "VNPOP_LANG", value_name = "LANG")]
    pub language: Option<Language>,
}

static LANGUAGE: OnceLock<Option<Language>> = OnceLock::new();

impl Globals {
    /// Makes these settings the process's (the first call wins).
    pub fn apply(&self) {
        let _ = LANGUAGE.set(self.language);
    }
}

/// The language the CLI writes its messages in (English unless `--lang` says otherwise).
pub(crate) fn language() -> Language {
    asked().unwrap_or_default()
}

/// The language `--lang` (or `VNPOP_LANG`) asks for, if any: what has a default of its own (the
/// audit report, Vietnamese) follows it only when asked.
pub(crate) fn asked() -> Option<Language> {
    LANGUAGE.get().copied().flatten()
}
