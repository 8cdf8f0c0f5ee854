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
