//! One read of the feed for all the runners of an instance.
//!
//! Every runner wakes on the same appends and reads the same stretch of the
//! feed after them. Reading it once per instance instead of once per runner
//! saves PostgreSQL a query and the instance the decoding for every other
//! runner. [`SharedFeed`] keeps the stretch read last (a window of the feed
//! in commit-safe order, complete from its start to its last event) and
//! answers from it when it can; one runner at a time reads the store, and
//! the others wait for that read rather than make their own.
//!
//! The window is a cache: a runner's checkpoint, in its read model's tables,
//! still says where it stands, and every answer is what a read of the store
//! would have answered at some instant after the runner asked
//! (`fresh_since`), so a runner never misses an append it was woken for.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::feed::{self, FeedEvent, Position};
use crate::store::{Store, StoreError};

/// The stretch of the feed read last: every readable event after `from`,
/// in order, up to the last one held.
#[derive(Debug, Default)]
struct Window {
    from: Position,
    events: VecDeque<FeedEvent>,
    /// Whether anything was read yet.
    read: bool,
    /// When the read that brought its end began, if that read reached the
    /// end of the feed (it brought fewer events than it asked for): the
    /// window then holds every event readable at that instant. `None` when
    /// the last read stopped at its limit and more may follow.
    complete_at: Option<Instant>,
}

impl Window {
    fn end(&self) -> Position {
        self.events.back().map_or(self.from, |e| e.position)
    }

    fn holds(&self, after: Position) -> bool {
        self.read && self.from <= after && after <= self.end()
    }

    /// The answer to a read of `limit` events after `after` begun at
    /// `fresh_since` or later, when the window alone can give it: it holds
    /// `limit` events after `after`, or it held everything readable at an
    /// instant no earlier than `fresh_since`.
    fn answer(
        &self,
        after: Position,
        limit: usize,
        fresh_since: Instant,
    ) -> Option<Vec<FeedEvent>> {
        if !self.holds(after) {
            return None;
        }
        let held = self.after(after, limit);
        let fresh = self.complete_at.is_some_and(|at| at >= fresh_since);
        (held.len() >= limit || fresh).then_some(held)
    }

    /// Records a read of the store begun at `started` that asked for
    /// `asked` events and brought `got`.
    fn record_read(&mut self, started: Instant, asked: usize, got: usize) {
        self.read = true;
        self.complete_at = (got < asked).then_some(started);
    }

    /// Up to `limit` events after `after`, which the window holds.
    fn after(&self, after: Position, limit: usize) -> Vec<FeedEvent> {
        let start = self.events.partition_point(|e| e.position <= after);
        self.events.range(start..).take(limit).cloned().collect()
    }

    /// Keeps at most `most` events, dropping the oldest.
    fn trim(&mut self, most: usize) {
        while self.events.len() > most {
            if let Some(dropped) = self.events.pop_front() {
                self.from = dropped.position;
            }
        }
    }
}

/// The feed as an instance's runners read it, read once for all of them.
#[derive(Debug)]
pub struct SharedFeed {
    store: Store,
    window: Mutex<Window>,
    /// Most events the window holds.
    most: usize,
}

impl SharedFeed {
    /// A shared read of `store`'s feed, holding at most `most` events.
    pub fn new(store: Store, most: usize) -> Arc<Self> {
        Arc::new(Self {
            store,
            window: Mutex::new(Window::default()),
            most: most.max(1),
        })
    }

    /// Up to `limit` events after `after`, in commit-safe order, as fresh
    /// as a read of the store begun at `fresh_since` or later.
    pub async fn read_after(
        &self,
        after: Position,
        limit: i64,
        fresh_since: Instant,
    ) -> Result<Vec<FeedEvent>, StoreError> {
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        // Held across the read of the store: a runner arriving meanwhile
        // waits for it and answers from what it brought.
        let mut window = self.window.lock().await;
        if let Some(held) = window.answer(after, limit, fresh_since) {
            return Ok(held);
        }
        let started = Instant::now();
        if window.holds(after) {
            // Read on from the window's end, for this runner and the next.
            let more = feed::read_after(&self.store, window.end(), limit as i64).await?;
            let got = more.len();
            window.events.extend(more);
            window.record_read(started, limit, got);
            let answer = window.after(after, limit);
            window.trim(self.most.max(limit));
            return Ok(answer);
        }
        let events = feed::read_after(&self.store, after, limit as i64).await?;
        *window = Window {
            from: after,
            events: events.iter().cloned().collect(),
            ..Window::default()
        };
        window.record_read(started, limit, events.len());
        window.trim(self.most.max(limit));
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(global_position: i64) -> FeedEvent {
        FeedEvent {
            position: Position {
                transaction_id: 0,
                global_position,
            },
            aggregate_type: "grievance".into(),
            aggregate_id: "g".into(),
            sequence: global_position,
            event_type: "E".into(),
            event_version: "1".into(),
            payload: "{}".into(),
            metadata: "{}".into(),
        }
    }

    fn at(global_position: i64) -> Position {
        Position {
            transaction_id: 0,
            global_position,
        }
    }

    fn window(from: i64, to: i64) -> Window {
        Window {
            from: at(from),
            events: (from + 1..=to).map(event).collect(),
            read: true,
            complete_at: Some(Instant::now()),
        }
    }

    #[test]
    fn a_window_answers_for_positions_from_its_start_to_its_last_event() {
        let w = window(10, 20);
        assert!(!w.holds(at(9)));
        assert!(w.holds(at(10)));
        assert!(w.holds(at(20)));
        assert!(!w.holds(at(21)));
        let got: Vec<i64> = w
            .after(at(14), 3)
            .iter()
            .map(|e| e.position.global_position)
            .collect();
        assert_eq!(got, vec![15, 16, 17]);
        assert!(w.after(at(20), 5).is_empty());
        assert!(!Window::default().holds(at(0)), "nothing read yet");
    }

    #[test]
    fn trimming_drops_the_oldest_events_and_moves_the_start_past_them() {
        let mut w = window(0, 10);
        w.trim(4);
        assert_eq!(w.events.len(), 4);
        assert_eq!(w.from, at(6));
        assert!(!w.holds(at(5)));
        assert!(w.holds(at(6)));
        assert_eq!(w.end(), at(10));
    }

    #[test]
    fn a_read_cut_short_by_its_limit_is_never_taken_for_the_end_of_the_feed() {
        let woken = Instant::now();
        // A runner woken at `woken` read 7 events and got 7: more may follow.
        let mut w = window(0, 7);
        w.record_read(woken, 7, 7);
        assert_eq!(w.answer(at(0), 7, woken).map(|e| e.len()), Some(7));
        assert!(
            w.answer(at(7), 7, woken).is_none(),
            "the next batch is read from the store, not answered empty"
        );
        assert!(w.answer(at(3), 7, woken).is_none(), "4 held, 7 asked");
        // A read that brought fewer than it asked reached the end.
        w.record_read(woken, 7, 2);
        assert_eq!(w.answer(at(7), 7, woken).map(|e| e.len()), Some(0));
        assert_eq!(w.answer(at(3), 7, woken).map(|e| e.len()), Some(4));
        // ... but only for runners woken before it began.
        let later = woken + std::time::Duration::from_millis(1);
        assert!(w.answer(at(7), 7, later).is_none());
    }
}
