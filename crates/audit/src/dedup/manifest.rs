//! [`Manifest`]: the stored ids' checkpoint — which runs hold every key of the log's first
//! `covers` records (with the few keys kept exactly), and the Merkle root of those records, so
//! that a server restarted on a large log reads back only the records after them.
//!
//! The file `manifest` in the runs' directory, every integer little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `VNPIDMAN` |
//! | 4 | format version, 1 |
//! | 8 | `covers`: the records whose keys the checkpoint holds (the log's first) |
//! | 32 | the Merkle root of those records: a log that is not the one checkpointed (another, or restored from an older backup and written again) does not have it |
//! | 4 | runs, then for each: its number (8; the file `{number:08}.run`) and its entries (8) |
//! | 4 | keys kept exactly, then for each: its length (4), its bytes, its position (8) |
//! | 4 | CRC-32 of everything before it |
//!
//! It is written under a temporary name, synced and renamed (and the directory synced), after
//! the runs it names are synced: a crash leaves the last manifest whole, and its runs with it
//! (`tiers` deletes a run only once no manifest names it).

use std::{
    fs::File,
    io::{self, Write},
    path::Path,
};

use crate::merkle::Hash;

/// The file's first bytes.
const MAGIC: &[u8; 8] = b"VNPIDMAN";
/// The file format's version.
const VERSION: u32 = 1;
/// The manifest's file name, in the runs' directory.
pub(super) const MANIFEST_FILE: &str = "manifest";

/// Where the log stood when the stored ids were checkpointed: see the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Mark {
    /// The log's first records, whose keys the checkpoint holds.
    pub(super) covers: u64,
    /// Their Merkle root.
    pub(super) root: Hash,
    /// The keys kept exactly (`StoredIds::exact`) whose position is before `covers`.
    pub(super) exact: Vec<(Box<[u8]>, u64)>,
}

/// The stored ids' checkpoint: see the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Manifest {
    /// Where the log stood.
    pub(super) mark: Mark,
    /// The runs (number, entries), oldest first.
    pub(super) runs: Vec<(u64, u64)>,
}

/// Reads a little-endian integer of `N` bytes off the front of `input`.
fn take<const N: usize>(input: &mut &[u8]) -> io::Result<[u8; N]> {
    if input.len() < N {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the manifest is truncated",
        ));
    }
    let (bytes, rest) = input.split_at(N);
    *input = rest;
    Ok(bytes.try_into().expect("N bytes"))
}

impl Manifest {
    /// The manifest's bytes.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.mark.covers.to_le_bytes());
        out.extend_from_slice(&self.mark.root);
        out.extend_from_slice(&(self.runs.len() as u32).to_le_bytes());
        for (number, entries) in &self.runs {
            out.extend_from_slice(&number.to_le_bytes());
            out.extend_from_slice(&entries.to_le_bytes());
        }
        out.extend_from_slice(&(self.mark.exact.len() as u32).to_le_bytes());
        for (key, position) in &self.mark.exact {
            out.extend_from_slice(&(key.len() as u32).to_le_bytes());
            out.extend_from_slice(key);
            out.extend_from_slice(&position.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// The manifest `bytes` hold, checked.
    fn decode(bytes: &[u8]) -> io::Result<Self> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        let Some(body_len) = bytes.len().checked_sub(4) else {
            return Err(invalid("the manifest is truncated"));
        };
        let (body, crc) = bytes.split_at(body_len);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Err(invalid("the manifest's checksum does not match"));
        }
        let mut input = body;
        if &take::<8>(&mut input)? != MAGIC {
            return Err(invalid("not a manifest of stored ids"));
        }
        if u32::from_le_bytes(take(&mut input)?) != VERSION {
            return Err(invalid("a manifest of another format version"));
        }
        let covers = u64::from_le_bytes(take(&mut input)?);
        let root = take::<32>(&mut input)?;
        let runs = (0..u32::from_le_bytes(take(&mut input)?))
            .map(|_| {
                Ok((
                    u64::from_le_bytes(take(&mut input)?),
                    u64::from_le_bytes(take(&mut input)?),
                ))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let mut exact = Vec::new();
        for _ in 0..u32::from_le_bytes(take(&mut input)?) {
            let len = u32::from_le_bytes(take(&mut input)?) as usize;
            if input.len() < len {
                return Err(invalid("the manifest is truncated"));
            }
            let (key, rest) = input.split_at(len);
            input = rest;
            exact.push((key.into(), u64::from_le_bytes(take(&mut input)?)));
        }
        if !input.is_empty() {
            return Err(invalid("the manifest has bytes after its end"));
        }
        Ok(Self {
            mark: Mark {
                covers,
                root,
                exact,
            },
            runs,
        })
    }

    /// Reads the manifest in `dir`: `None` if there is none.
    pub(super) fn read(dir: &Path) -> io::Result<Option<Self>> {
        match std::fs::read(dir.join(MANIFEST_FILE)) {
            Ok(bytes) => Self::decode(&bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the manifest into `dir`, durably, in place of the one there.
    pub(super) fn write(&self, dir: &Path) -> io::Result<()> {
        let temporary = dir.join(format!("{MANIFEST_FILE}.tmp"));
        let mut file = File::create(&temporary)?;
        file.write_all(&self.encode())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, dir.join(MANIFEST_FILE))?;
        File::open(dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            mark: Mark {
                covers: 4_194_304,
                root: [7; 32],
                exact: vec![(b"\x00key".to_vec().into(), 12), (Box::from(&b""[..]), 9)],
            },
            runs: vec![(3, 2_097_152), (9, 1_048_576)],
        }
    }

    #[test]
    fn a_manifest_reads_back_as_written_and_any_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), None);
        manifest().write(dir.path()).unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), Some(manifest()));
        let bytes = manifest().encode();
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x20;
            assert!(Manifest::decode(&damaged).is_err(), "byte {at} flipped");
            assert!(Manifest::decode(&bytes[..at]).is_err(), "cut at {at}");
        }
    }
}
