//! Filing a grievance (`/file`): the form, its checks in the page's
//! language, and the likely duplicates shown before it is submitted.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use lianxi_domain::values::{Description, Label, Location, Title, ValueError};
use serde::Deserialize;

use super::{i18n, message, render, see_other, Lang, Page, Visit};
use crate::app::attachments;
use crate::app::auth::{Caller, ClientAddress};
use crate::app::dto::{
    AttachmentDto, CategoryDto, ChannelDto, FileGrievanceRequest, LocationDto, RespondentDto,
    UrgencyDto,
};
use crate::app::duplicates::{self, Similar};
use crate::app::grievances;
use crate::app::AppState;
use crate::http::multipart;
use crate::http::request_id::RequestId;

/// What the filing form holds, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct FileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub building: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub common_area: String,
    #[serde(default)]
    pub respondent: String,
    #[serde(default)]
    pub urgency: String,
    /// `1` once the filer has seen the likely duplicates and files anyway.
    #[serde(default)]
    pub confirmed: String,
    /// Photos and documents uploaded with an earlier submission of this
    /// form (shown again after an error), as `sha256:media type:size`.
    #[serde(default)]
    pub uploaded: Vec<String>,
}

impl FileForm {
    /// The form from a multipart body's text fields.
    fn from_fields(form: &multipart::Form) -> FileForm {
        let text = |name: &str| form.field(name).unwrap_or_default().to_owned();
        FileForm {
            csrf: text("csrf"),
            category: text("category"),
            title: text("title"),
            description: text("description"),
            building: text("building"),
            unit: text("unit"),
            common_area: text("common_area"),
            respondent: text("respondent"),
            urgency: text("urgency"),
            confirmed: text("confirmed"),
            uploaded: form
                .fields
                .iter()
                .filter(|(n, _)| n == "uploaded")
                .map(|(_, v)| v.clone())
                .collect(),
        }
    }

    /// The files uploaded so far, as a filing names them.
    fn attachments(&self) -> Vec<AttachmentDto> {
        self.uploaded
            .iter()
            .filter_map(|token| {
                let mut parts = token.splitn(3, ':');
                Some(AttachmentDto {
                    sha256: parts.next()?.to_owned(),
                    media_type: parts.next()?.to_owned(),
                    size: parts.next()?.parse().ok()?,
                })
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "file.html")]
struct FilePage {
    page: Page,
    form: FileForm,
    errors: HashMap<String, String>,
    categories: Vec<&'static str>,
    respondents: Vec<&'static str>,
    similar: Vec<Similar>,
}

impl FilePage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    /// The filer's own open grievance among the likely duplicates: the
    /// one to follow instead of filing the matter twice.
    fn own(&self) -> Option<lianxi_domain::values::GrievanceId> {
        self.similar.iter().filter(|s| s.own).find_map(|s| s.id)
    }
}

const CATEGORIES: [&str; 13] = [
    "property_service",
    "fees",
    "repairs",
    "maintenance_fund",
    "public_revenue",
    "parking",
    "sanitation",
    "safety",
    "noise",
    "renovation",
    "neighbour",
    "owners_committee",
    "other",
];
const RESPONDENTS: [&str; 4] = [
    "property_company",
    "owners_committee",
    "neighbour",
    "unknown",
];

fn file_form_page(
    visit: &Visit,
    status: StatusCode,
    form: FileForm,
    errors: HashMap<String, String>,
) -> Response {
    file_form_with(visit, status, form, errors, Vec::new())
}

fn file_form_with(
    visit: &Visit,
    status: StatusCode,
    form: FileForm,
    errors: HashMap<String, String>,
    similar: Vec<Similar>,
) -> Response {
    let html = FilePage {
        page: visit.page(),
        form,
        errors,
        categories: CATEGORIES.to_vec(),
        respondents: RESPONDENTS.to_vec(),
        similar,
    }
    .render();
    render(visit, status, html)
}

pub(super) async fn file_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let visit = Visit::of(&state, &headers).await;
    if visit.session.is_none() {
        return see_other("/login");
    }
    let form = FileForm {
        category: "repairs".into(),
        respondent: "property_company".into(),
        urgency: "normal".into(),
        ..FileForm::default()
    };
    file_form_page(&visit, StatusCode::OK, form, HashMap::new())
}

