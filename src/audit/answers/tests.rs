//! Chunks cut by rows and by bytes, and a streamed ratio that makes the unary answer.

use super::{lookup_ratio, lookup_ratio_chunks, ratio_query, Chunker, CHUNK_ROWS};
use crate::{
    audit::{log::DATABASE_FILE, query::AuditReader, AuditLog},
    proto,
};

/// 2024-01-01T00:00:00+07:00.
const JAN_1_2024: i64 = 1_704_042_000_000;

#[test]
fn chunks_are_cut_by_rows_and_by_bytes() {
    let mut chunker = Chunker::new();
    let small = proto::RatioRow::default;
    let cut: Vec<usize> = (0..2_500)
        .filter_map(|_| chunker.push(small()).map(|c| c.len()))
        .collect();
    assert_eq!(cut, [CHUNK_ROWS, CHUNK_ROWS]);
    assert_eq!(chunker.take().len(), 500);
    // Rows of 100 KB each: cut by size long before their number.
    let big = || proto::RatioRow {
        group: vec!["x".repeat(100_000)],
        ..Default::default()
    };
    let first = (1..).find_map(|n| chunker.push(big()).map(|c| (n, c.len())));
    assert_eq!(first, Some((11, 11)));
}

#[test]
fn a_ratio_of_many_groups_streams_in_chunks_that_make_the_unary_answer() {
    let dir = tempfile::tempdir().unwrap();
    let log =
        AuditLog::open(crate::audit::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
    let events = (0..2_500)
        .map(|n| {
            crate::audit::event::test_dossier(
                &format!("D-{n}"),
                "Quận Ba Đình",
                &format!("officer-{n:04}"),
                JAN_1_2024 + n,
            )
        })
        .collect();
    log.append_blocking(events).unwrap();
    drop(log);
    let reader = AuditReader::open(&dir.path().join(DATABASE_FILE)).unwrap();
    let request = proto::LookupRatioRequest {
        from: "2024-01-01".into(),
        to: "2024-01-31".into(),
        group_by: vec!["officer".into()],
        ..Default::default()
    };
    let query = ratio_query(request.clone()).unwrap();
    let mut chunks = Vec::new();
    lookup_ratio_chunks(&reader, &query, &mut |chunk| {
        chunks.push(chunk);
        true
    })
    .unwrap();
    assert!(chunks[0].summary.is_some() && chunks[0].rows.is_empty());
    let sizes: Vec<usize> = chunks[1..].iter().map(|c| c.rows.len()).collect();
    assert_eq!(sizes, [1_000, 1_000, 500]);
    assert!(chunks[1..].iter().all(|c| c.summary.is_none()));
    let rows: Vec<proto::RatioRow> = chunks.into_iter().flat_map(|c| c.rows).collect();
    assert_eq!(rows[0].group, ["officer-0000"]);
    assert_eq!(rows, lookup_ratio(&reader, request).unwrap().rows);

    // A receiver that goes away stops the answer: nothing more is made for it.
    let mut sent = 0;
    lookup_ratio_chunks(&reader, &query, &mut |_| {
        sent += 1;
        sent < 2
    })
    .unwrap();
    assert_eq!(sent, 2);
}
