//! Status page subscribers: email addresses (double opt-in by a signed link) and webhooks,
//! and the messages they get when an update is published, sent through the stakeholder outbox.

use crate::AppState;
use firebreak_store::{StatusNotice, StatusSubscriber, StatusUpdate, SubscriberMessage};

/// Writes what a subscriber gets when `update` of `notice` is published.
pub fn message_for(
    state: &AppState,
) -> impl Fn(&StatusNotice, &StatusUpdate, &StatusSubscriber) -> Option<SubscriberMessage> + Send + Sync + use<> {
    let base = state.public_base().to_owned();
    move |notice, update, _subscriber| {
        Some(SubscriberMessage {
            subject: format!("{} — {}", notice.title, update.status.label()),
            body: format!("{}\n\n{}\n", update.body, base),
            unsubscribe_url: None,
        })
    }
}
