//! How a recorded notification reads on the run's page and in the command line (the
//! record itself is `db::notifications`).

use crate::db::notifications::{Delivery, DeliveryState};

impl Delivery {
    /// One line for the run's page, in `locale`.
    pub fn summary(&self, locale: &str) -> String {
        let (key, detail) = match self.state() {
            DeliveryState::Sent => ("notify.delivery.sent", self.recipients.as_str()),
            DeliveryState::Trying => (
                "notify.delivery.retrying",
                self.error.as_deref().unwrap_or(""),
            ),
            DeliveryState::Failed => (
                "notify.delivery.failed",
                self.error.as_deref().unwrap_or(""),
            ),
        };
        rust_i18n::t!(key, locale = locale, detail = detail).into_owned()
    }
}
