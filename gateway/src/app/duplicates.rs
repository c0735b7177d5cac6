//! Likely duplicates: open grievances of the filer's xiaoqu that look like
//! the one being filed, shown before it is submitted so that one matter is
//! filed once. Scored on the titles' character pairs (Chinese titles have
//! no spaces) and the building.

use chrono::{DateTime, Utc};
use lianxi_domain::values::{AccountId, GrievanceId};
use lianxi_domain::Status;
use lianxi_projections::grievance_list::{self, Audience, ListFilter};

use uuid::Uuid;

use super::auth::Caller;
use super::error::ApiError;
use super::people::PersonalView;
use super::{policy, AppState};
use crate::db::Scope;

/// An open grievance of the filer's xiaoqu that looks like the one being
/// filed: shown before it is submitted, without anyone's personal data.
#[derive(Debug)]
pub struct Similar {
    /// Its id, when the caller may read it (a handler); a resident sees
    /// only that it exists.
    pub id: Option<GrievanceId>,
    pub title: String,
    pub status: Status,
    pub filed_at: DateTime<Utc>,
    /// The caller filed it: a resident who files the same matter twice is
    /// shown their own grievance to follow instead.
    pub own: bool,
    /// How alike (0 to about 1.15): the share of the titles' character pairs
    /// in common, plus 0.15 for the same building.
    pub likeness: f64,
}

/// The title's overlapping character pairs: Chinese titles have no spaces,
/// so two titles about one matter share bigrams such as 电梯 or 停运.
fn bigrams(text: &str) -> std::collections::HashSet<(char, char)> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// How alike two grievances look (0 to 1): the Jaccard index of their
/// titles' bigrams, raised when they name the same building.
pub fn likeness(title: &str, building: &str, other_title: &str, other_building: &str) -> f64 {
    let (a, b) = (bigrams(title), bigrams(other_title));
    let union = a.union(&b).count();
    let shared = a.intersection(&b).count();
    let titles = if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    };
    let same_building = !building.trim().is_empty() && building.trim() == other_building.trim();
    titles + if same_building { 0.15 } else { 0.0 }
}

/// The most a draft is shown: a few, to be read before filing.
pub const FOR_A_DRAFT: usize = 3;
/// The most a handler is shown for a filed grievance: enough to merge a
/// whole building's filings at once.
pub const FOR_A_HANDLER: usize = 100;

/// Up to [`FOR_A_DRAFT`] open grievances of the caller's xiaoqu in
/// `category` that look like the one being filed, most alike first; none
/// for a caller whose scope is not one xiaoqu.
pub async fn likely(
    state: &AppState,
    caller: &Caller,
    category: &str,
    title: &str,
    building: &str,
) -> Vec<Similar> {
    let Scope::Xiaoqu(xiaoqu) = caller.0.scope else {
        return Vec::new();
    };
    let draft = Draft {
        xiaoqu: xiaoqu.0,
        category,
        title,
        building,
    };
    match likely_in(state, caller, &draft, &[], FOR_A_DRAFT).await {
        Ok(found) => found,
        Err(e) => {
            // Suggestions are a courtesy: filing goes on without them.
            tracing::warn!(error = ?e, "likely duplicates could not be read");
            Vec::new()
        }
    }
}

/// The open grievances that look like grievance `id` (which the caller
/// must see), most alike first: up to [`FOR_A_HANDLER`], leaving out the
/// grievance itself and what was merged into it already.
pub async fn likely_for(
    state: &AppState,
    caller: &Caller,
    id: GrievanceId,
) -> Result<Vec<Similar>, ApiError> {
    let (g, _) = super::grievances::visible(state, caller, id).await?;
    let category = serde_json::to_value(g.category)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let building = g
        .location
        .building
        .as_ref()
        .map(|b| b.as_str().to_owned())
        .unwrap_or_default();
    let draft = Draft {
        xiaoqu: g.xiaoqu.0,
        category: &category,
        title: g.title.as_str(),
        building: &building,
    };
    let mut leave_out: Vec<GrievanceId> = g.duplicates.iter().map(|d| d.grievance).collect();
    leave_out.push(g.id);
    likely_in(state, caller, &draft, &leave_out, FOR_A_HANDLER).await
}

/// What a likely duplicate is compared with.
struct Draft<'a> {
    xiaoqu: Uuid,
    category: &'a str,
    title: &'a str,
    building: &'a str,
}

async fn likely_in(
    state: &AppState,
    caller: &Caller,
    draft: &Draft<'_>,
    leave_out: &[GrievanceId],
    limit: usize,
) -> Result<Vec<Similar>, ApiError> {
    let filter = ListFilter {
        xiaoqu: Some(draft.xiaoqu),
        category: Some(draft.category.to_owned()),
        ..ListFilter::default()
    };
    // Every grievance of the xiaoqu is compared, whoever may read it; what
    // is shown of one the caller may not read is its title (names masked),
    // status and filing time.
    let audience = Audience::Xiaoqu(draft.xiaoqu);
    let page = grievance_list::list(&state.db.store(), &audience, &filter, None, 500)
        .await
        .map_err(ApiError::from_store)?;
    let mut scored: Vec<(f64, AccountId, Similar)> = page
        .items
        .into_iter()
        .filter(|(g, _)| !g.status.is_final() && g.status != Status::Resolved)
        .filter(|(g, _)| !leave_out.contains(&g.id))
        .map(|(g, _)| {
            let other_building = g
                .location
                .building
                .as_ref()
                .map(|b| b.as_str().to_owned())
                .unwrap_or_default();
            let score = likeness(
                draft.title,
                draft.building,
                g.title.as_str(),
                &other_building,
            );
            let readable = policy::can_view(&caller.0, &g);
            (
                score,
                g.filer,
                Similar {
                    id: readable.then_some(g.id),
                    title: g.title.as_str().to_owned(),
                    status: g.status,
                    filed_at: g.filed_at,
                    own: g.filer == caller.0.id,
                    likeness: score,
                },
            )
        })
        .filter(|(score, _, _)| *score >= 0.3)
        .collect();
    // The caller's own first, then the most alike.
    scored.sort_by(|a, b| b.2.own.cmp(&a.2.own).then(b.0.total_cmp(&a.0)));
    let mut out = Vec::new();
    for (_, filer, mut similar) in scored.into_iter().take(limit) {
        // Another resident's title may carry their name or phone: never
        // shown, unless the caller may read that grievance anyway.
        if similar.id.is_none() {
            match state.people.personal_data(filer).await {
                Ok(PersonalView::Present(data)) => {
                    for secret in [Some(data.name), data.phone, data.room]
                        .into_iter()
                        .flatten()
                    {
                        if secret.chars().count() >= 2 {
                            similar.title = similar.title.replace(&secret, "＊＊＊");
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "a likely duplicate's filer could not be read");
                    continue;
                }
            }
        }
        out.push(similar);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_about_one_matter_look_alike_and_others_do_not() {
        let same = likeness("3栋电梯停运三天", "3栋", "3栋电梯又停运了", "3栋");
        let related = likeness("地下车库车位被占用", "", "地下车库公共车位被长期占用", "");
        let other = likeness("3栋电梯停运三天", "3栋", "广场舞噪音扰民", "5栋");
        assert!(same >= 0.3, "{same}");
        assert!(related >= 0.3, "{related}");
        assert!(other < 0.3, "{other}");
        assert_eq!(likeness("", "", "", ""), 0.0);
    }
}
