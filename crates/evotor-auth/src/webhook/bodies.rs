//! The bodies the Cloud sends, typed, and the answers the receiver gives.
//!
//! Every type keeps the fields it does not name in `extra` (`#[serde(flatten)]`), so a field the
//! Cloud adds tomorrow, or one configured on the "Интеграция" tab, is neither lost nor refused.
//! `userUuid` (older documents) is accepted wherever `userId` is. Answers always say `userId`.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::WebhookError;
use crate::UserId;

/// Fields a type does not name, as received.
pub type Extra = Map<String, Value>;

/// Parses a webhook body into `T`, mapping failures to Evotor's codes:
///
/// - not JSON (or trailing garbage) → 400 / 2001;
/// - a required field absent → 400 / 2002, reason `missing`, subject the field's path;
/// - a field of the wrong type or an invalid value → 400 / 2003, reason `incorrect`, subject the
///   field's path (`value: "null"` when it was `null`).
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, WebhookError> {
    // Syntax first (trailing garbage included), then shape: a broken body is 2001 whatever
    // fields it lacks.
    let tree: Value = serde_json::from_slice(body).map_err(|_| WebhookError::syntax())?;
    serde_path_to_error::deserialize(tree).map_err(|error| classify(&error))
}

fn classify(error: &serde_path_to_error::Error<serde_json::Error>) -> WebhookError {
    let inner = error.inner();
    if !matches!(inner.classify(), serde_json::error::Category::Data) {
        return WebhookError::syntax();
    }
    let path = error.path().to_string();
    let path = if path == "." || path == "?" {
        String::new()
    } else {
        path
    };
    let message = inner.to_string();
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        let subject = if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return WebhookError::missing(subject);
    }
    let subject = if path.is_empty() {
        "body".to_owned()
    } else {
        path
    };
    let error = WebhookError::invalid(subject);
    if message.starts_with("invalid type: null") {
        error.with_value("null")
    } else {
        error
    }
}

/// A Unix time in milliseconds, sent as a number (`1504168645290`) though the schema says
/// string; both are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl<'de> Deserialize<'de> for UnixMillis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(i64),
            Text(String),
        }
        match Either::deserialize(deserializer)? {
            Either::Number(n) => Ok(Self(n)),
            Either::Text(text) => text
                .trim()
                .parse()
                .map(Self)
                .map_err(|_| serde::de::Error::custom("expected Unix milliseconds")),
        }
    }
}

/// `POST /api/v1/user/create`: register a new account in your service.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserCreate {
    /// The Evotor user (`userUuid` in older documents).
    #[serde(alias = "userUuid")]
    pub user_id: UserId,
    /// The "customField" of the registration form, when configured.
    #[serde(default)]
    pub custom_field: Option<String>,
    /// Every other field (the form's other fields: `email`, `phone`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl fmt::Debug for UserCreate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserCreate")
            .field("user_id", &self.user_id)
            .field("custom_field", &self.custom_field.as_ref().map(|_| "…"))
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// `POST /api/v1/user/verify`: log an existing account of your service in.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserVerify {
    /// The Evotor user (`userUuid` in older documents).
    #[serde(alias = "userUuid")]
    pub user_id: UserId,
    /// The login the user typed: an account of YOUR service.
    #[serde(default)]
    pub username: Option<String>,
    /// The password the user typed. Never printed.
    #[serde(default)]
    pub password: Option<SecretString>,
    /// The "customField" of the login form, when configured.
    #[serde(default)]
    pub custom_field: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

impl fmt::Debug for UserVerify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserVerify")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[REDACTED]"))
            .field("custom_field", &self.custom_field.as_ref().map(|_| "…"))
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// `POST /api/v1/user/token`: the Cloud hands over its token for a user.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserToken {
    /// The Evotor user (`userUuid` in older documents).
    #[serde(alias = "userUuid")]
    pub user_id: UserId,
    /// The Cloud token ("токен приложения") for calls to `api.evotor.ru`. Never printed.
    pub token: SecretString,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

