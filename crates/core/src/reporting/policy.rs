//! [`ReportPolicy`]: what the agency directory lets one agency report (districts, communes,
//! province, how late, load tests), and [`ReportPolicy::check`], which applies it to an event and
//! says where its dossier was received ([`Receiving`]).

use std::time::Duration;

use super::{
    check_fields, Refusal, DEFAULT_BACKDATE_LIMIT, MAX_AHEAD, MAX_COMMUNE_CHARS, MAX_DISTRICT_CHARS,
};
use crate::domain::{
    geography::{self, CommuneCode, CurrentProvince},
    vietnam,
};
use crate::proto::{self, reported_event::Kind};

/// The districts an agency receives dossiers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Districts {
    /// Any district: simulation and QA agencies only.
    Any,
    /// These, as the directory spells them.
    Only(Vec<String>),
}

/// The commune-level units an agency receives dossiers at since 1 July 2025.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Communes {
    /// Any commune of the agency's province, or none (a province-level unit); any in the country
    /// when the agency has no province (simulation and QA agencies).
    Any,
    /// These (a report may leave the commune out when there is exactly one).
    Only(Vec<CommuneCode>),
}

/// Where a reported event's dossier was received, as the log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiving {
    /// The district as the directory spells it; empty when the report names none after the reform.
    pub district: String,
    /// The commune-level unit (dossiers received since 1 July 2025).
    pub commune: Option<CommuneCode>,
    /// The receiving unit's province as its code stood then: one of the 63 old codes for a
    /// district, one of the 34 current ones (which are old codes too) for a commune or a
    /// province-level unit; `None` when the district's province is not known.
    pub province: Option<u16>,
}

/// The start of 1 July 2025 in Vietnam, Unix ms: dossiers received from then on are received at
/// a commune or a province, no longer at a district.
pub fn reform_ms() -> i64 {
    vietnam::midnight_ms(geography::reform_date())
}

/// What the agency directory lets one agency report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPolicy {
    /// A report naming another district is refused.
    pub districts: Districts,
    /// The agency's current province (one of the 34), if the directory names one: commune names
    /// are looked for there, and its former districts mapped with it.
    pub province: Option<u16>,
    /// The communes it receives dossiers at since the reform; a report naming another is refused.
    pub communes: Communes,
    /// How long after it happened an event may still be reported; `None`: no limit.
    pub backdate_limit: Option<Duration>,
    /// Whether it may mark its calls and reports `load_test`.
    pub load_test: bool,
}

impl Default for ReportPolicy {
    /// An agency with no district: it may report no dossier.
    fn default() -> Self {
        ReportPolicy {
            districts: Districts::Only(Vec::new()),
            province: None,
            communes: Communes::Only(Vec::new()),
            backdate_limit: Some(DEFAULT_BACKDATE_LIMIT),
            load_test: false,
        }
    }
}

impl ReportPolicy {
    /// Checks `event` as received at `received_at_ms` (Unix ms) against every rule, and returns
    /// where its dossier was received as the log records it: the district as the directory
    /// spells it (an empty district is the agency's own when it has exactly one), and since the
    /// reform the commune (an empty commune is the agency's own when it has exactly one).
    pub fn check(
        &self,
        event: &proto::ReportedEvent,
        received_at_ms: i64,
    ) -> Result<Receiving, Refusal> {
        check_fields(event)?;
        if event.load_test && !self.load_test {
            return Err(Refusal::LoadTestNotAllowed);
        }
        self.check_time(event.occurred_at_ms, received_at_ms)?;
        let (district, commune) = (event.district.trim(), event.commune.trim());
        // A verification takes place where its dossier was received: one made today for a
        // dossier received before the reform names the dossier's district and no commune.
        let of_older_dossier = matches!(event.kind, Some(Kind::Verification(_)))
            && commune.is_empty()
            && !district.is_empty();
        if event.occurred_at_ms >= reform_ms() && !of_older_dossier {
            return self.after_reform(district, commune);
        }
        if !commune.is_empty() {
            return Err(Refusal::Invalid {
                field: "commune",
                message: "communes name where dossiers are received since 1 July 2025; before, \
                          the district does"
                    .into(),
            });
        }
        let district = self.district(district)?;
        Ok(Receiving {
            district: district.to_owned(),
            commune: None,
            province: self.district_province(district),
        })
    }

