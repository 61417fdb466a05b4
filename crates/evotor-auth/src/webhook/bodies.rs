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
use sha2::{Digest, Sha256};

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
    shape(parse_tree(body)?)
}

/// Reads `body` as JSON: 400 / 2001 naming where it broke (`subject` the field's path, or
/// `body`; `reason` `syntax`, `encoding` for invalid UTF-8, `nesting` beyond 128 levels).
fn parse_tree(body: &[u8]) -> Result<Value, WebhookError> {
    let mut reader = serde_json::Deserializer::from_slice(body);
    let tree: Value = serde_path_to_error::deserialize(&mut reader).map_err(|error| {
        let message = error.inner().to_string();
        let reason = if message.contains("recursion limit") {
            "nesting"
        } else if message.contains("UTF-8") || message.contains("unicode") {
            "encoding"
        } else {
            "syntax"
        };
        let mut path = error.path().to_string();
        if reason == "nesting" {
            path = outer_field(&path);
        }
        WebhookError::syntax()
            .with_reason(reason)
            .with_subject(subject_of(&path))
    })?;
    reader.end().map_err(|_| {
        WebhookError::syntax()
            .with_reason("syntax")
            .with_subject("body")
    })?;
    Ok(tree)
}

/// Where too deep a nesting starts: the path without its trailing `[n]` steps, at most 64
/// characters (cut between steps).
fn outer_field(path: &str) -> String {
    let mut path = path;
    while let Some(rest) = path.strip_suffix(']').and_then(|p| p.rsplit_once('[')) {
        path = rest.0;
    }
    if path.len() <= 64 {
        return path.to_owned();
    }
    let mut end = 64;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    let cut = path[..end].rfind(['.', '[']).unwrap_or(end);
    path[..cut].to_owned()
}

fn subject_of(path: &str) -> String {
    if path.is_empty() || path == "." || path == "?" {
        "body".to_owned()
    } else {
        path.to_owned()
    }
}

fn shape<T: DeserializeOwned>(tree: Value) -> Result<T, WebhookError> {
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

/// A time as the Cloud sends it. The spec types the installation event's `timestamp` as a
/// string but prints Unix milliseconds as a number; the receipt's is a number whose example is
/// a string; the subscription event's is ISO 8601 text. Any number or string is accepted and
/// kept as received; [`unix_millis`](Self::unix_millis) reads the millisecond forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Timestamp {
    /// A JSON number (`1504168645290`, sometimes with a fraction).
    Number(serde_json::Number),
    /// A JSON string (`"1504168645290"`, `"2017-04-20T18:26:37.753+0000"`, ...).
    Text(String),
}

impl Timestamp {
    /// The time as Unix milliseconds, when it is a number or a string of digits (a fraction is
    /// dropped); `None` for other text.
    pub fn unix_millis(&self) -> Option<i64> {
        match self {
            Self::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Self::Text(text) => {
                let text = text.trim();
                text.parse::<i64>().ok().or_else(|| {
                    text.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .map(|f| f as i64)
                })
            }
        }
    }
}