/// A value problem in the page's language.
pub(super) fn reason(lang: Lang, e: &ValueError) -> String {
    match e {
        ValueError::Empty => i18n::t(lang, "reason.empty"),
        ValueError::TooLong { max } => {
            i18n::t(lang, "reason.too_long").replace("{max}", &max.to_string())
        }
        ValueError::ControlCharacter => i18n::t(lang, "reason.control"),
        ValueError::BidiControl => i18n::t(lang, "reason.bidi"),
        ValueError::Invalid(_) => i18n::t(lang, "reason.invalid"),
    }
}

/// Checks the form the way the API checks a filing, with the problems in
/// the page's language; the request to file when nothing is wrong.
fn check(lang: Lang, form: &FileForm) -> Result<FileGrievanceRequest, HashMap<String, String>> {
    let mut errors = HashMap::new();
    let mut note = |field: &str, e: ValueError| {
        errors.insert(field.to_owned(), reason(lang, &e));
    };
    let choice = |value: &str| serde_json::Value::String(value.to_owned());
    let category = serde_json::from_value::<CategoryDto>(choice(&form.category));
    if category.is_err() {
        note("category", ValueError::Invalid("category"));
    }
    let respondent = serde_json::from_value::<RespondentDto>(choice(&form.respondent));
    if respondent.is_err() {
        note("respondent", ValueError::Invalid("respondent"));
    }
    let urgency = serde_json::from_value::<UrgencyDto>(choice(&form.urgency));
    if urgency.is_err() {
        note("urgency", ValueError::Invalid("urgency"));
    }
    if let Err(e) = Title::parse(&form.title) {
        note("title", e);
    }
    if let Err(e) = Description::parse(&form.description) {
        note("description", e);
    }
    let optional = |value: &str| {
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_owned())
    };
    let (building, unit, common_area) = (
        optional(&form.building),
        optional(&form.unit),
        optional(&form.common_area),
    );
    let mut labels = Vec::new();
    for (field, value) in [
        ("building", &building),
        ("unit", &unit),
        ("common_area", &common_area),
    ] {
        match value.as_deref().map(Label::parse) {
            Some(Err(e)) => note(field, e),
            Some(Ok(label)) => labels.push(Some(label)),
            None => labels.push(None),
        }
    }
    if let [b, u, c] = labels.as_slice() {
        if let Err(e) = Location::new(b.clone(), u.clone(), c.clone()) {
            errors.insert("location".into(), i18n::t(lang, "reason.location"));
            let _ = e;
        }
    }
    match (category, respondent, urgency) {
        (Ok(category), Ok(respondent), Ok(urgency)) if errors.is_empty() => {
            Ok(FileGrievanceRequest {
                category,
                title: form.title.clone(),
                description: form.description.clone(),
                location: LocationDto {
                    building,
                    unit,
                    common_area,
                },
                respondent,
                urgency,
                channel: ChannelDto::Web,
                attachments: form.attachments(),
            })
        }
        _ => Err(errors),
    }
}