    /// The agency's own unit on the day `at_ms` (Unix ms), as the log records a call it makes
    /// then: since the reform its commune (when it lists exactly one) and province, beside its
    /// former district; `None` before the reform (the district alone names it) or when its
    /// entry does not say (several communes, a district the geography cannot place).
    pub fn own_unit(&self, at_ms: i64) -> Option<Receiving> {
        if at_ms < reform_ms() {
            return None;
        }
        self.after_reform("", "").ok()
    }

    /// Where a dossier received since the reform was received: see the documentation of
    /// [`crate::reporting`].
    fn after_reform(&self, district: &str, commune: &str) -> Result<Receiving, Refusal> {
        let commune = match commune {
            "" => match &self.communes {
                Communes::Only(list) if list.len() == 1 => Some(list[0]),
                _ => None,
            },
            named => Some(self.commune(named)?),
        };
        // The agency's former district, kept for trends: the one named (it must be listed),
        // else its only one.
        let former = match (district, &self.districts) {
            ("", Districts::Only(list)) if list.len() == 1 => list[0].as_str(),
            ("", _) => "",
            (named, _) => self.district(named)?,
        };
        let receiving = |commune: Option<CommuneCode>, province| {
            Ok(Receiving {
                district: former.to_owned(),
                commune,
                province,
            })
        };
        if let Some(commune) = commune {
            return receiving(Some(commune), Some(commune.commune().province));
        }
        match &self.communes {
            // It lists several communes: the report must say which.
            Communes::Only(list) if !list.is_empty() => Err(Refusal::Missing { field: "commune" }),
            // A province-level unit, or an agency free to name any.
            Communes::Any if former.is_empty() => receiving(None, self.province),
            _ if former.is_empty() => Err(Refusal::Missing { field: "commune" }),
            // A former district alone: placed through the geography.
            communes => match self.district_province(former) {
                Some(old) => receiving(None, Some(old)),
                None if *communes == Communes::Any && self.province.is_some() => {
                    receiving(None, self.province)
                }
                None if self.districts == Districts::Any => receiving(None, None),
                None => Err(Refusal::DistrictAbolished {
                    district: former.to_owned(),
                }),
            },
        }
    }

    /// The old province of one of the agency's districts, found with its current province when
    /// the directory names one (district names repeat across provinces).
    fn district_province(&self, district: &str) -> Option<u16> {
        if district.is_empty() {
            return None;
        }
        let within = self.province.and_then(CurrentProvince::by_code);
        geography::district_province(district, within).map(|p| p.get())
    }

    /// The commune `named` names (code, "NAME, PROVINCE", or a name in the agency's province or
    /// among its communes), if the agency receives dossiers there.
    fn commune(&self, named: &str) -> Result<CommuneCode, Refusal> {
        let within = self.province.and_then(CurrentProvince::by_code);
        let listed = match &self.communes {
            Communes::Only(list) => list.as_slice(),
            Communes::Any => &[],
        };
        let code = geography::commune(named, within, listed).map_err(|problem| {
            Refusal::CommuneUnknown {
                commune: named.chars().take(MAX_COMMUNE_CHARS).collect(),
                problem: problem.to_string(),
            }
        })?;
        let served = match &self.communes {
            Communes::Any => within.is_none_or(|p| p.code == code.commune().province),
            Communes::Only(list) => list.contains(&code),
        };
        if served {
            return Ok(code);
        }
        Err(Refusal::CommuneNotServed {
            commune: code.label(),
            served: match (&self.communes, within) {
                (Communes::Any, Some(p)) => format!("any in {}", p.full_name),
                (Communes::Only(list), _) if !list.is_empty() => list
                    .iter()
                    .map(|c| c.label())
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => "none".to_owned(),
            },
        })
    }

    fn check_time(&self, occurred_at_ms: i64, received_at_ms: i64) -> Result<(), Refusal> {
        let ahead_ms = occurred_at_ms.saturating_sub(received_at_ms);
        if ahead_ms > MAX_AHEAD.as_millis() as i64 {
            return Err(Refusal::InFuture { ahead_ms });
        }
        if let Some(limit) = self.backdate_limit {
            let late_ms = received_at_ms.saturating_sub(occurred_at_ms);
            let limit_ms = i64::try_from(limit.as_millis()).unwrap_or(i64::MAX);
            if late_ms > limit_ms {
                return Err(Refusal::TooLate { late_ms, limit_ms });
            }
        }
        Ok(())
    }

