//! Service requests: filing a grievance, and reading what the caller may
//! see.

use super::services::{no_service, service, service_by_code, Service, RESPONDENTS, URGENCIES};
use super::*;
use crate::app::lists::Cursor;
use crate::app::public::PublicGrievance;
use lianxi_domain::deadline::{Deadline, PausedDeadline};

/// Keys of the spec that are accepted and dropped unread: location
/// coordinates and ids Lianxi has no use for, device and account ids of
/// other systems, and contact details (personal data is only ever stored
/// sealed, through the person registry).
const IGNORED: [&str; 11] = [
    "jurisdiction_id",
    "lat",
    "long",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "media_url",
];

/// What a POST carries that Lianxi uses. Contact fields never get here.
#[derive(Debug, Default)]
struct NewRequest {
    service_code: Option<String>,
    description: Option<String>,
    address_string: Option<String>,
    respondent: Option<String>,
    urgency: Option<String>,
    building: Option<String>,
    unit: Option<String>,
    common_area: Option<String>,
}

impl NewRequest {
    /// Sorts the body's pairs; blank values count as absent (forms send
    /// empty fields). Unknown keys and repeated keys are refused.
    fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(NewRequest, Option<ApiKey>), Open311Error> {
        let mut request = NewRequest::default();
        let mut api_key = None;
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in pairs {
            if IGNORED.contains(&key.as_str()) {
                continue;
            }
            let slot = match key.as_str() {
                "api_key" => {
                    if api_key.replace(ApiKey(value)).is_some() {
                        return Err(Open311Error::bad_request("api_key", "is given twice"));
                    }
                    continue;
                }
                "service_code" => &mut request.service_code,
                "description" => &mut request.description,
                "address_string" => &mut request.address_string,
                "attribute[respondent]" => &mut request.respondent,
                "attribute[urgency]" => &mut request.urgency,
                "attribute[building]" => &mut request.building,
                "attribute[unit]" => &mut request.unit,
                "attribute[common_area]" => &mut request.common_area,
                _ => {
                    let name: String = key.chars().take(64).collect();
                    return Err(Open311Error::bad_request(
                        &name,
                        "is not a parameter of this service",
                    ));
                }
            };
            if seen.contains(&key) {
                return Err(Open311Error::bad_request(&key, "is given twice"));
            }
            seen.push(key);
            if !value.trim().is_empty() {
                *slot = Some(value);
            }
        }
        Ok((request, api_key))
    }
}

/// The pairs of a JSON object body: the spec's keys, with attributes either
/// as `"attribute[code]"` keys or as an `"attribute"` object.
fn json_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>, Open311Error> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(Open311Error::new(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object of the request's parameters",
        ));
    };
    let mut pairs = Vec::new();
    for (key, value) in object {
        match value {
            Value::Object(attributes) if key == "attribute" => {
                for (code, value) in attributes {
                    let key = format!("attribute[{code}]");
                    if let Some(value) = scalar(&key, value)? {
                        pairs.push((key, value));
                    }
                }
            }
            value => {
                if let Some(value) = scalar(&key, value)? {
                    pairs.push((key, value));
                }
            }
        }
    }
    Ok(pairs)
}

/// A JSON value as a parameter's text: numbers (lat, long) and booleans as
/// written, `null` as absent.
fn scalar(key: &str, value: Value) -> Result<Option<String>, Open311Error> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => {
            let name: String = key.chars().take(64).collect();
            Err(Open311Error::bad_request(&name, "must be a single value"))
        }
    }
}

/// The body's pairs, form-encoded or JSON; anything else is a 415.
async fn body_pairs(
    request: Request,
    state: &AppState,
) -> Result<Vec<(String, String)>, Open311Error> {
    let mime = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let form = mime == "application/x-www-form-urlencoded";
    let json =
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"));
    if !form && !json {
        return Err(Open311Error::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/x-www-form-urlencoded or application/json",
        ));
    }
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Open311Error::from(ApiError::payload_too_large())
            } else {
                Open311Error::new(StatusCode::BAD_REQUEST, rejection.body_text())
            }
        })?;
    if form {
        Ok(form_urlencoded::parse(&bytes).into_owned().collect())
    } else {
        json_pairs(&bytes)
    }
}

