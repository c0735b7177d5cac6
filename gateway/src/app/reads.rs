//! Reading a read model at a known point: positions as they travel
//! (`"<transaction>.<global position>"`), and the wait for a read model to
//! reach the `min_position` a command answered with (read-your-writes).

use std::time::Duration;

use lianxi_projections::{checkpoint, Store};

pub use lianxi_projections::Position;

use super::error::ApiError;
use super::AppState;

/// How long a read waits for its read models to reach `min_position`.
const WAIT: Duration = Duration::from_secs(2);

/// A position as it travels: `"<transaction>.<global position>"`.
pub fn format_position(p: Position) -> String {
    format!("{}.{}", p.transaction_id, p.global_position)
}

/// A position as it travels, if it is one.
pub fn parse_position(text: &str) -> Option<Position> {
    let (tx, pos) = text.trim().split_once('.')?;
    let position = Position {
        transaction_id: tx.parse().ok()?,
        global_position: pos.parse().ok()?,
    };
    (position.transaction_id >= 0 && position.global_position >= 0).then_some(position)
}

/// Where the read models `projections` stand (the least advanced of them),
/// after waiting up to two seconds for all of them to reach `min_position`
/// when given; `false` when they did not within the wait.
pub async fn at(
    store: &Store,
    projections: &[&str],
    min_position: Option<&str>,
) -> Result<(Position, bool), ApiError> {
    let min = min_position
        .map(|p| {
            parse_position(p).ok_or_else(|| {
                ApiError::bad_query("min_position", "must be a position such as \"0.42\"")
            })
        })
        .transpose()?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut least: Option<Position> = None;
        for projection in projections {
            let at = checkpoint::load(store, projection)
                .await
                .map_err(ApiError::from_store)?
                .position;
            least = Some(least.map_or(at, |l| l.min(at)));
        }
        let at = least.unwrap_or_default();
        match min {
            None => return Ok((at, true)),
            Some(min) if at >= min => return Ok((at, true)),
            Some(_) if tokio::time::Instant::now() >= deadline => return Ok((at, false)),
            Some(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// The newest commit-safe feed position: a transaction still running when
/// the stream starts commits above it, so nothing is skipped.
pub async fn head(state: &AppState) -> Result<Position, ApiError> {
    let row: Option<(i64, i64)> = match &state.db.store() {
        Store::Postgres(pool) => sqlx::query_as(
            "SELECT transaction_id::text::bigint, global_position FROM events \
             WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
             ORDER BY transaction_id DESC, global_position DESC LIMIT 1",
        )
        .fetch_optional(pool)
        .await
        .map_err(|e| ApiError::from_store(e.into()))?,
        Store::Sqlite(pool) => sqlx::query_as(
            "SELECT 0, global_position FROM events ORDER BY global_position DESC LIMIT 1",
        )
        .fetch_optional(pool)
        .await
        .map_err(|e| ApiError::from_store(e.into()))?,
    };
    Ok(row
        .map(|(transaction_id, global_position)| Position {
            transaction_id,
            global_position,
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_travel_as_text_and_come_back() {
        let p = Position {
            transaction_id: 812,
            global_position: 4_077,
        };
        assert_eq!(format_position(p), "812.4077");
        assert_eq!(parse_position(&format_position(p)), Some(p));
        for bad in ["", "812", "a.b", "-1.3", "1.-3", "1.2.3"] {
            assert_eq!(parse_position(bad), None, "{bad}");
        }
    }
}
