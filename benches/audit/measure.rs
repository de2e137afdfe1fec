//! What the benchmark reads of the machine: this process's resident memory, the files of a
//! directory and their sizes.

use std::path::Path;

/// This process's `field` (`VmRSS`, `VmHWM`) from `/proc/self/status`, bytes.
pub(crate) fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status
                .lines()
                .find(|l| l.split(':').next() == Some(field))?
                .to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .unwrap_or(0)
        * 1024
}

/// Every file under `dir`, with its size, by name.
pub(crate) fn files(dir: &Path) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .expect("data directory")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let metadata = entry.metadata().ok()?;
            let size = if metadata.is_dir() {
                files(&entry.path()).iter().map(|(_, size)| size).sum()
            } else {
                metadata.len()
            };
            Some((entry.file_name().to_string_lossy().into_owned(), size))
        })
        .collect();
    files.sort();
    files
}

pub(crate) fn gib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 30)
}