impl fmt::Debug for UserToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserToken")
            .field("user_id", &self.user_id)
            .field("token", &"[REDACTED]")
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The kind of a subscription event. Unknown kinds are kept as [`Other`](Self::Other), not
/// refused: the Cloud would otherwise re-send them for three days.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum SubscriptionEventType {
    /// `SubscriptionCreated`.
    SubscriptionCreated,
    /// `AddonsUpdated`.
    AddonsUpdated,
    /// `SubscriptionActivated`.
    SubscriptionActivated,
    /// `SubscriptionRenewed`.
    SubscriptionRenewed,
    /// `SubscriptionTermsChanged`.
    SubscriptionTermsChanged,
    /// `SubscriptionTerminationRequested`.
    SubscriptionTerminationRequested,
    /// `SubscriptionTerminated`.
    SubscriptionTerminated,
    /// A kind this version does not know.
    Other(String),
}

impl SubscriptionEventType {
    /// Every kind the protocol sheet lists.
    pub const ALL: [SubscriptionEventType; 7] = [
        Self::SubscriptionCreated,
        Self::AddonsUpdated,
        Self::SubscriptionActivated,
        Self::SubscriptionRenewed,
        Self::SubscriptionTermsChanged,
        Self::SubscriptionTerminationRequested,
        Self::SubscriptionTerminated,
    ];

    /// The name on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::SubscriptionCreated => "SubscriptionCreated",
            Self::AddonsUpdated => "AddonsUpdated",
            Self::SubscriptionActivated => "SubscriptionActivated",
            Self::SubscriptionRenewed => "SubscriptionRenewed",
            Self::SubscriptionTermsChanged => "SubscriptionTermsChanged",
            Self::SubscriptionTerminationRequested => "SubscriptionTerminationRequested",
            Self::SubscriptionTerminated => "SubscriptionTerminated",
            Self::Other(name) => name,
        }
    }
}

impl From<String> for SubscriptionEventType {
    fn from(name: String) -> Self {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .unwrap_or(Self::Other(name))
    }
}

impl From<SubscriptionEventType> for String {
    fn from(kind: SubscriptionEventType) -> Self {
        kind.as_str().to_owned()
    }
}

/// `POST /api/v1/subscription/event`: a billing event. Re-sent about every minute for up to
/// three days until answered `200 OK`; recognised by `subscriptionId` + `sequenceNumber`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionEvent {
    /// The subscription.
    pub subscription_id: String,
    /// Your application's id.
    pub product_id: String,
    /// The Evotor user (`userUuid` in older documents).
    #[serde(alias = "userUuid")]
    pub user_id: UserId,
    /// When, e.g. `2017-04-20T18:26:37.753+0000` (an offset with no colon).
    pub timestamp: String,
    /// Increases per subscription.
    pub sequence_number: u64,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: SubscriptionEventType,
    /// The plan, when the event concerns one.
    #[serde(default)]
    pub plan_id: Option<String>,
    /// The trial period as an ISO 8601 duration (`P14DT`), when there is one.
    #[serde(default)]
    pub trial_period_duration: Option<String>,
    /// How many terminals the subscription covers, when stated.
    #[serde(default)]
    pub device_number: Option<u32>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SubscriptionEvent {
    /// The key that recognises a repeated delivery: `subscription:<id>:<sequence number>`.
    pub fn delivery_key(&self) -> String {
        format!(
            "subscription:{}:{}",
            self.subscription_id, self.sequence_number
        )
    }
}

/// The kind of an installation event; unknown kinds are kept, not refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum InstallationEventType {
    /// `ApplicationInstalled`.
    ApplicationInstalled,
    /// `ApplicationUninstalled`.
    ApplicationUninstalled,
    /// A kind this version does not know.
    Other(String),
}

impl InstallationEventType {
    /// The name on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::ApplicationInstalled => "ApplicationInstalled",
            Self::ApplicationUninstalled => "ApplicationUninstalled",
            Self::Other(name) => name,
        }
    }
}

impl From<String> for InstallationEventType {
    fn from(name: String) -> Self {
        match name.as_str() {
            "ApplicationInstalled" => Self::ApplicationInstalled,
            "ApplicationUninstalled" => Self::ApplicationUninstalled,
            _ => Self::Other(name),
        }
    }
}

