//! Spec-valid bodies per path, generated from the schemas of Evotor's `definitions.yaml`
//! (proptest, 256 cases per path), through the real router: not one refused.
//!
//! Each strategy writes what the schema allows: required fields always, optional ones or not,
//! `x-nullable` ones as `null` too, any string where the type is `string` (patterns only on the
//! fields that identify: `userId`), either form where the spec and its examples disagree
//! (numbers vs strings for timestamps, one receipt vs an array), and unknown extra fields (the
//! schemas do not forbid additional properties).

mod common;

use std::sync::Arc;

use common::{Counting, call, create, service, token_config};
use evotor_auth::UserId;
use evotor_auth::webhook::{MemoryWebhookStore, Receiver, WebhookStore};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Number, Value, json};

const CASES: u32 = 256;

fn user_id() -> impl Strategy<Value = String> {
    "[0-9]{2}-[0-9]{15}"
}

fn uuid() -> impl Strategy<Value = String> {
    "[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
}

fn text() -> impl Strategy<Value = Value> {
    any::<String>().prop_map(Value::String)
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
    ]
}

fn integer() -> impl Strategy<Value = Value> {
    any::<i64>().prop_map(Value::from)
}

fn boolean() -> impl Strategy<Value = Value> {
    any::<bool>().prop_map(Value::Bool)
}

fn nullable(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    prop_oneof![1 => Just(Value::Null), 3 => inner]
}