/// A list attribute's value, or its default when absent.
fn choice<T: Copy>(
    fields: &mut Fields,
    field: &str,
    value: Option<&str>,
    options: &[(&str, &str, T)],
    default: T,
) -> Option<T> {
    let Some(value) = value else {
        return Some(default);
    };
    let found = options
        .iter()
        .find(|(key, _, _)| *key == value.trim())
        .map(|(_, _, v)| *v);
    if found.is_none() {
        let keys: Vec<&str> = options.iter().map(|(k, _, _)| *k).collect();
        fields.0.push(FieldProblem {
            field: field.to_owned(),
            reason: format!("must be one of {}", keys.join(", ")),
        });
    }
    found
}

/// Building and unit from the attributes; the common area from its
/// attribute, or else (without a building) from `address_string`.
fn location(fields: &mut Fields, request: &NewRequest) -> Option<Location> {
    let building = fields.optional(
        "attribute[building]",
        request.building.as_deref(),
        Label::parse,
    );
    let unit = fields.optional("attribute[unit]", request.unit.as_deref(), Label::parse);
    let (area_field, area) = match (&request.common_area, &request.building) {
        (Some(area), _) => ("attribute[common_area]", Some(area)),
        (None, None) => ("address_string", request.address_string.as_ref()),
        (None, Some(_)) => ("attribute[common_area]", None),
    };
    let common_area = fields.optional(area_field, area.map(String::as_str), Label::parse);
    let (building, unit, common_area) = (building?, unit?, common_area?);
    if building.is_none() && common_area.is_none() {
        fields.0.push(FieldProblem {
            field: "address_string".into(),
            reason: "is required unless attribute[building] or attribute[common_area] is given"
                .into(),
        });
        return None;
    }
    fields.check(
        "attribute[unit]",
        Location::new(building, unit, common_area),
    )
}

/// The first line of the description, at most 120 characters, or the
/// service's name when there is no description.
fn title_for(description: &Description, service: &Service) -> Result<Title, ValueError> {
    let first_line: String = description
        .as_str()
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(Title::MAX_CHARS)
        .collect();
    if first_line.trim().is_empty() {
        Title::parse(service.name)
    } else {
        Title::parse(&first_line)
    }
}

/// The answer to a created request.
#[derive(Debug, Serialize)]
struct Created {
    service_request_id: Uuid,
    /// The request exists at once: its token is its id
    /// (`GET tokens/{token}` answers it).
    token: Uuid,
    service_notice: Option<String>,
    /// Lianxi has no accounts of other systems.
    account_id: Option<String>,
}

/// Query of `POST requests.json`: only `api_key` (and the unused
/// `jurisdiction_id`) may come in the URL.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateQuery {
    #[serde(rename = "jurisdiction_id")]
    _jurisdiction_id: Option<String>,
    api_key: Option<ApiKey>,
}

