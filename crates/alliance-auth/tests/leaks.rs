//! An authorize answer of the wrong shape (a session in clear, say) is described in the error,
//! never quoted: it may hold `refreshToken` and `authToken`.

use alliance_auth::testkit::{DEMO_AUTH_KEY, DEMO_SERVICE_CODE};
use alliance_auth::{AllianceConfig, AllianceSource, MerchantKey};
use auth_core::testkit::{HostileServer, Misbehaviour};

const IN_CLEAR: &str = r#"{"refreshToken":"Canary-Refresh-Token-71","authToken":"Canary-Auth-Token-72","deviceId":"d-1"}"#;

#[tokio::test]
async fn a_session_in_clear_is_never_quoted_in_the_error() {
    for status in [200, 401, 403, 500] {
        let server = HostileServer::start(Misbehaviour::json(status, IN_CLEAR));
        let config = AllianceConfig::builder()
            .base_url(server.url())
            .service_code(DEMO_SERVICE_CODE)
            .authorization_key(MerchantKey::from_jwk(DEMO_AUTH_KEY).unwrap())
            .build()
            .unwrap();
        let error = AllianceSource::new(config).authorize().await.unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("Canary"), "HTTP {status}: {shown}");
        assert!(
            shown.contains("refreshToken"),
            "HTTP {status}: the shape is described: {shown}"
        );
    }
}
