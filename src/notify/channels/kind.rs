//! What a channel is (webhook, Slack, Discord, ntfy, ping) and which events it is sent,
//! parsed from the form.

use std::fmt;

use crate::settings::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// A POST of the documented JSON payload, signed with HMAC-SHA256.
    Webhook,
    /// Slack's (and Mattermost's) incoming webhooks: `{"text": …}`.
    Slack,
    /// Discord's webhooks: `{"content": …}`.
    Discord,
    /// An ntfy topic URL.
    Ntfy,
    /// A healthchecks-style ping URL: `/start`, success, `/fail`.
    Ping,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 5] = [
        Self::Webhook,
        Self::Slack,
        Self::Discord,
        Self::Ntfy,
        Self::Ping,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::Discord => "discord",
            Self::Ntfy => "ntfy",
            Self::Ping => "ping",
        }
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == input.trim())
            .ok_or_else(|| Invalid::new("channels.invalid.kind"))
    }

    /// Whether the channel signs its payload with a secret the app makes.
    pub fn is_signed(self) -> bool {
        self == Self::Webhook
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a channel may be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelEvent {
    /// A backup failed, was partial or was interrupted.
    BackupFailed,
    BackupSucceeded,
    /// No backup succeeded within the expected interval.
    Overdue,
    VerifyFailed,
    RestoreFinished,
    /// A backup began: sent only to pings (their `/start`), never chosen on its own.
    BackupStarted,
    /// "Send test" on the channels page.
    Test,
}

impl ChannelEvent {
    /// The events a channel may choose, in the form's order.
    pub const CHOICES: [ChannelEvent; 5] = [
        Self::BackupFailed,
        Self::BackupSucceeded,
        Self::Overdue,
        Self::VerifyFailed,
        Self::RestoreFinished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BackupFailed => "backup_failed",
            Self::BackupSucceeded => "backup_succeeded",
            Self::Overdue => "overdue",
            Self::VerifyFailed => "verify_failed",
            Self::RestoreFinished => "restore_finished",
            Self::BackupStarted => "backup_started",
            Self::Test => "test",
        }
    }

    pub fn named(input: &str) -> Option<Self> {
        [Self::BackupStarted, Self::Test]
            .into_iter()
            .chain(Self::CHOICES)
            .find(|event| event.as_str() == input)
    }

    /// Whether the event is bad news (a failure, an alert).
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Self::BackupFailed | Self::Overdue | Self::VerifyFailed
        )
    }
}

impl fmt::Display for ChannelEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The events a channel chose: at least one, each one of `ChannelEvent::CHOICES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSet(Vec<ChannelEvent>);

impl EventSet {
    pub fn parse<'a>(inputs: impl IntoIterator<Item = &'a str>) -> Result<Self, Invalid> {
        let mut events = Vec::new();
        for input in inputs {
            let event = ChannelEvent::named(input.trim())
                .filter(|event| ChannelEvent::CHOICES.contains(event))
                .ok_or_else(|| Invalid::with_detail("channels.invalid.unknown_event", input))?;
            if !events.contains(&event) {
                events.push(event);
            }
        }
        if events.is_empty() {
            return Err(Invalid::new("channels.invalid.no_event"));
        }
        Ok(Self(events))
    }

    /// Read back from the database: unknown names (from a newer version) are skipped.
    pub fn from_stored(stored: &str) -> Self {
        Self(stored.split(',').filter_map(ChannelEvent::named).collect())
    }

    pub fn to_stored(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(|event| event.as_str()).collect();
        names.join(",")
    }

    pub fn contains(&self, event: ChannelEvent) -> bool {
        self.0.contains(&event)
    }

    pub fn iter(&self) -> impl Iterator<Item = ChannelEvent> + '_ {
        self.0.iter().copied()
    }
}

/// A channel's name as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelName(String);

impl ChannelName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = input.trim();
        if name.is_empty() {
            return Err(Invalid::new("channels.invalid.name_empty"));
        }
        if name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(Invalid::new("channels.invalid.name"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_event_is_refused_with_its_name() {
        let error = EventSet::parse(["backup_failed", "reboot"]).unwrap_err();
        assert_eq!(error.key, "channels.invalid.unknown_event");
        assert_eq!(error.detail.as_deref(), Some("reboot"));
    }

    #[test]
    fn no_event_is_refused() {
        assert_eq!(
            EventSet::parse([]).unwrap_err().key,
            "channels.invalid.no_event"
        );
    }

    #[test]
    fn internal_events_cannot_be_chosen() {
        assert!(EventSet::parse(["backup_started"]).is_err());
        assert!(EventSet::parse(["test"]).is_err());
    }

    #[test]
    fn events_read_back_as_stored() {
        let set = EventSet::parse(["overdue", "backup_failed", "overdue"]).unwrap();
        assert_eq!(set.to_stored(), "overdue,backup_failed");
        assert_eq!(EventSet::from_stored(&set.to_stored()), set);
    }
}