    /// `reported` as the directory spells it, compared ignoring case, spacing and diacritics.
    fn district<'a>(&'a self, reported: &'a str) -> Result<&'a str, Refusal> {
        let listed = match &self.districts {
            Districts::Any => return Ok(reported),
            Districts::Only(listed) => listed,
        };
        if reported.is_empty() {
            return match listed.as_slice() {
                [only] => Ok(only),
                _ => Err(Refusal::Missing { field: "district" }),
            };
        }
        // Spelt as listed (what agency software sends every call) before folding anything.
        if let Some(exact) = listed.iter().find(|d| *d == reported) {
            return Ok(exact);
        }
        let folded = crate::domain::matching::fold(reported);
        listed
            .iter()
            .find(|d| crate::domain::matching::fold(d) == folded)
            .map(String::as_str)
            .ok_or_else(|| Refusal::DistrictNotServed {
                district: reported.chars().take(MAX_DISTRICT_CHARS).collect(),
                served: if listed.is_empty() {
                    "none".to_owned()
                } else {
                    listed.join(", ")
                },
            })
    }

    /// The policy the server's directory holds for the caller, as `WhoAmI` tells it.
    pub fn from_who_am_i(me: &proto::WhoAmIResponse) -> Self {
        ReportPolicy {
            districts: if me.any_district {
                Districts::Any
            } else {
                Districts::Only(me.report_districts.clone())
            },
            province: me.report_province.parse().ok(),
            communes: if me.any_commune {
                Communes::Any
            } else {
                Communes::Only(
                    me.report_communes
                        .iter()
                        .filter_map(|c| c.parse().ok().and_then(CommuneCode::new))
                        .collect(),
                )
            },
            backdate_limit: me.backdate_limit_seconds.map(Duration::from_secs),
            load_test: me.load_test_allowed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        reason::Reason,
        reporting::{MAX_ID_CHARS, MAX_PURPOSE_CHARS},
    };

    const NOW: i64 = 1_790_000_000_000;
    const DAY: i64 = 86_400_000;

    fn dossier(district: &str, at: i64) -> proto::ReportedEvent {
        proto::ReportedEvent {
            event_id: "e-1".into(),
            dossier_id: "D1".into(),
            district: district.into(),
            officer_id: "cb01".into(),
            occurred_at_ms: at,
            load_test: false,
            commune: String::new(),
            kind: Some(Kind::Dossier(proto::DossierReceived {
                procedure_code: "1.004227".into(),
                channel: "desk".into(),
            })),
        }
    }

    fn desk() -> ReportPolicy {
        ReportPolicy {
            districts: Districts::Only(vec!["Quận Ba Đình".into()]),
            ..ReportPolicy::default()
        }
    }

    #[test]
    fn districts_come_from_the_directory() {
        let policy = desk();
        let district = |event| policy.check(&event, NOW).map(|r| r.district);
        assert_eq!(
            district(dossier("Quận Ba Đình", NOW)).unwrap(),
            "Quận Ba Đình"
        );
        assert_eq!(
            district(dossier("quan ba  dinh", NOW)).unwrap(),
            "Quận Ba Đình"
        );
        assert_eq!(district(dossier("", NOW)).unwrap(), "Quận Ba Đình");
        let refused = policy.check(&dossier("Quận Tây Hồ", NOW), NOW).unwrap_err();
        assert!(
            matches!(refused, Refusal::DistrictNotServed { .. }),
            "{refused}"
        );
        assert_eq!(refused.field(), "district");
        let any = ReportPolicy {
            districts: Districts::Any,
            ..desk()
        };
        assert_eq!(
            any.check(&dossier("Quận Tây Hồ", NOW), NOW)
                .unwrap()
                .district,
            "Quận Tây Hồ"
        );
    }

    #[test]
    fn late_and_future_reports_are_refused() {
        let policy = desk();
        assert!(policy.check(&dossier("", NOW - 7 * DAY), NOW).is_ok());
        let late = policy.check(&dossier("", NOW - 30 * DAY), NOW).unwrap_err();
        assert_eq!(
            late,
            Refusal::TooLate {
                late_ms: 30 * DAY,
                limit_ms: 7 * DAY
            }
        );
        assert!(late.to_string().contains("30.0 days"), "{late}");
        assert!(policy.check(&dossier("", NOW + 60_000), NOW).is_ok());
        let ahead = policy
            .check(&dossier("", NOW + 6 * 60_000), NOW)
            .unwrap_err();
        assert!(matches!(ahead, Refusal::InFuture { .. }), "{ahead}");
        let unlimited = ReportPolicy {
            backdate_limit: None,
            ..desk()
        };
        assert!(unlimited.check(&dossier("", i64::MIN), NOW).is_ok());
        assert!(policy.check(&dossier("", i64::MAX), NOW).is_err());
        assert!(policy.check(&dossier("", i64::MIN), NOW).is_err());
    }

    #[test]
    fn load_tests_are_a_permission() {
        let mut event = dossier("", NOW);
        event.load_test = true;
        assert_eq!(desk().check(&event, NOW), Err(Refusal::LoadTestNotAllowed));
        let allowed = ReportPolicy {
            load_test: true,
            ..desk()
        };
        assert!(allowed.check(&event, NOW).is_ok());
    }

    #[test]
    fn every_string_is_bounded_and_named() {
        let mut event = dossier("", NOW);
        event.officer_id = "o".repeat(MAX_ID_CHARS + 1);
        let refused = check_fields(&event).unwrap_err();
        assert_eq!(refused.field(), "officer_id");
        assert!(matches!(
            refused,
            Refusal::TooLong {
                len: 129,
                max: 128,
                ..
            }
        ));
        // Characters, not bytes: 128 Vietnamese letters pass.
        event.officer_id = "Đ".repeat(MAX_ID_CHARS);
        assert!(check_fields(&event).is_ok());
        event.kind = Some(Kind::Verification(proto::VerificationMade {
            rpc: "LookupByCccd".into(),
            outcome: "found".into(),
            purpose: "p".repeat(MAX_PURPOSE_CHARS + 1),
            cccd_number: String::new(),
        }));
        assert_eq!(
            check_fields(&event).unwrap_err().field(),
            "verification.purpose"
        );
        event.kind = None;
        assert_eq!(check_fields(&event).unwrap_err().field(), "kind");
    }

    #[test]
    fn an_agencys_own_unit_is_its_commune_and_province_since_the_reform() {
        let phu_tho = geography::current_province("Phú Thọ").unwrap();
        let mai_chau = geography::commune("Xã Mai Châu", Some(phu_tho), &[]).unwrap();
        let commune_desk = ReportPolicy {
            districts: Districts::Only(vec!["Huyện Mai Châu".into()]),
            province: Some(phu_tho.code),
            communes: Communes::Only(vec![mai_chau]),
            ..ReportPolicy::default()
        };
        assert_eq!(
            commune_desk.own_unit(reform_ms() - 1),
            None,
            "the district then"
        );
        assert_eq!(
            commune_desk.own_unit(reform_ms()),
            Some(Receiving {
                district: "Huyện Mai Châu".into(),
                commune: Some(mai_chau),
                province: Some(phu_tho.code),
            })
        );
        // A pre-reform desk (its district only) is placed through its district's old province.
        let district_desk = ReportPolicy {
            districts: Districts::Only(vec!["Huyện Mai Châu".into()]),
            ..ReportPolicy::default()
        };
        assert_eq!(
            district_desk.own_unit(reform_ms()),
            Some(Receiving {
                district: "Huyện Mai Châu".into(),
                commune: None,
                province: Some(17),
            })
        );
    }

    #[test]
    fn since_the_reform_dossiers_are_received_at_communes() {
        let phu_tho = geography::current_province("Phú Thọ").unwrap();
        let mai_chau = geography::commune("Xã Mai Châu", Some(phu_tho), &[]).unwrap();
        let policy = ReportPolicy {
            districts: Districts::Only(vec!["Huyện Mai Châu".into()]),
            province: Some(phu_tho.code),
            communes: Communes::Only(vec![mai_chau]),
            ..ReportPolicy::default()
        };
        let after = reform_ms();
        let event = |district: &str, commune: &str, at: i64| {
            let mut event = dossier(district, at);
            event.commune = commune.into();
            event
        };
        let at = |district: &str, commune: &str, at: i64| {
            policy.check(&event(district, commune, at), after)
        };
        // Named by name, by code, or left out (the agency's only commune).
        for commune in ["Xã Mai Châu", "xa mai chau", "05200", ""] {
            assert_eq!(
                at("", commune, after).unwrap(),
                Receiving {
                    district: "Huyện Mai Châu".into(),
                    commune: Some(mai_chau),
                    province: Some(25),
                },
                "{commune}"
            );
        }
        // Its former district is kept beside the commune, for trends.
        assert_eq!(
            at("huyen mai chau", "", after).unwrap().district,
            "Huyện Mai Châu"
        );
        // Before the reform: the district, with the province of the day (Hòa Bình).
        assert_eq!(
            at("", "", after - 1).unwrap(),
            Receiving {
                district: "Huyện Mai Châu".into(),
                commune: None,
                province: Some(17),
            }
        );
        assert_eq!(
            at("", "Xã Mai Châu", after - 1).unwrap_err().field(),
            "commune"
        );
        let unknown = at("", "Xã Không Có", after).unwrap_err();
        assert_eq!(
            (unknown.reason(), unknown.field()),
            (Reason::CommuneUnknown, "commune")
        );
        // A lookup made since the reform for a dossier received before it names the dossier's
        // district, even where the agency now receives at several communes.
        let tan_lac = geography::commune("Xã Tân Lạc", Some(phu_tho), &[]).unwrap();
        let two = ReportPolicy {
            communes: Communes::Only(vec![mai_chau, tan_lac]),
            ..policy.clone()
        };
        let mut lookup = event("Huyện Mai Châu", "", after + DAY);
        lookup.kind = Some(Kind::Verification(proto::VerificationMade {
            rpc: "LookupByCccd".into(),
            outcome: "found".into(),
            purpose: "cư trú".into(),
            cccd_number: String::new(),
        }));
        assert_eq!(
            two.check(&lookup, after + DAY).unwrap(),
            Receiving {
                district: "Huyện Mai Châu".into(),
                commune: None,
                province: Some(17),
            }
        );
        // A dossier received since then must still say at which of them.
        assert_eq!(
            two.check(&event("Huyện Mai Châu", "", after), after)
                .unwrap_err()
                .field(),
            "commune"
        );
        let other = at("", "Xã Tân Lạc", after).unwrap_err();
        assert_eq!(other.reason(), "COMMUNE_NOT_SERVED");
        assert!(other.to_string().contains("Xã Tân Lạc, Phú Thọ"), "{other}");
        assert_eq!(
            at("Huyện Tân Lạc", "", after).unwrap_err().reason(),
            "DISTRICT_NOT_SERVED"
        );

        // An agency with only a former district: mapped to its province, or refused.
        let legacy = ReportPolicy {
            districts: Districts::Only(vec!["Quận Ba Đình".into()]),
            ..ReportPolicy::default()
        };
        assert_eq!(
            legacy.check(&event("", "", after), after).unwrap(),
            Receiving {
                district: "Quận Ba Đình".into(),
                commune: None,
                province: Some(1),
            }
        );
        let nowhere = ReportPolicy {
            districts: Districts::Only(vec!["Quận Mới".into()]),
            ..ReportPolicy::default()
        };
        let refused = nowhere.check(&event("", "", after), after).unwrap_err();
        assert_eq!(
            (refused.reason(), refused.field()),
            (Reason::DistrictAbolished, "district")
        );
        assert!(refused.to_string().contains("1 July 2025"), "{refused}");

        // A province-level unit: any commune of its province, or none.
        let province = ReportPolicy {
            province: Some(25),
            communes: Communes::Any,
            ..ReportPolicy::default()
        };
        assert_eq!(
            province
                .check(&event("", "", after), after)
                .unwrap()
                .province,
            Some(25)
        );
        assert_eq!(
            province
                .check(&event("", "Xã Tân Lạc", after), after)
                .unwrap()
                .commune
                .map(|c| c.commune().name),
            Some("Xã Tân Lạc")
        );
        assert_eq!(
            province
                .check(&event("", "00070", after), after)
                .unwrap_err()
                .reason(),
            "COMMUNE_NOT_SERVED"
        );
    }
}