fn one_of(values: &'static [&'static str]) -> impl Strategy<Value = Value> {
    proptest::sample::select(values).prop_map(|v| Value::String(v.to_owned()))
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![Just(Value::Null), boolean(), number(), text(),];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Fields a schema does not name (`x-…`, so they never collide with one it does).
fn extras() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::btree_map("x-[a-zA-Z0-9]{1,8}", any_json(), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

/// An object: `required` fields, each `optional` one present or not, and extras.
fn object(
    required: Vec<(&'static str, BoxedStrategy<Value>)>,
    optional: Vec<(&'static str, BoxedStrategy<Value>)>,
) -> BoxedStrategy<Value> {
    let required: Vec<_> = required
        .into_iter()
        .map(|(name, s)| s.prop_map(move |v| (name, Some(v))).boxed())
        .collect();
    let optional: Vec<_> = optional
        .into_iter()
        .map(|(name, s)| proptest::option::of(s).prop_map(move |v| (name, v)).boxed())
        .collect();
    (required, optional, extras())
        .prop_map(|(required, optional, mut fields)| {
            for (name, value) in required.into_iter().chain(optional) {
                if let Some(value) = value {
                    fields.insert(name.to_owned(), value);
                }
            }
            Value::Object(fields)
        })
        .boxed()
}

fn array(item: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    proptest::collection::vec(item, 0..4)
        .prop_map(Value::Array)
        .boxed()
}

fn b(s: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    s.boxed()
}

fn s(s: impl Strategy<Value = String> + 'static) -> BoxedStrategy<Value> {
    s.prop_map(Value::String).boxed()
}

const MEASURES: &[&str] = &[
    "",
    "шт",
    "кг",
    "л",
    "м",
    "км",
    "м2",
    "м3",
    "компл",
    "упак",
    "ед",
    "дроб",
];

fn product() -> BoxedStrategy<Value> {
    object(
        vec![
            ("uuid", s(uuid())),
            ("name", s("\\PC{1,100}")),
            ("group", b(boolean())),
            (
                "type",
                b(one_of(&[
                    "NORMAL",
                    "ALCOHOL_MARKED",
                    "ALCOHOL_NOT_MARKED",
                    "SERVICE",
                ])),
            ),
        ],
        vec![
            ("parentUuid", b(nullable(s(uuid())))),
            ("hasVariants", b(boolean())),
            ("quantity", b(number())),
            ("measureName", b(one_of(MEASURES))),
            (
                "tax",
                b(one_of(&[
                    "NO_VAT",
                    "VAT_0",
                    "VAT_10",
                    "VAT_18",
                    "VAT_10_110",
                    "VAT_18_118",
                ])),
            ),
            (
                "price",
                b((0f64..9_999_999.99).prop_map(|f| json!((f * 100.0).round() / 100.0))),
            ),
            ("allowToSell", b(boolean())),
            ("costPrice", b((0f64..9_999_999.99).prop_map(|f| json!(f)))),
            ("description", b(nullable(text()))),
            ("articleNumber", b(nullable(text()))),
            ("code", b(text())),
            ("barCodes", b(nullable(array(s("[0-9]{8,13}"))))),
            ("alcoCodes", b(nullable(array(s("[0-9]{19}"))))),
            (
                "alcoholByVolume",
                b(nullable((0f64..99.999).prop_map(|f| json!(f)))),
            ),
            (
                "alcoholProductKindCode",
                b(nullable((0i64..=999).prop_map(Value::from))),
            ),
            (
                "tareVolume",
                b(nullable((0f64..999.999).prop_map(|f| json!(f)))),
            ),
            (
                "attributes",
                b(proptest::collection::btree_map("\\PC{1,8}", text(), 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect()))),
            ),
        ],
    )
}

fn document() -> BoxedStrategy<Value> {
    let transaction = object(
        vec![],
        vec![(
            "type",
            b(one_of(&[
                "DOCUMENT_OPEN",
                "DOCUMENT_CLOSE",
                "REGISTER_POSITION",
                "PAYMENT",
                "OPEN_SESSION",
                "CLOSE_SESSION",
                "FPRINT_Z_REPORT",
                "POSITION_TAX",
            ])),
        )],
    );
    object(
        vec![
            ("uuid", s(uuid())),
            (
                "type",
                b(one_of(&[
                    "SELL",
                    "PAYBACK",
                    "CASH_INCOME",
                    "CASH_OUTCOME",
                    "OPEN_SESSION",
                    "FPRINT",
                    "CLOSE_SESSION",
                    "INVENTORY",
                    "ACCEPT",
                    "RETURN",
                    "WRITE_OFF",
                    "REVALUATION",
                    "OPEN_TARE",
                ])),
            ),
            ("deviceUuid", s(uuid())),
            ("closeDate", b(text())),
            ("openDate", b(text())),
            ("openUserCode", b(nullable(number()))),
            ("openUserUuid", b(text())),
            ("closeUserCode", b(nullable(number()))),
            ("closeUserUuid", b(text())),
            ("sessionUUID", s(uuid())),
            ("sessionNumber", b(text())),
            ("number", b(number())),
            ("closeResultSum", b(text())),
            ("closeSum", b(text())),
            ("storeUuid", b(text())),
            ("extras", b(nullable(b(extras().prop_map(Value::Object))))),
            ("version", b(one_of(&["V1", "V2"]))),
        ],
        vec![("transactions", array(transaction))],
    )
}

fn receipt(user: String) -> BoxedStrategy<Value> {
    let item = object(
        vec![],
        vec![
            ("id", b(text())),
            ("name", b(text())),
            (
                "itemType",
                b(one_of(&[
                    "NORMAL",
                    "ALCOHOL_MARKED",
                    "ALCOHOL_NOT_MARKED",
                    "SERVICE",
                ])),
            ),
            ("measureName", b(one_of(MEASURES))),
            ("quantity", b(number())),
            ("price", b(number())),
            ("costPrice", b(number())),
            ("sumPrice", b(number())),
            ("tax", b(number())),
            ("taxPercent", b(number())),
            ("discount", b(number())),
        ],
    );
    let data = object(
        vec![],
        vec![
            ("id", b(text())),
            ("deviceId", s(uuid())),
            ("storeId", s(uuid())),
            // Typed number, its example a string.
            ("dateTime", b(prop_oneof![number(), text()])),
            ("type", b(text())),
            ("shiftId", b(text())),
            ("employeeId", b(text())),
            (
                "paymentSource",
                b(one_of(&["PAY_CASH", "PAY_CASHBACK", "PAY_CARD", "OTHER"])),
            ),
            ("infoCheck", b(boolean())),
            ("egais", b(boolean())),
            ("items", array(item)),
            ("totalTax", b(number())),
            ("totalDiscount", b(number())),
            ("totalAmount", b(number())),
            ("extras", b(extras().prop_map(Value::Object))),
        ],
    );
    object(
        vec![],
        vec![
            ("id", b(text())),
            // Typed number (Unix milliseconds), its example a string.
            ("timestamp", b(prop_oneof![number(), text()])),
            ("userId", b(Just(Value::String(user)))),
            ("type", b(text())),
            ("version", b(any_json())),
            ("data", data),
        ],
    )
}

fn subscription_event() -> BoxedStrategy<Value> {
    let charged = object(
        vec![],
        vec![("amount", b(number())), ("currency", b(text()))],
    );
    let addon = object(vec![], vec![("id", b(text())), ("quantity", b(integer()))]);
    object(
        vec![
            ("subscriptionId", s(uuid())),
            ("productId", s(uuid())),
            ("userId", s(user_id())),
            ("timestamp", b(text())),
            ("sequenceNumber", b((1i64..i64::MAX).prop_map(Value::from))),
            (
                "type",
                b(prop_oneof![
                    4 => one_of(&[
                        "SubscriptionCreated",
                        "AddonsUpdated",
                        "SubscriptionActivated",
                        "SubscriptionRenewed",
                        "SubscriptionTermsChanged",
                        "SubscriptionTerminationRequested",
                        "SubscriptionTerminated",
                    ]),
                    1 => text(),
                ]),
            ),
        ],
        vec![
            ("planId", b(text())),
            ("trialPeriodDuration", b(text())),
            ("deviceNumber", b(integer())),
            ("nextBillingDate", b(text())),
            ("chargedSum", charged),
            ("addons", array(addon)),
        ],
    )
}

fn installation_event() -> BoxedStrategy<Value> {
    let data = object(
        vec![("productId", s(uuid())), ("userId", s(user_id()))],
        vec![],
    );
    object(
        vec![
            ("id", s(uuid())),
            // Typed string, its example a number.
            ("timestamp", b(prop_oneof![text(), number()])),
            ("version", b(any_json())),
            (
                "type",
                b(prop_oneof![
                    3 => one_of(&["ApplicationInstalled", "ApplicationUninstalled"]),
                    1 => text(),
                ]),
            ),
            ("data", data),
        ],
        vec![],
    )
}

/// A receiver on the real router, with one registered user.
struct Harness {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    user: UserId,
    user_auth: String,
}

impl Harness {
    fn new() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store: Arc<dyn WebhookStore> = Arc::new(MemoryWebhookStore::new());
        let app = evotor_auth::axum::router(Receiver::new(
            token_config(),
            store.clone(),
            Counting::new(store),
        ));
        let user = UserId::parse("01-000000000000001").unwrap();
        let user_auth = runtime.block_on(create(&app, &user));
        Self {
            runtime,
            app,
            user,
            user_auth,
        }
    }

    /// Runs `strategy` for [`CASES`] cases, each body sent by `send`, and counts refusals.
    fn run(&self, strategy: BoxedStrategy<Value>, send: impl Fn(&Self, Value) -> common::Reply) {
        let mut runner = TestRunner::new(Config::with_cases(CASES));
        runner
            .run(&strategy, |body| {
                let reply = send(self, body.clone());
                prop_assert_eq!(reply.status, 200, "{}\n{:?}", body, reply);
                reply.assert_content_type_matches_body();
                Ok(())
            })
            .unwrap();
    }

    fn send(&self, method: &str, path: &str, auth: &str, body: &Value) -> common::Reply {
        self.runtime
            .block_on(call(&self.app, method, path, Some(auth), body.to_string()))
    }
}

#[test]
fn user_create_bodies() {
    let h = Harness::new();
    let strategy = object(
        vec![("userId", s(user_id()))],
        vec![("customField", b(text()))],
    );
    h.run(strategy, |h, body| {
        h.send("POST", "/api/v1/user/create", &service(), &body)
    });
}

#[test]
fn user_verify_bodies() {
    let h = Harness::new();
    let strategy = object(
        vec![("userId", s(user_id()))],
        vec![
            ("username", b(text())),
            ("password", b(text())),
            ("customField", b(text())),
        ],
    );
    h.run(strategy, |h, body| {
        // The reference handler logs in registered users only: register first.
        let create = json!({ "userId": body["userId"] });
        let first = h.send("POST", "/api/v1/user/create", &service(), &create);
        assert!(matches!(first.status, 200 | 409), "{first:?}");
        h.send("POST", "/api/v1/user/verify", &service(), &body)
    });
}

#[test]
fn user_token_bodies() {
    let h = Harness::new();
    let strategy = object(vec![("userId", s(user_id())), ("token", b(text()))], vec![]);
    h.run(strategy, |h, body| {
        h.send("POST", "/api/v1/user/token", &service(), &body)
    });
}

#[test]
fn subscription_event_bodies() {
    let h = Harness::new();
    h.run(subscription_event(), |h, body| {
        h.send("POST", "/api/v1/subscription/event", &service(), &body)
    });
}

#[test]
fn installation_event_bodies() {
    let h = Harness::new();
    h.run(installation_event(), |h, body| {
        h.send("POST", "/api/v2/installation/event", &service(), &body)
    });
}

#[test]
fn receipt_bodies_one_or_several() {
    let h = Harness::new();
    let one = receipt(h.user.to_string());
    let strategy = prop_oneof![
        one.clone(),
        proptest::collection::vec(one, 1..4).prop_map(Value::Array),
    ]
    .boxed();
    h.run(strategy, |h, body| {
        h.send("POST", "/api/v2/receipts", &h.user_auth, &body)
    });
}

#[test]
fn store_bodies() {
    let h = Harness::new();
    let store = object(
        vec![("uuid", s(uuid())), ("name", b(text()))],
        vec![("address", b(nullable(text())))],
    );
    h.run(array(store), |h, body| {
        h.send("PUT", "/api/v1/inventories/stores", &h.user_auth, &body)
    });
}

#[test]
fn device_bodies() {
    let h = Harness::new();
    let device = object(
        vec![],
        vec![
            ("uuid", s(uuid())),
            ("name", b(text())),
            ("storeUuid", s(uuid())),
            ("timezoneOffset", b(integer())),
        ],
    );
    h.run(array(device), |h, body| {
        h.send("PUT", "/api/v1/inventories/devices", &h.user_auth, &body)
    });
}

#[test]
fn employee_bodies() {
    let h = Harness::new();
    let employee = object(
        vec![
            ("uuid", s(uuid())),
            ("name", b(text())),
            ("stores", array(s(uuid()))),
            ("role", b(one_of(&["ADMIN", "CASHIER", "MANUAL"]))),
        ],
        vec![
            ("lastName", b(nullable(text()))),
            ("patronymicName", b(nullable(text()))),
            (
                "phone",
                b(nullable(
                    (70_000_000_000i64..80_000_000_000).prop_map(Value::from),
                )),
            ),
        ],
    );
    h.run(array(employee), |h, body| {
        h.send("PUT", "/api/v1/inventories/employees", &h.user_auth, &body)
    });
}

#[test]
fn document_bodies() {
    let h = Harness::new();
    h.run(array(document()), |h, body| {
        h.send(
            "PUT",
            "/api/v1/inventories/stores/20170222-5a12-403a-80f6-75c361356826/documents",
            &h.user_auth,
            &body,
        )
    });
}

#[test]
fn product_bodies() {
    let h = Harness::new();
    h.run(array(product()), |h, body| {
        h.send(
            "POST",
            "/api/v1/inventories/stores/20170222-5a12-403a-80f6-75c361356826/products",
            &h.user_auth,
            &body,
        )
    });
}

#[test]
fn commodity_queries_are_answered_404_not_refused() {
    let h = Harness::new();
    let query = (any::<String>(), proptest::option::of(any::<String>()));
    let mut runner = TestRunner::new(Config::with_cases(CASES));
    runner
        .run(&query, |(scan, alc)| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("scanCode", &scan);
            if let Some(alc) = &alc {
                query.append_pair("alcCode", alc);
            }
            let path = format!("/api/v1/commodities?{}", query.finish());
            let reply = h
                .runtime
                .block_on(call(&h.app, "GET", &path, Some(&h.user_auth), ""));
            // The reference handler has no catalogue: "not found" is its answer.
            prop_assert_eq!((reply.status, reply.body.as_str()), (404, "{}"), "{}", path);
            Ok(())
        })
        .unwrap();
}
