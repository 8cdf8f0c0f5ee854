//! How a recorded notification reads on the run's page and in the command line (the
//! record itself is `db::notifications`).

use crate::db::notifications::{Delivery, DeliveryState};
use crate::lang::{Lang, Message};

impl Delivery {
    /// One line for the run's page, in `lang`: the outcome, and why the last attempt
    /// failed, with the server's words quoted.
    pub fn summary(&self, lang: Lang) -> String {
        let key = match self.state() {
            DeliveryState::Sent => return lang.td("notify.delivery.sent", &self.recipients),
            DeliveryState::Trying => "notify.delivery.retrying",
            DeliveryState::Failed => "notify.delivery.failed",
        };
        let problem = self
            .problem()
            .unwrap_or_else(|| Message::new("notify.problem.unknown"));
        lang.td(key, &problem.render(lang))
    }
}