/// Create a service request: file a grievance in the caller's xiaoqu with
/// the same domain command as `POST /api/v1/grievances`.
pub(super) async fn create(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    ClientAddress(client): ClientAddress,
    query: Result<ApiQuery<CreateQuery>, ApiError>,
    request: Request,
) -> Result<Response, Open311Error> {
    let ApiQuery(query) = query?;
    let headers = request.headers().clone();
    let suffix = super::suffix_of(request.uri().path());
    let pairs = body_pairs(request, &state).await?;
    let (body, body_key) = NewRequest::from_pairs(pairs)?;
    let caller = authenticate(
        &state,
        &headers,
        body_key.as_ref().or(query.api_key.as_ref()),
    )
    .await?;
    let Scope::Xiaoqu(_) = caller.0.scope else {
        return Err(ApiError::forbidden("filing needs an account that belongs to a xiaoqu").into());
    };
    let Some(code) = body.service_code.as_deref() else {
        return Err(Open311Error::bad_request("service_code", "is required"));
    };
    let service = service_by_code(code.trim()).ok_or_else(no_service)?;

    let mut fields = Fields::default();
    let description = fields.check(
        "description",
        Description::parse(body.description.as_deref().unwrap_or_default()),
    );
    let respondent = choice(
        &mut fields,
        "attribute[respondent]",
        body.respondent.as_deref(),
        &RESPONDENTS,
        Respondent::Unknown,
    );
    let urgency = choice(
        &mut fields,
        "attribute[urgency]",
        body.urgency.as_deref(),
        &URGENCIES,
        Urgency::Normal,
    );
    let location = location(&mut fields, &body);
    let title = description
        .as_ref()
        .and_then(|d| fields.check("description", title_for(d, &service)));
    fields.finish()?;
    let new = NewGrievance {
        category: service.category,
        title: checked(title)?,
        description: checked(description)?,
        location: checked(location)?,
        respondent: checked(respondent)?,
        urgency: checked(urgency)?,
        channel: Channel::Web,
        attachments: Vec::new(),
    };
    let (id, committed) = grievances::file(&state, &caller, &request_id.0, client, new).await?;
    let filed = committed.state.state().ok_or_else(ApiError::internal)?;
    let answer = vec![Created {
        service_request_id: id.0,
        token: id.0,
        service_notice: deadline_notice(filed.deadline, filed.paused),
        account_id: None,
    }];
    let mut response = (StatusCode::CREATED, Json(answer)).into_response();
    let location = HeaderValue::from_str(&format!("/open311/v2/requests/{id}{suffix}"))
        .map_err(|_| ApiError::internal())?;
    response.headers_mut().insert(LOCATION, location);
    Ok(response)
}

/// A grievance as the spec's service request.
#[derive(Debug, Serialize)]
pub(super) struct ServiceRequest {
    service_request_id: Uuid,
    /// `open` or `closed`; the detail is in `status_notes`.
    status: &'static str,
    status_notes: String,
    service_name: &'static str,
    service_code: &'static str,
    /// The filer's text; `null` in the public read.
    description: Option<String>,
    agency_responsible: &'static str,
    service_notice: Option<String>,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: Option<String>,
    address: String,
    address_id: Option<String>,
    zipcode: Option<String>,
    lat: Option<f64>,
    long: Option<f64>,
    media_url: Option<String>,
}

/// Whether a status is `closed` to Open311: nothing more will be done
/// unless the filer reopens it. An exhaustive match, so that a new status
/// needs a decision here.
fn is_closed(status: Status) -> bool {
    match status {
        Status::Resolved
        | Status::Closed
        | Status::Rejected
        | Status::Withdrawn
        | Status::Merged
        | Status::Referred => true,
        Status::Filed
        | Status::Accepted
        | Status::Triaged
        | Status::Assigned
        | Status::Responded
        | Status::InMediation => false,
    }
}

const OPEN_STATUSES: [Status; 6] = [
    Status::Filed,
    Status::Accepted,
    Status::Triaged,
    Status::Assigned,
    Status::Responded,
    Status::InMediation,
];

const CLOSED_STATUSES: [Status; 6] = [
    Status::Resolved,
    Status::Closed,
    Status::Rejected,
    Status::Withdrawn,
    Status::Merged,
    Status::Referred,
];

fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::Xiaoqu => "xiaoqu",
        Tier::Community => "community",
        Tier::Street => "street",
        Tier::District => "district",
    }
}

/// Who handles the grievance now: its current tier.
fn agency(tier: Tier) -> &'static str {
    match tier {
        Tier::Xiaoqu => "小区党支部 (party branch)",
        Tier::Community => "社区",
        Tier::Street => "街道",
        Tier::District => "区职能部门",
    }
}