impl From<InstallationEventType> for String {
    fn from(kind: InstallationEventType) -> Self {
        kind.as_str().to_owned()
    }
}

/// The `data` of an installation event.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallationData {
    /// Your application's id.
    pub product_id: String,
    /// The Evotor user (`userUuid` in older documents).
    #[serde(alias = "userUuid")]
    pub user_id: UserId,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /api/v2/installation/event`: the app was installed or uninstalled. Re-sent until
/// answered `200 OK`; recognised by `id`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallationEvent {
    /// The event's id.
    pub id: String,
    /// When, Unix milliseconds.
    pub timestamp: UnixMillis,
    /// The event format's version (2).
    pub version: u32,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: InstallationEventType,
    /// Whose installation of which app.
    pub data: InstallationData,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

impl InstallationEvent {
    /// The key that recognises a repeated delivery: `installation:<id>`.
    pub fn delivery_key(&self) -> String {
        format!("installation:{}", self.id)
    }
}

/// A store (`PUT /api/v1/inventories/stores`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    /// The store's uuid.
    pub uuid: String,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its address.
    #[serde(default)]
    pub address: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A smart terminal (`PUT /api/v1/inventories/devices`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// The terminal's uuid.
    pub uuid: String,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// The store it belongs to.
    #[serde(default)]
    pub store_uuid: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The link of an employee to a store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmployeeStore {
    /// The store's uuid.
    pub store_uuid: String,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An employee (`PUT /api/v1/inventories/employees`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Employee {
    /// The employee's uuid.
    pub uuid: String,
    /// First name.
    #[serde(default)]
    pub name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Patronymic.
    #[serde(default)]
    pub patronymic_name: Option<String>,
    /// Phone, sent as a number (`79876543210`) or a string: kept as received.
    #[serde(default)]
    pub phone: Option<Value>,
    /// `ADMIN`, `CASHIER` or `OTHER`.
    #[serde(default)]
    pub role: Option<String>,
    /// The stores the employee works in.
    #[serde(default)]
    pub stores: Vec<EmployeeStore>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A document with its transactions (`PUT /api/v1/inventories/stores/{storeUuid}/documents`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// The document's uuid.
    pub uuid: String,
    /// `SELL`, `PAYBACK`, `OPEN_SESSION`, ... (`types` in one schema revision).
    #[serde(default, rename = "type", alias = "types")]
    pub kind: Option<String>,
    /// The transactions, as received.
    #[serde(default)]
    pub transactions: Vec<Value>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A product or product group (`POST /api/v1/inventories/stores/{storeUuid}/products`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// The product's uuid.
    pub uuid: String,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its code.
    #[serde(default)]
    pub code: Option<String>,
    /// Barcodes.
    #[serde(default)]
    pub bar_codes: Vec<String>,
    /// Selling price (a JSON number; money arrives as binary floating point).
    #[serde(default)]
    pub price: Option<f64>,
    /// Quantity in stock.
    #[serde(default)]
    pub quantity: Option<f64>,
    /// Whether this is a group.
    #[serde(default)]
    pub group: Option<bool>,
    /// The parent group's uuid.
    #[serde(default)]
    pub parent_uuid: Option<String>,
    /// Every other field (`tax`, `measureName`, `alcoCodes`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The receipt inside a v2 receipt notification.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptData {
    /// The receipt's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The store.
    #[serde(default)]
    pub store_id: Option<String>,
    /// The terminal.
    #[serde(default)]
    pub device_id: Option<String>,
    /// `SELL`, `PAYBACK`, ...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The positions, as received.
    #[serde(default)]
    pub items: Vec<Value>,
    /// Every other field (`totalAmount`, `dateTime`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /api/v2/receipts`: a receipt, in the v2 event envelope (`id`, `timestamp`, `version`,
/// `type`, `data`). Only `id` is required; recognised by it when re-sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptEvent {
    /// The notification's id.
    pub id: String,
    /// When, Unix milliseconds.
    #[serde(default)]
    pub timestamp: Option<UnixMillis>,
    /// The format's version (2).
    #[serde(default)]
    pub version: Option<u32>,
    /// The kind (`ReceiptCreated`, ...).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The Evotor user, when stated.
    #[serde(default, alias = "userUuid")]
    pub user_id: Option<UserId>,
    /// The receipt.
    #[serde(default)]
    pub data: Option<ReceiptData>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ReceiptEvent {
    /// The key that recognises a repeated delivery: `receipt:<id>`.
    pub fn delivery_key(&self) -> String {
        format!("receipt:{}", self.id)
    }
}

/// A notification, guarded by a user token.
#[derive(Debug, Clone)]
pub enum Notification {
    /// `PUT /api/v1/inventories/stores`.
    Stores(Vec<Store>),
    /// `PUT /api/v1/inventories/devices`.
    Devices(Vec<Device>),
    /// `PUT /api/v1/inventories/employees`.
    Employees(Vec<Employee>),
    /// `PUT /api/v1/inventories/stores/{storeUuid}/documents`.
    Documents {
        /// The store in the path.
        store_uuid: String,
        /// The documents.
        documents: Vec<Document>,
    },
    /// `POST /api/v1/inventories/stores/{storeUuid}/products`.
    Products {
        /// The store in the path.
        store_uuid: String,
        /// The products.
        products: Vec<Product>,
    },
    /// `POST /api/v2/receipts`.
    Receipt(Box<ReceiptEvent>),
}

/// What your handler says about an account it verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerifiedUser {
    /// `true` when YOUR service bills this user (Evotor then does not); default `false`.
    pub has_billing: bool,
}

