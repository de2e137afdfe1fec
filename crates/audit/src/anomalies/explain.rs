//! Each finding in one Vietnamese sentence, as an inspector reads it: who, what, when, against
//! which threshold. Numbers and times are written the Vietnamese way (`1.234`, `2,5`,
//! `07:30 01/01/2024`, Vietnam's time).

use super::{Anomaly, AnomalyKind, Thresholds};
use crate::domain::{calendar, procedure, vietnam};

/// `1234` → `1.234`.
fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// `2.5` → `2,5` (one decimal).
fn decimal(x: f64) -> String {
    format!("{x:.1}").replace('.', ",")
}

/// A moment in Vietnam's time: `07:30 01/01/2024`.
fn moment(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|at| {
            at.with_timezone(&vietnam::offset())
                .format("%H:%M %d/%m/%Y")
                .to_string()
        })
        .unwrap_or_default()
}

/// `HH:MM` of a moment.
fn time(ms: i64) -> String {
    moment(ms).split(' ').next().unwrap_or_default().to_owned()
}

/// The day of a moment, with what it is when offices are closed: `Chủ nhật 07/01/2024`,
/// `01/01/2024 (Tết Dương lịch)`.
fn day_off(ms: i64) -> String {
    use chrono::Datelike;
    let Some(local) =
        chrono::DateTime::from_timestamp_millis(ms).map(|at| at.with_timezone(&vietnam::offset()))
    else {
        return String::new();
    };
    let date = local.format("%d/%m/%Y").to_string();
    match calendar::special(local.date_naive()) {
        Some(calendar::Special::Off(name)) => format!("ngày {date} ({name})"),
        _ => match local.weekday() {
            chrono::Weekday::Sat => format!("thứ Bảy {date}"),
            chrono::Weekday::Sun => format!("Chủ nhật {date}"),
            _ => format!("ngày {date}"),
        },
    }
}

/// The officer and where: `cán bộ huyen-mai-chau-cb01 (Huyện Mai Châu)`.
fn who(a: &Anomaly) -> String {
    if a.district.is_empty() {
        format!("cán bộ {}", a.officer_id)
    } else {
        format!("cán bộ {} ({})", a.officer_id, a.district)
    }
}

/// The finding in one sentence.
pub fn explain(a: &Anomaly, limits: &Thresholds) -> String {
    let Some(kind) = a.kind else {
        return String::new();
    };
    let sentence = match kind {
        AnomalyKind::OffHours => format!(
            "{} tra cứu {} lượt ngoài giờ làm việc ngày {}, từ {} đến {} (giờ làm việc 07:30–11:30 và 13:30–17:00, thêm {} phút).",
            who(a),
            int(a.count),
            moment(a.first_at_ms).split(' ').nth(1).unwrap_or_default(),
            time(a.first_at_ms),
            time(a.last_at_ms),
            limits.grace_minutes
        ),
        AnomalyKind::DayOff => format!(
            "{} tra cứu {} lượt vào {}, ngày cơ quan nghỉ, từ {} đến {}.",
            who(a),
            int(a.count),
            day_off(a.first_at_ms),
            time(a.first_at_ms),
            time(a.last_at_ms)
        ),
        AnomalyKind::DossierManyCitizens => format!(
            "Hồ sơ {} do {} tiếp nhận được dùng để tra cứu {} công dân khác nhau (ngưỡng {}), từ {} đến {}.",
            a.dossier_id,
            who(a),
            int(a.count),
            int(a.reference as u64),
            moment(a.first_at_ms),
            moment(a.last_at_ms)
        ),
        AnomalyKind::CitizenManyOfficers => format!(
            "Công dân có mã băm {} được {} cán bộ khác nhau tra cứu trong vòng {} giờ (ngưỡng {}), từ {} đến {}.",
            a.subject,
            int(a.count),
            decimal(f64::from(limits.citizen_window_minutes) / 60.0).trim_end_matches(",0"),
            int(a.reference as u64),
            moment(a.first_at_ms),
            moment(a.last_at_ms)
        ),
        AnomalyKind::PeerOutlier => format!(
            "{} tra cứu bình quân {} lượt cho mỗi hồ sơ thủ tục {} ({} hồ sơ), trong khi trung vị của các cán bộ cùng thủ tục là {} (điểm z vững {}, ngưỡng {}).",
            who(a),
            decimal(a.measure),
            procedure::labelled(&a.procedure),
            int(a.count),
            decimal(a.reference),
            decimal(a.score),
            decimal(limits.peer_z)
        ),
        AnomalyKind::Burst => format!(
            "{} tra cứu {} lượt trong một phút lúc {}, gấp {} lần mức thường lệ của cán bộ này ({} lượt mỗi phút có tra cứu).",
            who(a),
            int(a.count),
            moment(a.first_at_ms),
            decimal(a.score),
            decimal(a.reference)
        ),
        AnomalyKind::NoLookup => format!(
            "{} tiếp nhận {} hồ sơ thuộc thủ tục cần tra cứu mà không tra cứu lần nào ({}% trong {} hồ sơ như vậy của cán bộ này), từ {} đến {}.",
            who(a),
            int(a.count),
            decimal(a.measure * 100.0),
            int(a.reference as u64),
            moment(a.first_at_ms),
            moment(a.last_at_ms)
        ),
    };
    // Upper-case the first letter ("cán bộ …" opens most sentences).
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => sentence,
    }
}
