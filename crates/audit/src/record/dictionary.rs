//! The interned strings of one log: the `strings` table as the records refer to it.

use std::collections::HashMap;

use super::RecordError;

/// Strings longer than this are always written inline (free text rarely repeats).
const INTERN_MAX_LEN: usize = 64;
/// Entries after which the dictionary stops growing and new strings go inline.
const DICTIONARY_LIMIT: usize = 1 << 20;

/// The interned strings of one log: text ↔ small integer. Entries are only ever added; new
/// ones are written to the log's `strings` table in the group commit that first uses them.
#[derive(Debug, Default)]
pub struct Dictionary {
    ids: HashMap<Box<str>, u32>,
    texts: Vec<Box<str>>,
}

impl Dictionary {
    /// A dictionary holding `entries` (id, text), as read from the `strings` table.
    pub(crate) fn from_entries(
        entries: impl IntoIterator<Item = (u64, String)>,
    ) -> Result<Self, RecordError> {
        let mut dictionary = Dictionary::default();
        dictionary.extend(entries)?;
        Ok(dictionary)
    }

    /// Adds `text` as the next entry.
    fn push(&mut self, text: String) {
        let text: Box<str> = text.into();
        self.ids
            .entry(text.clone())
            .or_insert(self.texts.len() as u32);
        self.texts.push(text);
    }

    /// Entries held.
    pub(crate) fn len(&self) -> u64 {
        self.texts.len() as u64
    }

    /// Forgets the entries from `len` on (added by a group whose commit failed).
    pub(crate) fn truncate(&mut self, len: u64) {
        for text in self.texts.drain(len as usize..) {
            self.ids.remove(&text);
        }
    }

    /// Adds entries written by another process since this copy was read.
    pub(crate) fn extend(
        &mut self,
        entries: impl IntoIterator<Item = (u64, String)>,
    ) -> Result<(), RecordError> {
        for (id, text) in entries {
            if id == self.len() {
                self.push(text);
            } else if id > self.len() {
                return Err(RecordError::Invalid("string ids are not contiguous"));
            }
        }
        Ok(())
    }

    /// The id of `text`, adding it (and noting it in `added`) if it is new and worth interning.
    #[inline]
    pub(super) fn intern(&mut self, text: &str, added: &mut Vec<(u64, String)>) -> Option<u32> {
        if let Some(&id) = self.ids.get(text) {
            return Some(id);
        }
        if text.len() > INTERN_MAX_LEN || self.texts.len() >= DICTIONARY_LIMIT {
            return None;
        }
        let id = self.texts.len() as u32;
        added.push((u64::from(id), text.to_owned()));
        self.push(text.to_owned());
        Some(id)
    }

    /// The text of entry `id`.
    #[inline]
    pub(super) fn text(&self, id: u64) -> Result<&str, RecordError> {
        self.texts
            .get(id as usize)
            .map(|t| &**t)
            .ok_or(RecordError::UnknownString(id))
    }
}