/// The answer to `/user/create`: `{"userId":"…","token":"…"}`.
pub(crate) fn create_reply(user_id: &UserId, token: &SecretString) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Reply<'a> {
        user_id: &'a str,
        token: &'a str,
    }
    serde_json::to_vec(&Reply {
        user_id: user_id.as_str(),
        token: token.expose_secret(),
    })
    .unwrap_or_default()
}

/// The answer to `/user/verify`: `{"userId":"…","hasBilling":false,"token":"…"}`.
pub(crate) fn verify_reply(
    user_id: &UserId,
    verified: VerifiedUser,
    token: &SecretString,
) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Reply<'a> {
        user_id: &'a str,
        has_billing: bool,
        token: &'a str,
    }
    serde_json::to_vec(&Reply {
        user_id: user_id.as_str(),
        has_billing: verified.has_billing,
        token: token.expose_secret(),
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Literal bodies from the protocol sheet, section 3.
    const VERIFY: &str = r#"{"userId":"01-000000000000001","username":"И.Иванов","password":"superpassword","customField":"…"}"#;
    const CREATE: &str = r#"{"userId":"01-000000000000001","customField":"…"}"#;
    const TOKEN: &str =
        r#"{"userId":"01-000000000000001","token":"f46b89a5-8e80-4591-b0aa-94551790444b"}"#;
    const SUBSCRIPTION: &str = r#"{"subscriptionId":"a99fbf70-6307-4acc-b61c-741ee9eef6c0","productId":"<app uuid>","userId":"01-000000000000001",
 "timestamp":"2017-04-20T18:26:37.753+0000","sequenceNumber":4,"type":"SubscriptionCreated",
 "planId":"example","trialPeriodDuration":"P14DT","deviceNumber":35}"#;
    const INSTALLATION: &str = r#"{"id":"a99fbf70-…","timestamp":1504168645290,"version":2,"type":"ApplicationInstalled",
 "data":{"productId":"<app uuid>","userId":"01-000000000000001"}}"#;
    const VERIFY_REPLY: &str = r#"{"userId":"01-000000000000001","hasBilling":false,"token":"toaWaep4chou7ahkoogiu9Iusaht9ima"}"#;
    const CREATE_REPLY: &str =
        r#"{"userId":"01-000000000000001","token":"toaWaep4chou7ahkoogiu9Iusaht9ima"}"#;

    fn user() -> UserId {
        UserId::parse("01-000000000000001").unwrap()
    }

    #[test]
    fn verify_parses_and_hides_the_password() {
        let body: UserVerify = parse_body(VERIFY.as_bytes()).unwrap();
        assert_eq!(body.user_id, user());
        assert_eq!(body.username.as_deref(), Some("И.Иванов"));
        assert_eq!(
            body.password.as_ref().unwrap().expose_secret(),
            "superpassword"
        );
        assert_eq!(body.custom_field.as_deref(), Some("…"));
        let text = format!("{body:?}");
        assert!(!text.contains("superpassword"), "{text}");
    }

    #[test]
    fn user_uuid_is_accepted_and_unknown_fields_kept() {
        let body: UserVerify =
            parse_body(br#"{"userUuid":"01-000000000000001","inn":"7700000000"}"#).unwrap();
        assert_eq!(body.user_id, user());
        assert_eq!(body.extra["inn"], "7700000000");
        let create: UserCreate = parse_body(CREATE.as_bytes()).unwrap();
        assert_eq!(create.user_id, user());
        assert_eq!(create.custom_field.as_deref(), Some("…"));
    }

    #[test]
    fn token_parses_and_hides_the_token() {
        let body: UserToken = parse_body(TOKEN.as_bytes()).unwrap();
        assert_eq!(
            body.token.expose_secret(),
            "f46b89a5-8e80-4591-b0aa-94551790444b"
        );
        assert!(!format!("{body:?}").contains("f46b89a5"));
    }

    #[test]
    fn the_sheet_subscription_event_parses() {
        let event: SubscriptionEvent = parse_body(SUBSCRIPTION.as_bytes()).unwrap();
        assert_eq!(event.kind, SubscriptionEventType::SubscriptionCreated);
        assert_eq!(event.sequence_number, 4);
        assert_eq!(event.device_number, Some(35));
        assert_eq!(event.trial_period_duration.as_deref(), Some("P14DT"));
        assert_eq!(event.timestamp, "2017-04-20T18:26:37.753+0000");
        assert_eq!(
            event.delivery_key(),
            "subscription:a99fbf70-6307-4acc-b61c-741ee9eef6c0:4"
        );
    }

    #[test]
    fn every_subscription_type_of_the_sheet_is_known() {
        for name in [
            "SubscriptionCreated",
            "AddonsUpdated",
            "SubscriptionActivated",
            "SubscriptionRenewed",
            "SubscriptionTermsChanged",
            "SubscriptionTerminationRequested",
            "SubscriptionTerminated",
        ] {
            let kind = SubscriptionEventType::from(name.to_owned());
            assert!(!matches!(kind, SubscriptionEventType::Other(_)), "{name}");
            assert_eq!(kind.as_str(), name);
        }
        assert_eq!(
            SubscriptionEventType::from("PlanFrozen".to_owned()),
            SubscriptionEventType::Other("PlanFrozen".to_owned())
        );
    }

    #[test]
    fn the_sheet_installation_event_parses_with_either_timestamp_form() {
        let event: InstallationEvent = parse_body(INSTALLATION.as_bytes()).unwrap();
        assert_eq!(event.kind, InstallationEventType::ApplicationInstalled);
        assert_eq!(event.timestamp, UnixMillis(1504168645290));
        assert_eq!(event.data.user_id, user());
        assert_eq!(event.delivery_key(), "installation:a99fbf70-…");
        let text = INSTALLATION.replace("1504168645290", "\"1504168645290\"");
        let event: InstallationEvent = parse_body(text.as_bytes()).unwrap();
        assert_eq!(event.timestamp, UnixMillis(1504168645290));
    }

    #[test]
    fn replies_match_the_sheet() {
        let token = SecretString::from("toaWaep4chou7ahkoogiu9Iusaht9ima");
        assert_eq!(
            String::from_utf8(verify_reply(&user(), VerifiedUser::default(), &token)).unwrap(),
            VERIFY_REPLY
        );
        assert_eq!(
            String::from_utf8(create_reply(&user(), &token)).unwrap(),
            CREATE_REPLY
        );
    }

    #[test]
    fn bad_bodies_get_the_documented_codes() {
        let syntax = parse_body::<UserCreate>(b"{\"userId\":").unwrap_err();
        assert_eq!(
            String::from_utf8(syntax.body()).unwrap(),
            r#"{"errors":[{"code":2001}]}"#
        );
        assert_eq!(
            parse_body::<UserCreate>(b"{} trailing").unwrap_err().code(),
            Some(2001)
        );
        assert_eq!(
            parse_body::<UserCreate>(b"\xff").unwrap_err().code(),
            Some(2001)
        );
        let missing = parse_body::<UserCreate>(br#"{"customField":"x"}"#).unwrap_err();
        assert_eq!(
            String::from_utf8(missing.body()).unwrap(),
            r#"{"errors":[{"code":2002,"reason":"missing","subject":"userId"}]}"#
        );
        let invalid = parse_body::<UserCreate>(br#"{"userId":"01 bad"}"#).unwrap_err();
        assert_eq!(
            String::from_utf8(invalid.body()).unwrap(),
            r#"{"errors":[{"code":2003,"reason":"incorrect","subject":"userId"}]}"#
        );
        let null = parse_body::<UserToken>(br#"{"userId":"01-000000000000001","token":null}"#)
            .unwrap_err();
        assert_eq!(
            String::from_utf8(null.body()).unwrap(),
            r#"{"errors":[{"code":2003,"reason":"incorrect","subject":"token","value":"null"}]}"#
        );
        let nested = parse_body::<InstallationEvent>(
            br#"{"id":"1","timestamp":1,"version":2,"type":"ApplicationInstalled","data":{"productId":"p"}}"#,
        )
        .unwrap_err();
        assert_eq!(nested.code(), Some(2002));
        assert_eq!(nested.errors()[0].subject.as_deref(), Some("data.userId"));
        let wrong_type = parse_body::<SubscriptionEvent>(
            SUBSCRIPTION
                .replace("\"sequenceNumber\":4", "\"sequenceNumber\":\"four\"")
                .as_bytes(),
        )
        .unwrap_err();
        assert_eq!(wrong_type.code(), Some(2003));
        assert_eq!(
            parse_body::<Vec<Store>>(br#"{"uuid":"x"}"#)
                .unwrap_err()
                .code(),
            Some(2003)
        );
    }

    #[test]
    fn notifications_parse() {
        let stores: Vec<Store> =
            parse_body(r#"[{"uuid":"20170222-D58C-40E0-8051-B53ADFF38860","name":"Мой магазин1","address":null,"code":null}]"#.as_bytes()).unwrap();
        assert_eq!(stores[0].name.as_deref(), Some("Мой магазин1"));
        assert!(stores[0].extra.contains_key("code"));
        let employees: Vec<Employee> = parse_body(
            br#"[{"uuid":"e1","name":"Ivan","phone":79876543210,"role":"CASHIER","stores":[{"storeUuid":"s1"}]}]"#,
        )
        .unwrap();
        assert_eq!(employees[0].stores[0].store_uuid, "s1");
        let documents: Vec<Document> = parse_body(
            br#"[{"uuid":"d1","type":"SELL","transactions":[{"type":"DOCUMENT_OPEN"}]}]"#,
        )
        .unwrap();
        assert_eq!(documents[0].kind.as_deref(), Some("SELL"));
        let products: Vec<Product> =
            parse_body(r#"[{"uuid":"p1","name":"Чай","price":12.5,"barCodes":["4600000000000"],"tax":"NO_VAT"}]"#.as_bytes()).unwrap();
        assert_eq!(products[0].bar_codes.len(), 1);
        assert_eq!(products[0].extra["tax"], "NO_VAT");
        let receipt: ReceiptEvent = parse_body(
            br#"{"id":"r1","timestamp":1504168645290,"version":2,"type":"ReceiptCreated","data":{"id":"r1","storeId":"s1","deviceId":"d1","type":"SELL","items":[],"totalAmount":100}}"#,
        )
        .unwrap();
        assert_eq!(receipt.data.unwrap().store_id.as_deref(), Some("s1"));
    }
}