/// A list field that may also arrive as `null` (read as empty).
fn nullable_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Parses a notification body that carries one item or an array of them ("one or several", as
/// the spec says of receipts; its examples send either).
pub fn parse_items<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, WebhookError> {
    let tree = parse_tree(body)?;
    if tree.is_array() {
        shape(tree)
    } else {
        shape(tree).map(|item| vec![item])
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

/// `POST /api/v1/user/token`: the Cloud delivers **its** token for a user, the Cloud token your
/// service sends to `api.evotor.ru` (kept in a [`CloudTokenStore`](crate::CloudTokenStore)).
///
/// Not to be confused with a *user token*: the token your receiver makes
/// ([`generate_user_token`](super::generate_user_token)) and hands the Cloud in its answer to
/// `/user/create` and `/user/verify`, which the Cloud then sends back on notifications.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudTokenDelivery {
    /// The Evotor user (`userUuid` in older documents).
    #[serde(alias = "userUuid")]
    pub user_id: UserId,
    /// The Cloud token ("токен приложения") for calls to `api.evotor.ru`. Never printed.
    pub token: SecretString,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

impl fmt::Debug for CloudTokenDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudTokenDelivery")
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
/// three days until answered `200 OK`; recognised by `userId` + `subscriptionId` +
/// `sequenceNumber`.
///
/// The spec requires `subscriptionId`, `productId`, `userId`, `timestamp`, `sequenceNumber` and
/// `type`; `userId`, `subscriptionId` and `sequenceNumber` identify the event and are checked
/// strictly, the others are read as leniently as the spec's examples need. The per-type fields
/// (`nextBillingDate`, `chargedSum`, `addons`, ...) stay in `extra`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionEvent {
    /// The subscription.
    pub subscription_id: String,
    /// Your application's id.
    #[serde(default)]
    pub product_id: Option<String>,
    /// The Evotor user (`userUuid` in older documents).
    #[serde(alias = "userUuid")]
    pub user_id: UserId,
    /// When, e.g. `2017-04-20T18:26:37.753+0000` (an offset with no colon).
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
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
    pub device_number: Option<i64>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SubscriptionEvent {
    /// The key that recognises a repeated delivery:
    /// `subscription:<userId>:<subscriptionId>:<sequenceNumber>`.
    pub fn delivery_key(&self) -> String {
        format!(
            "subscription:{}:{}:{}",
            self.user_id, self.subscription_id, self.sequence_number
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
    #[serde(default)]
    pub product_id: Option<String>,
    /// The Evotor user (`userUuid` in older documents).
    #[serde(alias = "userUuid")]
    pub user_id: UserId,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /api/v2/installation/event`: the app was installed or uninstalled. Re-sent until
/// answered `200 OK`; recognised by `data.userId` + `id`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallationEvent {
    /// The event's id.
    pub id: String,
    /// When: Unix milliseconds as a number, or any string (the schema's type).
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
    /// The event format's version (`2`; the schema's type is the invalid `enum`, so any JSON
    /// value is kept as received).
    #[serde(default)]
    pub version: Option<Value>,
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
    /// The key that recognises a repeated delivery: `installation:<userId>:<id>`.
    pub fn delivery_key(&self) -> String {
        format!("installation:{}:{}", self.data.user_id, self.id)
    }
}

/// A shop, what the Evotor spec calls a store ("магазин", `PUT /api/v1/inventories/stores`).
/// Named `Shop` here so that "store" means one thing in this crate: where the receiver keeps its
/// state ([`WebhookStore`](super::WebhookStore)).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shop {
    /// The store's uuid.
    pub uuid: String,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its address (may be `null`).
    #[serde(default)]
    pub address: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A smart terminal (`PUT /api/v1/inventories/devices`). The spec requires no field here.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// The terminal's uuid.
    #[serde(default)]
    pub uuid: Option<String>,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// The store it belongs to.
    #[serde(default)]
    pub store_uuid: Option<String>,
    /// Every other field (`timezoneOffset`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A shop ([`Shop`]) an employee works in: the spec sends its uuid as a string; older payloads send an
/// object (`{"storeUuid": "…"}`). Both are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmployeeShop {
    /// `"20170222-d58c-40e0-8051-b53adff38860"` (the spec's form).
    Uuid(String),
    /// `{"storeUuid": "…", ...}`.
    Object(Extra),
}

impl EmployeeShop {
    /// The store's uuid (`storeUuid` or `uuid` of the object form), if stated.
    pub fn store_uuid(&self) -> Option<&str> {
        match self {
            Self::Uuid(uuid) => Some(uuid),
            Self::Object(fields) => fields
                .get("storeUuid")
                .or_else(|| fields.get("uuid"))
                .and_then(Value::as_str),
        }
    }
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
    /// `ADMIN`, `CASHIER`, `MANUAL`, ...
    #[serde(default)]
    pub role: Option<String>,
    /// The stores the employee works in (`null` reads as none).
    #[serde(default, deserialize_with = "nullable_list")]
    pub stores: Vec<EmployeeShop>,
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
    /// The transactions, as received (`null` reads as none).
    #[serde(default, deserialize_with = "nullable_list")]
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
    /// Barcodes (`null` reads as none).
    #[serde(default, deserialize_with = "nullable_list")]
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

/// The receipt inside a v2 receipt notification. The spec requires none of its fields.
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
    /// The positions, as received (`null` reads as none).
    #[serde(default, deserialize_with = "nullable_list")]
    pub items: Vec<Value>,
    /// Every other field (`totalAmount`, `dateTime`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One receipt of `POST /api/v2/receipts`, in the v2 event envelope (`id`, `timestamp`,
/// `version`, `type`, `data`). The spec requires no field; the body is one receipt or an array.
///
/// Recognised when re-sent by the user and `id`; a receipt without `id` by the user and the
/// SHA-256 of its canonical JSON (keys sorted), so an identical copy is applied once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptEvent {
    /// The notification's id.
    #[serde(default)]
    pub id: Option<String>,
    /// When: Unix milliseconds, a number (possibly fractional) or a string.
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
    /// The format's version (2), as received.
    #[serde(default)]
    pub version: Option<Value>,
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
    /// The key that recognises a repeated delivery for `user`: `receipt:<user>:<id>`, or
    /// `receipt:<user>:sha256:<hex>` of the canonical JSON when there is no `id`.
    pub fn delivery_key(&self, user: &UserId) -> String {
        match &self.id {
            Some(id) => format!("receipt:{user}:{id}"),
            None => {
                let tree = serde_json::to_value(self).unwrap_or(Value::Null);
                let mut canonical = Vec::new();
                write_canonical(&tree, &mut canonical);
                let digest = Sha256::digest(&canonical);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                format!("receipt:{user}:sha256:{hex}")
            }
        }
    }
}

/// JSON with object keys sorted at every level, so equal values give equal bytes.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(serde_json::to_vec(key).unwrap_or_default());
                out.push(b':');
                write_canonical(&map[key], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        other => out.extend(serde_json::to_vec(other).unwrap_or_default()),
    }
}

/// A notification, guarded by a user token.
#[derive(Debug, Clone)]
pub enum Notification {
    /// `PUT /api/v1/inventories/stores`.
    Stores(Vec<Shop>),
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
    /// `POST /api/v2/receipts`: one receipt (a body with several gives one call per receipt,
    /// each applied once).
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
        let body: CloudTokenDelivery = parse_body(TOKEN.as_bytes()).unwrap();
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
        assert_eq!(
            event.timestamp,
            Some(Timestamp::Text("2017-04-20T18:26:37.753+0000".into()))
        );
        assert_eq!(
            event.delivery_key(),
            "subscription:01-000000000000001:a99fbf70-6307-4acc-b61c-741ee9eef6c0:4"
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
        assert_eq!(
            event.timestamp.as_ref().and_then(Timestamp::unix_millis),
            Some(1504168645290)
        );
        assert_eq!(event.data.user_id, user());
        assert_eq!(
            event.delivery_key(),
            "installation:01-000000000000001:a99fbf70-…"
        );
        let text = INSTALLATION.replace("1504168645290", "\"1504168645290\"");
        let event: InstallationEvent = parse_body(text.as_bytes()).unwrap();
        assert_eq!(
            event.timestamp.as_ref().and_then(Timestamp::unix_millis),
            Some(1504168645290)
        );
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
            r#"{"errors":[{"code":2001,"reason":"syntax","subject":"userId"}]}"#
        );
        let encoding = parse_body::<UserCreate>(b"{\"userId\":\"01-\xff\"}").unwrap_err();
        assert_eq!(encoding.errors()[0].reason.as_deref(), Some("encoding"));
        assert_eq!(encoding.errors()[0].subject.as_deref(), Some("userId"));
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        let nesting = parse_body::<UserCreate>(deep.as_bytes()).unwrap_err();
        assert_eq!(nesting.code(), Some(2001));
        assert_eq!(nesting.errors()[0].reason.as_deref(), Some("nesting"));
        assert_eq!(nesting.errors()[0].subject.as_deref(), Some("a"));
        let objects = format!("{}1{}", "{\"ключ\":".repeat(200), "}".repeat(200));
        let nested = parse_body::<UserCreate>(objects.as_bytes()).unwrap_err();
        let subject = nested.errors()[0].subject.clone().unwrap();
        assert!(
            subject.starts_with("ключ.ключ") && subject.len() <= 64,
            "{subject}"
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
        let null =
            parse_body::<CloudTokenDelivery>(br#"{"userId":"01-000000000000001","token":null}"#)
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
            parse_body::<Vec<Shop>>(br#"{"uuid":"x"}"#)
                .unwrap_err()
                .code(),
            Some(2003)
        );
    }

    #[test]
    fn notifications_parse() {
        let stores: Vec<Shop> =
            parse_body(r#"[{"uuid":"20170222-D58C-40E0-8051-B53ADFF38860","name":"Мой магазин1","address":null,"code":null}]"#.as_bytes()).unwrap();
        assert_eq!(stores[0].name.as_deref(), Some("Мой магазин1"));
        assert!(stores[0].extra.contains_key("code"));
        let employees: Vec<Employee> = parse_body(
            br#"[{"uuid":"e1","name":"Ivan","phone":79876543210,"role":"CASHIER","stores":[{"storeUuid":"s1"}]}]"#,
        )
        .unwrap();
        assert_eq!(employees[0].stores[0].store_uuid(), Some("s1"));
        let spec_form: Vec<Employee> = parse_body(
            br#"[{"uuid":"e1","name":"Ivan","role":"ADMIN","stores":["20170222-d58c-40e0-8051-b53adff38860"]}]"#,
        )
        .unwrap();
        assert_eq!(
            spec_form[0].stores[0].store_uuid(),
            Some("20170222-d58c-40e0-8051-b53adff38860")
        );
        let null_codes: Vec<Product> =
            parse_items(br#"{"uuid":"p1","name":"x","group":false,"barCodes":null}"#).unwrap();
        assert!(null_codes[0].bar_codes.is_empty());
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
