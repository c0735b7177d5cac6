//! The owners' register (业主名册) of a xiaoqu: imported whole from a CSV
//! file by the party branch or the owners' committee, and read by anyone
//! whose scope covers the xiaoqu (areas are not personal data; owners are
//! shown only as how many hold each unit, and whether the caller does).
//!
//! The file: UTF-8 (a leading byte-order mark is fine), a header naming the
//! columns in English or Chinese — `building`/`楼栋`, `entrance`/`单元`
//! (may be empty), `room`/`房号`, `area`/`面积` (square metres, at most two
//! decimals), `owners`/`业主` (the owners' logins, separated by `;`, or
//! `developer`/`开发商` for a unit not yet sold) — then one row per unit.
//! Every row that cannot be registered is reported with its line, column
//! and reason, and the rest are registered.

use std::collections::{BTreeMap, HashMap};

use lianxi_domain::owners_register::{
    OwnersRegister, RegisterAction, RegisterCommand, RegisterRow, RejectedRow, RowProblem,
    UnitAddress,
};
use lianxi_domain::owners_vote::{count, Count, Holder, Matter, Thresholds};
use lianxi_domain::values::{AccountId, Label, UnitId, XiaoquId};
use lianxi_domain::Role;
use uuid::Uuid;

use super::super::auth::Caller;
use super::super::error::ApiError;
use super::super::grievances::{actor, covers};
use super::super::AppState;
use super::{metadata, CountDto, ImportReport, RegisterUnit, RegisterView, RejectedRowDto};
use crate::db::Scope;

/// The largest register file taken: 4 MiB (20,000 rows of a long address).
pub const MOST_FILE_BYTES: usize = 4 * 1024 * 1024;

/// The columns of a register file, by their header names.
const COLUMNS: [(&str, &[&str]); 5] = [
    ("building", &["building", "楼栋", "楼号"]),
    ("entrance", &["entrance", "单元"]),
    ("room", &["room", "房号", "房间号"]),
    ("area", &["area", "面积", "专有面积", "建筑面积"]),
    ("owners", &["owners", "业主"]),
];

/// The xiaoqu of `id` when the caller's scope covers it; 404 otherwise.
async fn xiaoqu(state: &AppState, caller: &Caller, id: &str) -> Result<XiaoquId, ApiError> {
    let id = XiaoquId::parse(id).map_err(|_| ApiError::not_found())?;
    if state
        .db
        .xiaoqu(id)
        .await
        .map_err(ApiError::from_db)?
        .is_some()
        && covers(state, caller, id).await?
    {
        Ok(id)
    } else {
        Err(ApiError::not_found())
    }
}

/// Area in hundredths of a square metre from `89.37`, `89.5` or `89`.
pub fn parse_area(text: &str) -> Result<u64, &'static str> {
    const BAD: &str = "must be square metres, such as 89.37";
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(BAD);
    }
    if fraction.len() > 2 {
        return Err("at most two decimals");
    }
    let whole: u64 = whole.parse().map_err(|_| BAD)?;
    let hundredths: u64 = format!("{fraction:0<2}").parse().map_err(|_| BAD)?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(hundredths))
        .ok_or(BAD)
}