pub(super) async fn file(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    ClientAddress(client): ClientAddress,
    request: axum::extract::Request,
) -> Response {
    let visit = Visit::of(&state, request.headers()).await;
    let body = match multipart::read_either(request).await {
        Ok(body) => body,
        Err(e) => {
            let status = e.status_code();
            return message(&visit, status, "error.title");
        }
    };
    let mut form = FileForm::from_fields(&body);
    let caller = match visit.form_caller(&form.csrf) {
        Ok(caller) => caller,
        Err(answer) => return *answer,
    };
    // Files are stored at once, so that a form shown again (an error, the
    // likely duplicates) keeps them without sending them twice.
    if let Err(errors) = keep_uploads(&state, &caller, visit.lang, &mut form, body.files).await {
        return file_form_page(&visit, StatusCode::UNPROCESSABLE_ENTITY, form, errors);
    }
    let request = match check(visit.lang, &form) {
        Ok(request) => request,
        Err(errors) => {
            return file_form_page(&visit, StatusCode::UNPROCESSABLE_ENTITY, form, errors)
        }
    };
    // Before the first submission goes through, the filer sees what looks
    // like the same matter, already filed in the xiaoqu.
    if form.confirmed != "1" {
        let similar =
            duplicates::likely(&state, &caller, &form.category, &form.title, &form.building).await;
        if !similar.is_empty() {
            let form = FileForm {
                confirmed: "1".to_owned(),
                ..form
            };
            return file_form_with(&visit, StatusCode::OK, form, HashMap::new(), similar);
        }
    }
    let filed = match grievances::parse_filing(&request) {
        Ok(new) => grievances::file(&state, &caller, &request_id.0, client, new).await,
        Err(e) => Err(e),
    };
    match filed {
        // Post/redirect/get: the confirmation, which reloading or going
        // back does not file again.
        Ok((id, _)) => see_other(&format!("/g/{id}/filed")),
        Err(e) => {
            let problem = e.to_problem();
            if problem.status == 403 {
                return message(&visit, StatusCode::FORBIDDEN, "error.not_allowed");
            }
            if problem.status == 429 {
                return message(&visit, StatusCode::TOO_MANY_REQUESTS, "error.rate_limited");
            }
            if problem.status == 422
                && problem
                    .field
                    .as_deref()
                    .is_some_and(|f| f.starts_with("attachments"))
            {
                let errors =
                    HashMap::from([("photos".to_owned(), i18n::t(visit.lang, "reason.file"))]);
                let form = FileForm {
                    uploaded: Vec::new(),
                    ..form
                };
                return file_form_page(&visit, StatusCode::UNPROCESSABLE_ENTITY, form, errors);
            }
            tracing::warn!(status = problem.status, "filing from the web page refused");
            message(
                &visit,
                StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "error.title",
            )
        }
    }
}

/// Stores the files sent with the form and adds them to what it carries;
/// a refused file is an error on the form's photo field.
async fn keep_uploads(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    form: &mut FileForm,
    files: Vec<attachments::Upload>,
) -> Result<(), HashMap<String, String>> {
    if files.is_empty() {
        return Ok(());
    }
    if files.len() + form.uploaded.len() > lianxi_domain::values::Attachment::MAX_COUNT {
        return Err(HashMap::from([(
            "photos".to_owned(),
            i18n::t(lang, "reason.file_count"),
        )]));
    }
    match attachments::store(state, caller, files).await {
        Ok(stored) => {
            form.uploaded.extend(
                stored
                    .iter()
                    .map(|a| format!("{}:{}:{}", a.sha256.as_str(), a.media_type.as_str(), a.size)),
            );
            Ok(())
        }
        Err(e) => {
            tracing::info!(problem = ?e.to_problem().detail, "an upload from the filing page was refused");
            Err(HashMap::from([(
                "photos".to_owned(),
                i18n::t(lang, "reason.file"),
            )]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_is_checked_in_the_page_language_and_keeps_nothing_half_done() {
        let form = FileForm {
            category: "parking".into(),
            title: String::new(),
            respondent: "property_company".into(),
            urgency: "normal".into(),
            ..FileForm::default()
        };
        let zh = check(Lang::Zh, &form).expect_err("no title, no place");
        let en = check(Lang::En, &form).expect_err("no title, no place");
        assert!(
            zh.contains_key("title") && zh.contains_key("location"),
            "{zh:?}"
        );
        assert_ne!(zh.get("title"), en.get("title"));
        let good = FileForm {
            title: "地下车库积水".into(),
            common_area: "地下车库".into(),
            ..form
        };
        let request = check(Lang::Zh, &good).expect("valid");
        assert_eq!(request.location.common_area.as_deref(), Some("地下车库"));
    }
}
