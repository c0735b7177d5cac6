//! Progress bars on standard error for the long commands (`projections
//! rebuild`, `audit verify`), shown only when a terminal is attached: a
//! script or a log file sees the same output as before.

use std::future::Future;
use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar that follows a count up to a known total, refreshed by a task that
/// asks `read` for the count a few times a second.
#[derive(Debug)]
pub struct Following {
    bar: ProgressBar,
    ticker: tokio::task::JoinHandle<()>,
}

/// Starts a bar labelled `label` over `total` events, refreshed from `read`;
/// `None` when standard error is not a terminal (nothing is drawn then).
pub fn follow<F, Fut>(label: &str, total: u64, read: F) -> Option<Following>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Option<u64>> + Send,
{
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{msg:<19} [{bar:24}] {pos}/{len} events, {per_sec}, eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(label.to_owned());
    let shown = bar.clone();
    let ticker = tokio::spawn(async move {
        loop {
            // Waiting first lets the command reset what it counts from.
            tokio::time::sleep(Duration::from_millis(200)).await;
            if let Some(n) = read().await {
                shown.set_position(n.min(total));
            }
        }
    });
    Some(Following { bar, ticker })
}

impl Following {
    /// Stops refreshing and clears the bar (the command prints its result).
    pub fn finish(self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}

/// Finishes `bar` if there is one.
pub fn finish(bar: Option<Following>) {
    if let Some(bar) = bar {
        bar.finish();
    }
}
