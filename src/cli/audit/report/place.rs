//! Where a report's dossiers were received: the provinces as they stood then and as they are
//! today ([`place`]).

use super::{
    super::{
        regroup::{Regroup, PROVINCE_THEN},
        source::Backend,
    },
    Period, Place, ReportError,
};
use crate::{
    domain::{collation, geography::current_province},
    proto,
};

/// The provinces the period's dossiers were received in, then and now: the current province of
/// each (`province`) and the province of the day (`province-then`, made from the districts).
pub(super) async fn place(
    backend: &Backend,
    period: &Period,
    agency: &str,
    district: Option<&str>,
) -> Result<Place, ReportError> {
    let asked = [
        PROVINCE_THEN.to_owned(),
        "province".to_owned(),
        "district".to_owned(),
    ];
    let regroup = Regroup::new(&asked);
    let (from, to) = period.text();
    let answer = backend
        .ratio(proto::LookupRatioRequest {
            from,
            to,
            group_by: regroup.sent().to_vec(),
            agency_id: agency.to_owned(),
            include_load_test: false,
        })
        .await?;
    let mut place = Place::default();
    for row in regroup.apply(answer.rows, |d| d.to_owned()) {
        if district.is_some_and(|d| row.group[2] != d) {
            continue;
        }
        let (then, now) = (&row.group[0], &row.group[1]);
        let now = current_province(now).map(|p| p.full_name.to_owned());
        let then = match (&now, then.is_empty()) {
            (_, true) => None,
            (Some(full), false) if full.ends_with(then.as_str()) => Some(full.clone()),
            (_, false) => Some(old_full_name(then)),
        };
        for (list, name) in [(&mut place.then, then), (&mut place.now, now)] {
            if let Some(name) = name {
                if !list.contains(&name) {
                    list.push(name);
                }
            }
        }
    }
    collation::sort_by_name(&mut place.then, |p| p);
    collation::sort_by_name(&mut place.now, |p| p);
    Ok(place)
}

/// "Tỉnh Hòa Bình", "Thành phố Hà Nội": a province before 1 July 2025 with its type.
fn old_full_name(name: &str) -> String {
    const CITIES: [&str; 5] = ["Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ"];
    if CITIES.contains(&name) {
        format!("Thành phố {name}")
    } else {
        format!("Tỉnh {name}")
    }
}
