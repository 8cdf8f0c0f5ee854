//! Notification channels beside e-mail: generic webhooks (signed JSON), Slack and
//! Mattermost, Discord, ntfy and healthchecks-style pings, each told the events it chose,
//! from background tasks, each delivery retried and recorded per (run, channel, event).

mod dispatch;
mod hook_url;
mod http;
mod kind;
mod payload;

pub use dispatch::{ChannelOptions, Channels};
pub use hook_url::HookUrl;
pub use http::{BODY_EXCERPT, HookProblem};
pub use kind::{ChannelEvent, ChannelKind, ChannelName, EventSet};
pub use payload::{EVENT_HEADER, Report, SIGNATURE_HEADER, signature};

use crate::db::runs::Run;

/// The event a channel is told about when `run` ends, if any (see `notify::due`).
pub fn event_for(run: &Run) -> Option<ChannelEvent> {
    super::due::due(run, false).channel
}

/// A fresh signing secret for a webhook channel: 32 random bytes, in hex.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
