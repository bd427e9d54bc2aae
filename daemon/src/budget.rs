//! What one judgement may still spend: a deadline, and a flag the waiting side sets when it no
//! longer wants the answer. Collection checks it as it goes, so a push too large to judge in
//! time stops using the CPU once its hook has been told no.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Budget {
    /// When it runs out, and how long it was.
    deadline: Option<(Instant, Duration)>,
    cancelled: Arc<AtomicBool>,
}

/// The budget ran out: the push is rejected, never let through.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Exceeded {
    #[error("no verdict within {0} ms (settings.timeout_seconds): the push is too large to judge in time; push it in parts")]
    Deadline(u128),
    #[error("the judgement was abandoned (the hook stopped waiting)")]
    Cancelled,
}

impl Budget {
    /// No limit: for the command-line tools.
    pub fn unlimited() -> Budget {
        Budget {
            deadline: None,
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Until `timeout` from now.
    pub fn within(timeout: Duration) -> Budget {
        Budget {
            deadline: Instant::now().checked_add(timeout).map(|d| (d, timeout)),
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Stop the work that holds a clone of this budget at its next check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Time left, if there is a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|(d, _)| d.saturating_duration_since(Instant::now()))
    }

    /// `Err` once the deadline has passed or the work was cancelled.
    pub fn check(&self) -> Result<(), Exceeded> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Exceeded::Cancelled);
        }
        match self.deadline {
            Some((d, timeout)) if Instant::now() >= d => {
                self.cancel();
                Err(Exceeded::Deadline(timeout.as_millis()))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_budget_stops_every_clone() {
        let b = Budget::unlimited();
        let c = b.clone();
        assert!(c.check().is_ok());
        b.cancel();
        assert!(matches!(c.check(), Err(Exceeded::Cancelled)));
    }

    #[test]
    fn a_passed_deadline_is_exceeded() {
        let b = Budget::within(Duration::ZERO);
        assert!(matches!(b.check(), Err(Exceeded::Deadline(_))));
        assert!(Budget::within(Duration::from_secs(60)).check().is_ok());
    }

    /// A deadline that passes stops the clones too: the work on another thread sees it at its
    /// next check even if it was not the one that noticed the time.
    #[test]
    fn a_passed_deadline_stops_every_clone_and_says_how_long_it_was() {
        let b = Budget::within(Duration::from_millis(1500));
        let worker = b.clone();
        assert!(worker.check().is_ok());
        let late = Budget {
            deadline: Some((Instant::now(), Duration::from_millis(1500))),
            ..b
        };
        let e = late.check().expect_err("passed");
        assert_eq!(
            e.to_string(),
            "no verdict within 1500 ms (settings.timeout_seconds): the push is too large to judge in time; push it in parts"
        );
        assert!(matches!(worker.check(), Err(Exceeded::Cancelled)));
    }

    #[test]
    fn time_left_counts_down_and_an_unlimited_budget_has_none() {
        assert_eq!(Budget::unlimited().remaining(), None);
        let b = Budget::within(Duration::from_secs(60));
        let left = b.remaining().expect("a deadline");
        assert!(
            left <= Duration::from_secs(60) && left > Duration::from_secs(50),
            "{left:?}"
        );
        assert_eq!(
            Budget::within(Duration::ZERO).remaining(),
            Some(Duration::ZERO)
        );
    }

    /// A timeout too large to add to the clock (a policy's huge timeout) is no deadline, not a
    /// panic or an immediate expiry.
    #[test]
    fn a_timeout_past_the_end_of_the_clock_is_no_deadline() {
        let b = Budget::within(Duration::MAX);
        assert_eq!(b.remaining(), None);
        assert!(b.check().is_ok());
    }
}
