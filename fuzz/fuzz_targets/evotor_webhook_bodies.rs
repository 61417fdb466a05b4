//! Every body the Evotor Cloud posts to a receiver, through `webhook::parse_body` into its typed
//! form: no panic, and a refusal is one of Evotor's 400 errors (2001/2002/2003).
#![no_main]

use std::fmt::Debug;

use evotor_auth::webhook::{
    Device, Document, Employee, InstallationEvent, Product, ReceiptEvent, Store, SubscriptionEvent,
    UserCreate, UserToken, UserVerify, parse_body,
};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fn parse<T: DeserializeOwned + Debug>(body: &[u8]) -> Option<T> {
    match parse_body::<T>(body) {
        Ok(value) => {
            let _ = format!("{value:?}");
            Some(value)
        }
        Err(error) => {
            assert_eq!(error.status().as_u16(), 400, "{error:?}");
            assert!(matches!(error.code(), Some(2001..=2003)), "{error:?}");
            let _ = error.body();
            None
        }
    }
}

fuzz_target!(|body: &[u8]| {
    parse::<UserCreate>(body);
    parse::<UserVerify>(body);
    parse::<UserToken>(body);
    if let Some(event) = parse::<SubscriptionEvent>(body) {
        let _ = event.delivery_key();
    }
    if let Some(event) = parse::<InstallationEvent>(body) {
        let _ = event.delivery_key();
    }
    if let Some(event) = parse::<ReceiptEvent>(body) {
        let _ = event.delivery_key();
    }
    parse::<Vec<Store>>(body);
    parse::<Vec<Device>>(body);
    parse::<Vec<Employee>>(body);
    parse::<Vec<Document>>(body);
    parse::<Vec<Product>>(body);
});