/// ISO 8601 with an offset, to the second, as the spec's examples.
fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// What happens next: the running deadline's stage and due time.
fn deadline_notice(deadline: Option<Deadline>, paused: Option<PausedDeadline>) -> Option<String> {
    if let Some(deadline) = deadline {
        let step = match deadline.stage {
            Stage::Accept => "to be accepted",
            Stage::Respond => "to be answered by the responsible party",
            Stage::Resolve => "to be resolved",
            Stage::Convene => "to be put before an urgent joint meeting",
        };
        return Some(format!("{step} by {}", time(deadline.due_at)));
    }
    paused.map(|p| format!("the {} deadline is paused", p.stage.as_str()))
}

/// Building and unit, or the common area (both when both are given).
fn address(location: &Location) -> String {
    [&location.building, &location.unit, &location.common_area]
        .into_iter()
        .flatten()
        .map(Label::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

fn representation(g: &GrievanceState) -> ServiceRequest {
    ServiceRequest {
        description: Some(g.description.as_str().to_owned()),
        address: address(&g.location),
        ..request(
            g.id,
            g.category,
            (g.status, g.tier),
            (g.filed_at, g.last_changed_at),
            (g.deadline, g.paused),
        )
    }
}

/// A grievance of the public read: what `app::public` lets anyone know,
/// with the xiaoqu's name as the address and no description.
fn public_representation(g: &PublicGrievance) -> ServiceRequest {
    ServiceRequest {
        address: g.xiaoqu_name.clone(),
        ..request(
            g.id,
            g.category,
            (g.status, g.tier),
            (g.filed_at, g.last_changed_at),
            (g.deadline, g.paused),
        )
    }
}

/// The fields every representation shares: service, status, agency,
/// times and the deadline's notice; no description and no address.
fn request(
    id: GrievanceId,
    category: Category,
    (status, tier): (Status, Tier),
    (filed_at, last_changed_at): (DateTime<Utc>, DateTime<Utc>),
    (deadline, paused): (Option<Deadline>, Option<PausedDeadline>),
) -> ServiceRequest {
    let service = service(category);
    ServiceRequest {
        service_request_id: id.0,
        status: if is_closed(status) { "closed" } else { "open" },
        status_notes: format!("{}; tier {}", status.as_str(), tier_name(tier)),
        service_name: service.name,
        service_code: service.code,
        description: None,
        agency_responsible: agency(tier),
        service_notice: deadline_notice(deadline, paused),
        requested_datetime: time(filed_at),
        updated_datetime: time(last_changed_at),
        expected_datetime: deadline.map(|d| time(d.due_at)),
        address: String::new(),
        address_id: None,
        zipcode: None,
        lat: None,
        long: None,
        media_url: None,
    }
}

/// One request as the reader may see it; `404` when it may not.
async fn shown(
    state: &AppState,
    reader: &Reader,
    id: GrievanceId,
) -> Result<ServiceRequest, ApiError> {
    match reader {
        Reader::Caller(caller) => visible(state, caller, id)
            .await
            .map(|(g, _)| representation(&g)),
        Reader::Public(public) => public::one(state, *public, id)
            .await
            .map(|g| public_representation(&g)),
    }
}

/// A request of a list, with its place in the order (filing time, id).
type Listed = ((DateTime<Utc>, Uuid), ServiceRequest);

/// One page of the reader's list matching `filter`, and where the next
/// begins.
async fn page_of(
    state: &AppState,
    reader: &Reader,
    filter: &ListFilter,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<Listed>, Option<Cursor>), ApiError> {
    match reader {
        Reader::Caller(caller) => {
            let (found, _) =
                crate::app::lists::list(state, caller, filter, cursor, limit, None).await?;
            let items = found
                .items
                .iter()
                .map(|(g, _)| ((g.filed_at, g.id.0), representation(g)))
                .collect();
            Ok((items, found.next))
        }
        Reader::Public(public) => {
            let found = public::list(state, *public, filter, cursor, limit).await?;
            let items = found
                .items
                .iter()
                .map(|g| ((g.filed_at, g.id.0), public_representation(g)))
                .collect();
            Ok((items, found.next))
        }
    }
}

/// Filters of `GET requests.json`, as the spec names them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestsQuery {
    /// Comma-separated ids; overrides every other filter (as the spec says).
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    /// `open`, `closed`, or both comma-separated, in any case.
    status: Option<String>,
    /// Which page of `page_size` requests, from 1 (the common extension).
    page: Option<String>,
    /// Requests per page, 1–200 (default 200).
    page_size: Option<String>,
    #[serde(rename = "jurisdiction_id")]
    _jurisdiction_id: Option<String>,
    api_key: Option<ApiKey>,
}

/// The zone a date without a time is read in: the service's residents'
/// (China Standard Time).
const LOCAL_OFFSET_SECONDS: i32 = 8 * 3600;

/// An ISO 8601 date and time with offset, or a date alone: the start of
/// that day, or with `end_of_day` its last instant, in China Standard Time.
fn parse_time(name: &str, value: &str, end_of_day: bool) -> Result<DateTime<Utc>, Open311Error> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    let refused = || {
        Open311Error::bad_request(
            name,
            "must be an ISO 8601 date (2026-03-01) or date and time with offset \
             (2026-03-01T00:00:00+08:00)",
        )
    };
    let day = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| refused())?;
    let zone = chrono::FixedOffset::east_opt(LOCAL_OFFSET_SECONDS).ok_or_else(refused)?;
    let start = day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(zone).single())
        .ok_or_else(refused)?
        .with_timezone(&Utc);
    Ok(if end_of_day {
        start + TimeDelta::days(1) - TimeDelta::microseconds(1)
    } else {
        start
    })
}