/// The owners named in a cell: logins separated by `;` (or `；`, `、`),
/// or the developer.
fn owner_logins(cell: &str) -> Option<Vec<String>> {
    let cell = cell.trim();
    if cell.eq_ignore_ascii_case("developer") || cell == "开发商" {
        return None;
    }
    Some(
        cell.split([';', '；', '、'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// Reads a register file: the rows it can, and every line it cannot.
async fn read_rows(
    state: &AppState,
    xiaoqu: XiaoquId,
    file: &[u8],
) -> Result<(Vec<RegisterRow>, Vec<RejectedRow>), ApiError> {
    let file = file.strip_prefix("\u{feff}".as_bytes()).unwrap_or(file);
    let text = std::str::from_utf8(file).map_err(|_| {
        ApiError::invalid_field("file", "must be UTF-8 text (save the sheet as CSV UTF-8)")
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ApiError::invalid_field("file", format!("no header line: {e}")))?
        .clone();
    let mut at = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().to_lowercase();
        if let Some((name, _)) = COLUMNS
            .iter()
            .find(|(_, names)| names.contains(&h.as_str()))
        {
            at.insert(*name, i);
        }
    }
    for (name, names) in COLUMNS {
        if name != "entrance" && !at.contains_key(name) {
            return Err(ApiError::invalid_field(
                "file",
                format!("the header names no `{name}` column ({})", names.join(", ")),
            ));
        }
    }
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    let mut accounts: HashMap<String, Option<AccountId>> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as u32);
                rejected.push(unreadable(line, "file", &e.to_string()));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as u32);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |name: &str| at.get(name).and_then(|i| record.get(*i)).unwrap_or("");
        let label =
            |name: &str| Label::parse(cell(name)).map_err(|e| (name.to_owned(), e.to_string()));
        let entrance = match cell("entrance") {
            "" => Ok(None),
            _ => label("entrance").map(Some),
        };
        let parsed = (|| {
            let building = label("building")?;
            let entrance = entrance?;
            let room = label("room")?;
            let area = parse_area(cell("area")).map_err(|r| ("area".to_owned(), r.to_owned()))?;
            Ok::<_, (String, String)>((building, entrance, room, area))
        })();
        let (building, entrance, room, area) = match parsed {
            Ok(p) => p,
            Err((column, reason)) => {
                rejected.push(unreadable(line, &column, &reason));
                continue;
            }
        };
        let holder = match owner_logins(cell("owners")) {
            None => Holder::Developer,
            Some(logins) => {
                let mut owners = Vec::with_capacity(logins.len());
                for login in logins {
                    let account = match accounts.get(&login) {
                        Some(a) => *a,
                        None => {
                            let a = resident_of(state, xiaoqu, &login).await?;
                            accounts.insert(login, a);
                            a
                        }
                    };
                    owners.push(account);
                }
                match owners.into_iter().collect::<Option<Vec<_>>>() {
                    Some(owners) => Holder::Owners(owners),
                    None => {
                        rejected.push(RejectedRow {
                            line,
                            problem: RowProblem::UnknownOwner {
                                column: "owners".into(),
                            },
                        });
                        continue;
                    }
                }
            }
        };
        rows.push(RegisterRow {
            line,
            new_id: UnitId(Uuid::now_v7()),
            address: UnitAddress {
                building,
                entrance,
                room,
            },
            area,
            holder,
        });
    }
    Ok((rows, rejected))
}

fn unreadable(line: u32, column: &str, reason: &str) -> RejectedRow {
    RejectedRow {
        line,
        problem: RowProblem::Unreadable {
            column: column.to_owned(),
            reason: reason.to_owned(),
        },
    }
}

/// The resident of `xiaoqu` who signs in with `login`, if any.
async fn resident_of(
    state: &AppState,
    xiaoqu: XiaoquId,
    login: &str,
) -> Result<Option<AccountId>, ApiError> {
    let hash = state.people.vault().login_hash(login);
    let found = state
        .db
        .login_account(&hash)
        .await
        .map_err(ApiError::from_db)?;
    Ok(found.and_then(|(account, _)| {
        (account.role == Role::Resident && account.scope == Scope::Xiaoqu(xiaoqu))
            .then_some(account.id)
    }))
}

/// The whole register as a vote counts it.
fn totals(register: &OwnersRegister) -> Count {
    count(
        &register.for_vote(),
        &BTreeMap::new(),
        Matter::OtherMajor,
        &Thresholds::default(),
    )
    .register
}

/// Replaces the register of xiaoqu `id` with the rows of `file`.
pub async fn import(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    id: &str,
    file: &[u8],
) -> Result<ImportReport, ApiError> {
    let xiaoqu = xiaoqu(state, caller, id).await?;
    let (rows, unreadable) = read_rows(state, xiaoqu, file).await?;
    let command = RegisterCommand {
        actor: actor(caller),
        xiaoqu,
        action: RegisterAction::ImportRegister {
            rows,
            unreadable,
            in_scope: true,
        },
    };
    let committed = state
        .owners
        .execute(xiaoqu, None, command, &metadata(state, request_id))
        .await?;
    let register = &committed.state;
    let rejected = register
        .state()
        .map(|s| {
            s.rejected
                .iter()
                .map(|r| RejectedRowDto {
                    line: r.line,
                    field: r.problem.column().to_owned(),
                    problem: r.problem.code().to_owned(),
                    reason: r.problem.reason(),
                })
                .collect()
        })
        .unwrap_or_default();
    let whole = totals(register);
    Ok(ImportReport {
        version: committed.version as u64,
        units: register.state().map_or(0, |s| s.units.len() as u64),
        area_m2: whole.area as f64 / 100.0,
        owners: whole.owners,
        rejected,
    })
}

/// The register of xiaoqu `id`.
pub async fn view(state: &AppState, caller: &Caller, id: &str) -> Result<RegisterView, ApiError> {
    let xiaoqu = xiaoqu(state, caller, id).await?;
    let (register, version) = state.owners.load(xiaoqu).await?;
    let units = register
        .state()
        .map(|s| {
            s.units
                .iter()
                .map(|u| RegisterUnit {
                    unit: u.unit.0,
                    building: u.address.building.as_str().to_owned(),
                    entrance: u.address.entrance.as_ref().map(|e| e.as_str().to_owned()),
                    room: u.address.room.as_str().to_owned(),
                    address: u.address.display(),
                    area_m2: u.area as f64 / 100.0,
                    owners: match &u.holder {
                        Holder::Owners(o) => o.len() as u64,
                        Holder::Developer => 0,
                    },
                    developer: u.holder == Holder::Developer,
                    mine: matches!(&u.holder, Holder::Owners(o) if o.contains(&caller.0.id)),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(RegisterView {
        xiaoqu: xiaoqu.0,
        version: version as u64,
        imported_at: register.state().map(|s| s.imported_at),
        totals: CountDto::from(totals(&register)),
        units,
    })
}

/// Each unit's address as written on a ballot, from the register as it
/// stands (a unit keeps its id from one import to the next).
pub async fn addresses(
    state: &AppState,
    xiaoqu: XiaoquId,
) -> Result<HashMap<UnitId, String>, ApiError> {
    let (register, _) = state.owners.load(xiaoqu).await?;
    Ok(register
        .state()
        .map(|s| {
            s.units
                .iter()
                .map(|u| (u.unit, u.address.display()))
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_are_read_in_hundredths_of_a_square_metre() {
        assert_eq!(parse_area("89.37"), Ok(8937));
        assert_eq!(parse_area("89.5"), Ok(8950));
        assert_eq!(parse_area(" 120 "), Ok(12000));
        assert_eq!(parse_area("0"), Ok(0));
        assert!(parse_area("89.375").is_err());
        assert!(parse_area("-3").is_err());
        assert!(parse_area("八十").is_err());
        assert!(parse_area("").is_err());
        assert!(parse_area(".5").is_err());
    }

    #[test]
    fn owners_are_logins_or_the_developer() {
        assert_eq!(owner_logins("developer"), None);
        assert_eq!(owner_logins("开发商"), None);
        assert_eq!(
            owner_logins("13800000001; 13800000002、13800000003"),
            Some(vec![
                "13800000001".to_owned(),
                "13800000002".to_owned(),
                "13800000003".to_owned()
            ])
        );
        assert_eq!(owner_logins(""), Some(vec![]));
    }
}
