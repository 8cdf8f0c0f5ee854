//! E-mail: run reports, the overdue alert and the test e-mail, sent through the stored
//! SMTP account, each delivery retried and recorded without ever touching a run's status.

mod account;
pub mod channels;
mod deliveries;
pub mod due;
mod mail;
mod notifier;
mod problem;
mod smtp;

pub use crate::db::notifications::{
    Delivery, DeliveryState, Kind, deliveries_for_run, latest_of_kind, overdue_alert_recorded_after,
};
pub use account::{MailOptions, PASSWORD_PURPOSE, SmtpAccount};
pub use mail::Mail;
pub use notifier::Notifier;
pub use problem::{MailProblem, Step};

use crate::crypto::MasterKey;
use crate::db::email_account::StoredEmailAccount;
use crate::db::notifications::NotificationsError;
use crate::db::runs::RunsError;
use crate::lang::Lang;
use crate::settings::EmailList;

/// Why a notification could not be prepared or recorded (not why a mail was refused:
/// that is a `MailProblem`, recorded with the notification).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("notifications: {step}: {source}")]
    Db {
        step: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error(transparent)]
    Notifications(#[from] NotificationsError),
    #[error("notifications: {0}")]
    Runs(#[from] RunsError),
    #[error("notifications: {0}")]
    Settings(#[from] crate::db::settings::SettingsError),
    #[error("notifications: rendering a mail: {0}")]
    Template(#[from] askama::Error),
}

impl NotifyError {
    pub(crate) fn db(step: &'static str) -> impl FnOnce(sqlx::Error) -> NotifyError {
        move |source| NotifyError::Db { step, source }
    }
}

/// Sends the test e-mail through `account` to `to`, in `tr`'s language.
pub async fn send_test(
    account: &SmtpAccount,
    to: &EmailList,
    tr: Lang,
    options: &MailOptions,
) -> Result<(), MailProblem> {
    let mail = mail::test_mail(tr, account).map_err(|error| MailProblem::Protocol {
        detail: error.to_string(),
    })?;
    let message = mail::message(account, to, &mail)?;
    smtp::deliver(account, options, &smtp::Outgoing::from_message(&message)?).await
}

/// "Send test e-mail" on the e-mail account page: `account` is the form as typed, parsed
/// the way saving it would (a blank password keeps the stored one), not necessarily saved.
pub async fn send_test_with_form(
    account: &StoredEmailAccount,
    key: &MasterKey,
    to: &EmailList,
    language: &str,
    options: &MailOptions,
) -> Result<(), MailProblem> {
    let account = SmtpAccount::from_stored(account, key)?;
    send_test(&account, to, Lang::from_code_or_default(language), options).await
}
