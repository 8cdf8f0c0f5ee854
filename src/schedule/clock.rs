//! Time as the scheduler sees it: the system clock in production, a clock moved by hand in
//! tests, so that no test waits real hours.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

/// Below this, the system clock waits with a plain timer; above it, minute by minute.
const HEARTBEAT: Duration = Duration::from_secs(60);

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Completes once `now()` has reached `deadline`.
    fn sleep_until(&self, deadline: DateTime<Utc>)
    -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The real time. Long waits follow a heartbeat the embedded cron scheduler
/// (tokio-cron-scheduler) gives at second 0 of every wall-clock minute, so a clock set
/// forward, or a machine waking from sleep, is noticed within a minute; monotonic timers
/// alone would not see either.
#[derive(Clone)]
pub struct SystemClock {
    minutes: watch::Receiver<u64>,
    _cron: Arc<JobScheduler>,
}

impl SystemClock {
    /// Starts the heartbeat.
    pub async fn start() -> Result<Self, JobSchedulerError> {
        let cron = JobScheduler::new().await?;
        let (beat, minutes) = watch::channel(0u64);
        let beat = Arc::new(beat);
        let job = Job::new_async("0 * * * * *", move |_id, _scheduler| {
            let beat = beat.clone();
            Box::pin(async move {
                beat.send_modify(|count| *count = count.wrapping_add(1));
            })
        })?;
        cron.add(job).await?;
        cron.start().await?;
        Ok(Self {
            minutes,
            _cron: Arc::new(cron),
        })
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(
        &self,
        deadline: DateTime<Utc>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut minutes = self.minutes.clone();
        Box::pin(async move {
            loop {
                let Ok(left) = (deadline - Utc::now()).to_std() else {
                    return;
                };
                if left.is_zero() {
                    return;
                }
                if left <= HEARTBEAT {
                    tokio::time::sleep(left).await;
                } else if minutes.changed().await.is_err() {
                    // No heartbeat any more: fall back to a timer.
                    tokio::time::sleep(HEARTBEAT).await;
                }
            }
        })
    }
}

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: watch::Sender::new(start),
        }
    }

    pub fn set(&self, now: DateTime<Utc>) {
        self.now.send_replace(now);
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.now.send_modify(|now| *now += by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn sleep_until(
        &self,
        deadline: DateTime<Utc>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut now = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock, which outlives this borrow.
            let _ = now.wait_for(|now| *now >= deadline).await;
        })
    }
}
