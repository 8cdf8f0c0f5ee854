//! What is due when a run ends, decided once for every channel: the e-mail (failures
//! always, successes when asked) and the event the other channels are told.

use super::channels::ChannelEvent;
use crate::db::notifications::Kind;
use crate::db::runs::{Run, RunKind, RunStatus};

/// What a run that ended calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The mail, if one is due.
    pub mail: Option<Kind>,
    /// The event told to the channels that chose it.
    pub channel: Option<ChannelEvent>,
}

pub fn due(run: &Run, mail_on_success: bool) -> Due {
    let failed = matches!(
        run.status,
        RunStatus::Failed | RunStatus::Partial | RunStatus::Interrupted
    );
    let succeeded = run.status == RunStatus::Success;
    let mail = if failed {
        Some(Kind::RunFailed)
    } else if succeeded && mail_on_success {
        Some(Kind::RunSucceeded)
    } else {
        None
    };
    let channel = match run.kind {
        RunKind::Backup if failed => Some(ChannelEvent::BackupFailed),
        RunKind::Backup if succeeded => Some(ChannelEvent::BackupSucceeded),
        RunKind::Verify if failed => Some(ChannelEvent::VerifyFailed),
        RunKind::Restore if failed || succeeded => Some(ChannelEvent::RestoreFinished),
        _ => None,
    };
    Due { mail, channel }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::runs::Trigger;

    fn run(kind: RunKind, status: RunStatus) -> Run {
        Run {
            id: 1,
            kind,
            trigger: Trigger::Manual,
            status,
            started_at: chrono::Utc::now(),
            finished_at: None,
            scheduled_for: None,
            folder: None,
            total_bytes: 0,
            object_count: 0,
            error: None,
            warning: None,
            progress: None,
            request: None,
        }
    }

    #[test]
    fn failures_are_mailed_and_told_as_their_kind_of_run() {
        let due = due(&run(RunKind::Backup, RunStatus::Partial), false);
        assert_eq!(due.mail, Some(Kind::RunFailed));
        assert_eq!(due.channel, Some(ChannelEvent::BackupFailed));
        let due = super::due(&run(RunKind::Verify, RunStatus::Failed), false);
        assert_eq!(due.channel, Some(ChannelEvent::VerifyFailed));
    }

    #[test]
    fn a_success_is_mailed_only_when_asked_but_always_offered_to_channels() {
        let quiet = due(&run(RunKind::Backup, RunStatus::Success), false);
        assert_eq!(quiet.mail, None);
        assert_eq!(quiet.channel, Some(ChannelEvent::BackupSucceeded));
        let asked = due(&run(RunKind::Backup, RunStatus::Success), true);
        assert_eq!(asked.mail, Some(Kind::RunSucceeded));
    }

    #[test]
    fn a_restore_is_told_when_it_ends_either_way_and_a_verification_only_when_it_fails() {
        for status in [RunStatus::Success, RunStatus::Failed] {
            let due = due(&run(RunKind::Restore, status), false);
            assert_eq!(due.channel, Some(ChannelEvent::RestoreFinished));
        }
        assert_eq!(
            due(&run(RunKind::Verify, RunStatus::Success), false).channel,
            None
        );
        assert_eq!(
            due(&run(RunKind::Backup, RunStatus::Skipped), false).channel,
            None
        );
    }
}
