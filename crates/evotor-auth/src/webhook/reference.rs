//! The reference account handler behind `propusk evotor serve`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::WebhookError;
use super::bodies::{
    InstallationEvent, Notification, SubscriptionEvent, UserCreate, UserVerify, VerifiedUser,
};
use super::receiver::AccountHandler;
use super::store::WebhookStore;
use crate::UserId;

/// A minimal account handler that keeps its accounts in the [`WebhookStore`]:
///
/// - `/user/create` registers the user id, or answers 409/2005 if it is registered already;
/// - `/user/verify` logs in a registered user id and answers 401/1006 for an unknown one. It
///   has no user base of its own, so it does not check the typed login and password: plug in
///   your own [`AccountHandler`] for that;
/// - events and notifications are acknowledged and logged (user ids and counts only).
///
/// `hasBilling` is always `false` (Evotor bills).
pub struct ReferenceAccounts {
    store: Arc<dyn WebhookStore>,
}

impl ReferenceAccounts {
    /// A handler over `store` (the same store the receiver uses).
    pub fn new(store: Arc<dyn WebhookStore>) -> Self {
        Self { store }
    }
}

impl fmt::Debug for ReferenceAccounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReferenceAccounts")
    }
}

fn unavailable(error: auth_core::AuthError) -> WebhookError {
    tracing::error!(%error, "account store failed");
    WebhookError::internal()
}

#[async_trait]
impl AccountHandler for ReferenceAccounts {
    async fn create_user(&self, request: &UserCreate) -> Result<(), WebhookError> {
        if self
            .store
            .register_user(&request.user_id)
            .await
            .map_err(unavailable)?
        {
            tracing::info!(user = %request.user_id, "account created");
            Ok(())
        } else {
            Err(WebhookError::already_registered())
        }
    }

    async fn verify_user(&self, request: &UserVerify) -> Result<VerifiedUser, WebhookError> {
        if self
            .store
            .is_registered(&request.user_id)
            .await
            .map_err(unavailable)?
        {
            tracing::info!(user = %request.user_id, "account verified");
            Ok(VerifiedUser::default())
        } else {
            Err(WebhookError::wrong_user_credentials())
        }
    }

    async fn cloud_token_received(&self, user_id: &UserId) -> Result<(), WebhookError> {
        tracing::info!(user = %user_id, "Cloud token stored");
        Ok(())
    }

    async fn subscription_event(&self, event: &SubscriptionEvent) -> Result<(), WebhookError> {
        tracing::info!(
            user = %event.user_id,
            kind = event.kind.as_str(),
            sequence = event.sequence_number,
            "subscription event"
        );
        Ok(())
    }

    async fn installation_event(&self, event: &InstallationEvent) -> Result<(), WebhookError> {
        tracing::info!(user = %event.data.user_id, kind = event.kind.as_str(), "installation event");
        Ok(())
    }

    async fn notification(
        &self,
        user_id: &UserId,
        notification: &Notification,
    ) -> Result<(), WebhookError> {
        let (kind, count) = match notification {
            Notification::Stores(items) => ("stores", items.len()),
            Notification::Devices(items) => ("devices", items.len()),
            Notification::Employees(items) => ("employees", items.len()),
            Notification::Documents { documents, .. } => ("documents", documents.len()),
            Notification::Products { products, .. } => ("products", products.len()),
            Notification::Receipt(_) => ("receipt", 1),
        };
        tracing::info!(user = %user_id, kind, count, "notification");
        Ok(())
    }
}
