//! One writer per data directory: [`DataDirLock`], the exclusive lock `vnpop serve` holds on its
//! data directory for as long as its audit log is open.
//!
//! The lock is `flock(LOCK_EX | LOCK_NB)` on [`LOCK_FILE`] in the directory, which holds the
//! holder's PID (for the message a second server gets). The kernel releases it when the file is
//! closed — when the process exits, however it exits — so a `kill -9` never leaves a stale lock
//! behind: the file may remain, the lock does not. The audit log's writer
//! ([`AuditLog::open`](super::AuditLog::open), [`AuditLog::open_fleet`](super::AuditLog::open_fleet))
//! takes a `DataDirLock` by value, so the writer cannot be opened without holding it. Readers
//! (`vnpop audit … --db`, `audit verify --data-dir`) do not take it.

use std::{
    fs::{File, OpenOptions},
    io::{Read as _, Seek as _, SeekFrom, Write as _},
    os::fd::AsRawFd as _,
    path::{Path, PathBuf},
};

use super::AuditError;

/// The lock file in the data directory; it holds the PID of the process holding the lock.
pub const LOCK_FILE: &str = "serve.lock";

/// An exclusive lock on a data directory, held until it is dropped (or the process dies).
#[derive(Debug)]
pub struct DataDirLock {
    dir: PathBuf,
    /// The open lock file: closing it releases the lock.
    _file: File,
}

impl DataDirLock {
    /// Takes the lock on `dir` (created if missing) without waiting; refused with
    /// [`AuditError::DataDirLocked`], naming the directory and the holder's PID, when another
    /// process (or another handle in this one) holds it.
    pub fn acquire(dir: &Path) -> Result<Self, AuditError> {
        let failed = |e: std::io::Error| AuditError::DataDir {
            dir: dir.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(failed)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE))
            .map_err(failed)?;
        // SAFETY: flock on a descriptor this function owns; no memory is passed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::WouldBlock {
                return Err(failed(error));
            }
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let pid = holder.trim().parse::<u32>().ok();
            return Err(AuditError::DataDirLocked {
                dir: dir.display().to_string(),
                pid: pid.map_or_else(|| "unknown".into(), |p| p.to_string()),
            });
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .map_err(failed)?;
        Ok(DataDirLock {
            dir: dir.to_owned(),
            _file: file,
        })
    }

    /// The locked data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = DataDirLock::acquire(&data).unwrap();
        assert_eq!(first.dir(), data);
        let pid = std::process::id().to_string();
        assert_eq!(
            std::fs::read_to_string(data.join(LOCK_FILE))
                .unwrap()
                .trim(),
            pid
        );
        // flock is per open file: a second handle, even in this process, is refused.
        match DataDirLock::acquire(&data) {
            Err(error @ AuditError::DataDirLocked { .. }) => {
                let message = error.to_string();
                assert!(message.contains(&data.display().to_string()), "{message}");
                assert!(message.contains(&pid), "{message}");
            }
            other => panic!("{other:?}"),
        }
        drop(first);
        let again = DataDirLock::acquire(&data).unwrap();
        assert_eq!(
            std::fs::read_to_string(data.join(LOCK_FILE))
                .unwrap()
                .trim(),
            pid
        );
        drop(again);
    }
}