/// A whole number of the query in `range`, told by its name when not.
fn whole_number(
    name: &str,
    value: Option<&str>,
    range: std::ops::RangeInclusive<usize>,
) -> Result<Option<usize>, Open311Error> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    value
        .parse::<usize>()
        .ok()
        .filter(|n| range.contains(n))
        .map(Some)
        .ok_or_else(|| {
            Open311Error::bad_request(
                name,
                &format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// The statuses asked for: `None` for all.
fn statuses(value: Option<&str>) -> Result<Option<Vec<Status>>, Open311Error> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let (mut open, mut closed) = (false, false);
    for part in value.split(',') {
        match part.trim().to_ascii_lowercase().as_str() {
            "open" => open = true,
            "closed" => closed = true,
            _ => {
                return Err(Open311Error::bad_request(
                    "status",
                    "must be open, closed or both",
                ))
            }
        }
    }
    Ok(match (open, closed) {
        (true, false) => Some(OPEN_STATUSES.to_vec()),
        (false, true) => Some(CLOSED_STATUSES.to_vec()),
        _ => None,
    })
}

/// How deep paging reaches: the newest this many requests (older ones are
/// found by narrowing the dates).
const DEEPEST: usize = 1000;

fn request_ids(value: &str) -> Result<Vec<GrievanceId>, Open311Error> {
    let mut ids = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = GrievanceId::parse(part).map_err(|_| {
            Open311Error::bad_request("service_request_id", "must be grievance ids (UUIDs)")
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_REQUESTS {
        return Err(Open311Error::bad_request(
            "service_request_id",
            "at most 200 ids at once",
        ));
    }
    Ok(ids)
}

/// The caller's visible requests, newest filed first, at most 200.
pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<ApiQuery<RequestsQuery>, ApiError>,
) -> Result<Json<Vec<ServiceRequest>>, Open311Error> {
    let ApiQuery(query) = query?;
    let reader = reader(&state, &headers, query.api_key.as_ref()).await?;
    if let Some(ids) = query.service_request_id.as_deref() {
        let mut found = Vec::new();
        for id in request_ids(ids)? {
            match shown(&state, &reader, id).await {
                Ok(request) => found.push(request),
                Err(e) if e.status_code() == StatusCode::NOT_FOUND => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(Json(found));
    }
    let category = query
        .service_code
        .as_deref()
        .map(|code| {
            service_by_code(code.trim())
                .map(|s| s.code.to_owned())
                .ok_or_else(|| Open311Error::bad_request("service_code", "no such service"))
        })
        .transpose()?;
    let filed_from = query
        .start_date
        .as_deref()
        .map(|t| parse_time("start_date", t, false))
        .transpose()?;
    // Inclusive, as the spec's "latest datetime to include"; the read model
    // keeps microseconds.
    let filed_to = query
        .end_date
        .as_deref()
        .map(|t| parse_time("end_date", t, true).map(|t| t + TimeDelta::microseconds(1)))
        .transpose()?;
    let page_size = whole_number("page_size", query.page_size.as_deref(), 1..=MAX_REQUESTS)?
        .unwrap_or(MAX_REQUESTS);
    let page = whole_number("page", query.page.as_deref(), 1..=DEEPEST)?.unwrap_or(1);
    let skip = (page - 1) * page_size;
    if skip + page_size > DEEPEST {
        return Err(Open311Error::bad_request(
            "page",
            "too deep: narrow the list with start_date and end_date",
        ));
    }
    let statuses = statuses(query.status.as_deref())?;
    let filters: Vec<ListFilter> = match statuses {
        None => vec![None],
        Some(statuses) => statuses.into_iter().map(Some).collect(),
    }
    .into_iter()
    .map(|status: Option<Status>| ListFilter {
        status: status.map(|s| s.as_str().to_owned()),
        category: category.clone(),
        filed_from,
        filed_to,
        ..ListFilter::default()
    })
    .collect();
    // Newest filed first, across the statuses asked for: each list gives
    // its first `skip + page_size`, which holds every one of the page.
    let wanted = (skip + page_size) as i64;
    let mut items = Vec::new();
    for filter in &filters {
        let mut cursor = None;
        let mut taken = 0i64;
        while taken < wanted {
            let limit = (wanted - taken).min(MAX_REQUESTS as i64);
            let (found, next) = page_of(&state, &reader, filter, cursor, limit).await?;
            taken += found.len() as i64;
            items.extend(found);
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    items.sort_by_key(|(order, _)| std::cmp::Reverse(*order));
    Ok(Json(
        items
            .into_iter()
            .skip(skip)
            .take(page_size)
            .map(|(_, request)| request)
            .collect(),
    ))
}

/// A service request's id from its token: the request exists as soon as
/// it is filed, so the token is the id itself.
#[derive(Debug, Serialize)]
pub(super) struct TokenAnswer {
    service_request_id: Uuid,
    token: Uuid,
}

/// `GET tokens/{token}`: the request a token stands for, as a list of one;
/// 404 when the caller may not see it.
pub(super) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<ApiQuery<OneQuery>, ApiError>,
) -> Result<Json<Vec<TokenAnswer>>, Open311Error> {
    let ApiQuery(query) = query?;
    let reader = reader(&state, &headers, query.api_key.as_ref()).await?;
    let not_found = || Open311Error::new(StatusCode::NOT_FOUND, "token_id: no such token");
    let Path(segment) = path.map_err(|_| not_found())?;
    let id = GrievanceId::parse(without_format(&segment)).map_err(|_| not_found())?;
    match shown(&state, &reader, id).await {
        Ok(_) => Ok(Json(vec![TokenAnswer {
            service_request_id: id.0,
            token: id.0,
        }])),
        Err(e) if e.status_code() == StatusCode::NOT_FOUND => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

/// Query of `GET requests/{id}.json`: the spec's optional parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OneQuery {
    #[serde(rename = "jurisdiction_id")]
    _jurisdiction_id: Option<String>,
    api_key: Option<ApiKey>,
}

/// One request, as a list of one (as the spec answers it); 404 when the
/// caller may not see it.
pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<ApiQuery<OneQuery>, ApiError>,
) -> Result<Json<Vec<ServiceRequest>>, Open311Error> {
    let ApiQuery(query) = query?;
    let reader = reader(&state, &headers, query.api_key.as_ref()).await?;
    let not_found = || {
        Open311Error::new(
            StatusCode::NOT_FOUND,
            "service_request_id: no such request visible to the caller",
        )
    };
    let Path(segment) = path.map_err(|_| not_found())?;
    let id = GrievanceId::parse(without_format(&segment)).map_err(|_| not_found())?;
    match shown(&state, &reader, id).await {
        Ok(request) => Ok(Json(vec![request])),
        Err(e) if e.status_code() == StatusCode::NOT_FOUND => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_and_closed_statuses_split_every_status() {
        assert!(OPEN_STATUSES.iter().all(|s| !is_closed(*s)));
        assert!(CLOSED_STATUSES.iter().all(|s| is_closed(*s)));
        assert!(!is_closed(Status::InMediation));
        assert!(is_closed(Status::Referred));
    }

    #[test]
    fn contact_fields_are_dropped_and_unknown_or_repeated_keys_refused() {
        let pairs = [
            ("service_code", "repairs"),
            ("first_name", "某人"),
            ("phone", "10000000000"),
            ("email", "someone@example.org"),
            ("attribute[respondent]", "property_company"),
            ("media_url", ""),
            ("address_string", "  "),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let (request, key) = NewRequest::from_pairs(pairs).expect("accepted");
        assert!(key.is_none());
        assert_eq!(request.service_code.as_deref(), Some("repairs"));
        assert_eq!(request.respondent.as_deref(), Some("property_company"));
        assert_eq!(request.address_string, None, "blank is absent");
        let printed = format!("{request:?}");
        assert!(!printed.contains("某人") && !printed.contains("10000000000"));

        let unknown = NewRequest::from_pairs([("colour".to_owned(), "red".to_owned())])
            .expect_err("unknown key");
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        assert!(unknown.errors[0].description.starts_with("colour:"));
        let twice = NewRequest::from_pairs(
            [("service_code", "noise"), ("service_code", "fees")]
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .expect_err("repeated key");
        assert!(twice.errors[0].description.starts_with("service_code:"));
    }

    #[test]
    fn json_bodies_take_attributes_as_keys_or_as_an_object() {
        let pairs = json_pairs(
            r#"{"service_code": "noise", "lat": 31.46, "attribute": {"urgency": "urgent"},
                 "attribute[building]": "3栋", "email": null}"#
                .as_bytes(),
        )
        .expect("a JSON object");
        assert!(pairs.contains(&("lat".into(), "31.46".into())));
        assert!(pairs.contains(&("attribute[urgency]".into(), "urgent".into())));
        assert!(pairs.contains(&("attribute[building]".into(), "3栋".into())));
        assert!(!pairs.iter().any(|(k, _)| k == "email"));
        assert!(json_pairs(b"[1]").is_err());
        assert!(json_pairs(br#"{"description": ["a"]}"#).is_err());
    }

    #[test]
    fn the_title_is_the_first_line_cut_to_120_characters_or_the_service_name() {
        let repairs = service(Category::Repairs);
        let long = format!("{}\n第二行", "电".repeat(130));
        let d = Description::parse(&long).expect("description");
        let title = title_for(&d, &repairs).expect("title");
        assert_eq!(title.as_str().chars().count(), 120);
        assert!(!title.as_str().contains('行'));
        let empty = Description::parse("").expect("empty description");
        assert_eq!(title_for(&empty, &repairs).expect("title").as_str(), "维修");
        let tabbed = Description::parse("水管\t漏水\r\n详情").expect("description");
        assert_eq!(
            title_for(&tabbed, &repairs).expect("title").as_str(),
            "水管 漏水"
        );
    }
}
