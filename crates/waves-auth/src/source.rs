//! The credential source: an API key, or access tokens from the authorization service with
//! rotating refresh tokens.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::HttpSettings;
use auth_core::provider::{LazyClient, read_body_limited};
use auth_core::{AuthError, Credential, CredentialSource, Identity, RefreshPolicy};
use http::HeaderValue;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::config::{API_KEY_LIFETIME, MAX_TOKEN_LIFETIME, Secrets, WavesConfig, WavesMode};
use crate::error::answer_error;
use crate::protocol::{
    self, API_KEY_HEADER, LOGIN_PATH, LoginRequest, REFRESH_PATH, RefreshRequest,
    SERVICE_TOKEN_BODY, TOKEN_PATH, TokenPair,
};
use crate::{PROVIDER, jwt};

/// The [`Credential::extra`] under which the refresh token of a pair is kept (and stored).
pub const REFRESH_TOKEN_EXTRA: &str = "refresh_token";

/// The longest token-endpoint answer accepted: 64 KiB (real pairs are a few KiB).
pub(crate) const TOKEN_MAX_BYTES: usize = 64 * 1024;

/// How many spent refresh tokens are remembered (as hashes) to refuse sending one twice.
const SPENT_MEMORY: usize = 4096;

/// The Waves Enterprise credential source.
///
/// - **API-key mode**: `X-API-Key: <key>`, a credential that never expires (it is re-made, with
///   no request, every [`API_KEY_LIFETIME`]). A node answers a wrong key with HTTP 403 error 2,
///   which is returned to the caller as is: a new credential would be the same key.
/// - **Password mode**: `POST {auth}/v1/auth/login`, then `Authorization: Bearer <access_token>`.
///   The expiry is the access JWT's `exp` (read without verification; no readable `exp` means
///   [`crate::DEFAULT_TOKEN_LIFETIME`]). When the cache hands back the previous credential, its
///   refresh token buys the next pair at `/v1/auth/refresh`; the new refresh token travels in
///   the credential's extras, so the cache saves it to its store at once. A refresh token is
///   sent at most once by this source; if a refresh is refused (or the token was already spent)
///   the source logs in again.
/// - **Service mode**: like password mode, with `POST {auth}/v1/auth/token` and the service token
///   as the original grant.
///
/// HTTP 401 (node codes 618, 619, 622) is a rejection; 403 (621, a missing role) is not.
///
/// # Example
///
/// Against the emulator (feature `testkit`); with a real deployment, the config names its
/// authorization service instead.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::AuthError> {
/// use waves_auth::WavesSource;
/// # let emulator = waves_auth::testkit::Emulator::start().await;
/// # let config = emulator.config();
/// # let node_url = emulator.node_url();
///
/// let client = WavesSource::new(config).into_client()?; // refreshes 30 s before `exp`
/// let answer = client.get(&node_url).await?;
/// assert_eq!(answer.status(), 200);
///
/// // The source, for what the client does not do (here a refresh by hand):
/// let source = client.cache().source_as::<WavesSource>().expect("a Waves client");
/// let credential = client.cache().get().await?;
/// let refresh_token = credential.extra(waves_auth::REFRESH_TOKEN_EXTRA).expect("a pair");
/// let next = source.refresh(refresh_token).await?;
/// assert!(!next.same_token(&credential));
/// # Ok(()) }
/// ```
pub struct WavesSource {
    config: WavesConfig,
    identity: Identity,
    http: LazyClient,
    spent: Mutex<SpentTokens>,
}

#[derive(Default)]
struct SpentTokens {
    seen: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl SpentTokens {
    /// Records `token` as sent; `false` if it had been sent before.
    fn spend(&mut self, token: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if !self.seen.insert(digest) {
            return false;
        }
        self.order.push_back(digest);
        if self.order.len() > SPENT_MEMORY
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        true
    }
}

impl WavesSource {
    /// A source for the credentials in `config`.
    pub fn new(config: WavesConfig) -> Self {
        let identity = match (&config.secrets, config.auth_url.as_ref()) {
            (Secrets::Password { login, .. }, Some(url)) => {
                Identity::new(PROVIDER, ["password", url.as_str(), login.as_str()])
            }
            (Secrets::Service(_), Some(url)) => {
                Identity::new(PROVIDER, ["service", url.as_str(), config.account.as_str()])
            }
            _ => Identity::new(PROVIDER, ["api-key", config.account.as_str()]),
        };
        let http = LazyClient::new(PROVIDER, config.http_settings.clone());
        Self {
            config,
            identity,
            http,
            spent: Mutex::new(SpentTokens::default()),
        }
    }

    /// The settings.
    pub fn config(&self) -> &WavesConfig {
        &self.config
    }

    /// Which kind of credential this source hands out.
    pub fn mode(&self) -> WavesMode {
        self.config.mode()
    }

    /// The original grant, without any cache: in password mode a login, in service mode a
    /// service-token exchange, in API-key mode the key's credential (no request).
    pub async fn grant(&self) -> Result<Credential, AuthError> {
        match &self.config.secrets {
            Secrets::ApiKey(key) => api_key_credential(key),
            Secrets::Password { login, password } => {
                tracing::debug!("logging in to the authorization service");
                let body = serde_json::to_string(&LoginRequest {
                    username: login,
                    password: password.expose_secret(),
                })
                .map_err(|_| AuthError::config(PROVIDER, "the login cannot be written as JSON"))?;
                let pair = self
                    .post_for_pair(
                        "login",
                        LOGIN_PATH,
                        body,
                        None,
                        "check the login and password",
                        &[password.expose_secret()],
                    )
                    .await?;
                self.credential_from(pair)
            }
            Secrets::Service(token) => {
                tracing::debug!("exchanging the service token");
                let pair = self
                    .post_for_pair(
                        "the service-token exchange",
                        TOKEN_PATH,
                        SERVICE_TOKEN_BODY.to_owned(),
                        Some(token),
                        "check the service token (only the service's administrator can issue one)",
                        &[token.expose_secret()],
                    )
                    .await?;
                self.credential_from(pair)
            }
        }
    }

    /// Spends `refresh_token` on a new pair, without any cache. The token is marked spent
    /// before it is sent, so this source never sends it again, even if the answer is lost; a
    /// second call with it is refused without a request ([`AuthError::Rejected`]).
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<Credential, AuthError> {
        if self.mode() == WavesMode::ApiKey {
            return Err(AuthError::config(
                PROVIDER,
                "API-key mode has no refresh tokens",
            ));
        }
        let fresh = self
            .spent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .spend(refresh_token.expose_secret());
        if !fresh {
            return Err(AuthError::rejected(
                PROVIDER,
                None,
                "this refresh token was already sent once and refresh tokens are single-use; logging in again is needed",
            ));
        }
        tracing::debug!("refreshing the access token");
        let body = serde_json::to_string(&RefreshRequest {
            token: refresh_token.expose_secret(),
        })
        .map_err(|_| {
            AuthError::protocol(PROVIDER, "the refresh token cannot be written as JSON")
        })?;
        let pair = self
            .post_for_pair(
                "refresh",
                REFRESH_PATH,
                body,
                None,
                "the refresh token is no longer valid; log in again",
                &[refresh_token.expose_secret()],
            )
            .await?;
        self.credential_from(pair)
    }

    async fn post_for_pair(
        &self,
        endpoint: &str,
        path: &str,
        body: String,
        bearer: Option<&SecretString>,
        hint: &str,
        secrets: &[&str],
    ) -> Result<TokenPair, AuthError> {
        let url = self.config.endpoint(path)?;
        let mut request = self
            .http
            .get()?
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body);
        if let Some(token) = bearer {
            let mut value = HeaderValue::from_str(&protocol::bearer(token.expose_secret()))
                .map_err(|_| {
                    AuthError::config(PROVIDER, "service_token cannot form a header value")
                })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        let response = request
            .send()
            .await
            .map_err(|error| AuthError::transport(PROVIDER, error))?;
        let status = response.status();
        let body = read_body_limited(PROVIDER, response, TOKEN_MAX_BYTES).await?;
        if !status.is_success() {
            return Err(answer_error(endpoint, status, &body, hint, secrets));
        }
        TokenPair::parse(&body)
            .map_err(|problem| AuthError::protocol(PROVIDER, format!("{endpoint}: {problem}")))
    }

    fn credential_from(&self, pair: TokenPair) -> Result<Credential, AuthError> {
        let now = SystemTime::now();
        let expires_at = match jwt::expiry_of(&pair.access_token) {
            Ok(exp) => exp.min(now + MAX_TOKEN_LIFETIME),
            Err(problem) => {
                tracing::warn!(
                    %problem,
                    assumed_lifetime_s = self.config.default_token_lifetime.as_secs(),
                    "no usable expiry in the access token; assuming a short lifetime"
                );
                now + self.config.default_token_lifetime
            }
        };
        if let Some(kind) = &pair.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            tracing::warn!(token_type = %kind, "unexpected token_type; sending the token as Bearer");
        }
        let header = protocol::bearer(&pair.access_token);
        let mut credential = Credential::new(SecretString::from(pair.access_token), expires_at)
            .with_header(PROVIDER, AUTHORIZATION, &header)?;
        match pair.refresh_token {
            Some(refresh) => {
                credential =
                    credential.with_extra(REFRESH_TOKEN_EXTRA, SecretString::from(refresh));
            }
            None => {
                tracing::debug!("the pair has no refresh token; the next renewal is a new grant")
            }
        }
        Ok(credential)
    }
}

fn api_key_credential(key: &SecretString) -> Result<Credential, AuthError> {
    Credential::new(key.clone(), SystemTime::now() + API_KEY_LIFETIME).with_header(
        PROVIDER,
        API_KEY_HEADER,
        key.expose_secret(),
    )
}

#[async_trait]
impl CredentialSource for WavesSource {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The config's connection settings, for the API client too.
    fn http_settings(&self) -> HttpSettings {
        self.config.http_settings().clone()
    }

    /// The refresh timing the protocol sheet asks for: refresh 30 s before `exp` (plus up to
    /// 5 s of jitter so a fleet does not refresh at once); back off 1 s doubling to 60 s after
    /// failures. A cache over this source uses it unless its builder is given another policy.
    fn refresh_policy(&self) -> RefreshPolicy {
        RefreshPolicy {
            margin: Duration::from_secs(30),
            jitter: Duration::from_secs(5),
            ..RefreshPolicy::default()
        }
    }

    async fn acquire(&self, previous: Option<&Credential>) -> Result<Credential, AuthError> {
        if self.mode() == WavesMode::ApiKey {
            return self.grant().await;
        }
        if let Some(refresh_token) = previous.and_then(|p| p.extra(REFRESH_TOKEN_EXTRA)) {
            match self.refresh(refresh_token).await {
                Ok(credential) => return Ok(credential),
                Err(error) if error.is_rejection() => {
                    tracing::info!(%error, "refresh refused; falling back to the original grant");
                }
                Err(error) => return Err(error),
            }
        }
        self.grant().await
    }

    /// With an API key, yes; with OAuth, no: a refresh spends the refresh token another
    /// process may be about to send, and one it cannot save is lost to the fleet.
    fn parallel_acquisition_is_safe(&self) -> bool {
        self.mode() == WavesMode::ApiKey
    }

    /// API-key mode: the configured key, never the stored one. OAuth: `Authorization: Bearer`
    /// from the stored access token, with its refresh token.
    fn restore(
        &self,
        token: SecretString,
        expires_at: SystemTime,
        extras: &std::collections::BTreeMap<String, SecretString>,
    ) -> Result<Credential, AuthError> {
        if let Secrets::ApiKey(key) = &self.config.secrets {
            return api_key_credential(key);
        }
        let header = protocol::bearer(token.expose_secret());
        let mut credential =
            Credential::new(token, expires_at).with_header(PROVIDER, AUTHORIZATION, &header)?;
        if let Some(refresh) = extras.get(REFRESH_TOKEN_EXTRA) {
            credential = credential.with_extra(REFRESH_TOKEN_EXTRA, refresh.clone());
        }
        Ok(credential)
    }

    /// The authorization service's origin (OAuth mode); nodes are added by the caller
    /// ([`AuthClient::allow_origin`](auth_core::AuthClient::allow_origin)).
    fn api_origins(&self) -> Vec<url::Url> {
        self.config.auth_url.iter().cloned().collect()
    }
}

auth_core::provider::source_shortcuts!(WavesSource);

impl fmt::Debug for WavesSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WavesSource")
            .field("config", &self.config)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spent_tokens_are_remembered_and_bounded() {
        let mut spent = SpentTokens::default();
        assert!(spent.spend("a"));
        assert!(!spent.spend("a"));
        for i in 0..SPENT_MEMORY {
            assert!(spent.spend(&format!("t{i}")));
        }
        assert_eq!(spent.order.len(), SPENT_MEMORY);
        assert_eq!(spent.seen.len(), SPENT_MEMORY);
        // "a" was the oldest and has been forgotten.
        assert!(spent.spend("a"));
    }

    fn api_key_config(key: &str) -> WavesConfig {
        WavesConfig::builder()
            .api_key(SecretString::from(key.to_owned()))
            .build()
            .unwrap()
    }

    #[test]
    fn the_policy_refreshes_30_s_before_exp() {
        let policy = WavesSource::new(api_key_config("k3y")).refresh_policy();
        assert_eq!(policy.margin, Duration::from_secs(30));
        assert_eq!(policy.jitter, Duration::from_secs(5));
        let margin = policy.margin_for(Duration::from_secs(600));
        assert!(margin >= Duration::from_secs(30) && margin <= Duration::from_secs(35));
    }

    /// Lets the caches' timer tasks run after time was advanced.
    async fn settle_timers() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    /// The long form, `CredentialCache::new(WavesSource::new(config))`, takes the Waves policy
    /// from the source (it used to get the default 60 s): a credential stays fresh until 30-35 s
    /// before its expiry, not 60-70 s.
    #[tokio::test(start_paused = true)]
    async fn the_long_form_cache_refreshes_30_s_before_expiry() {
        use auth_core::CredentialCache;

        let cache = CredentialCache::new(WavesSource::new(api_key_config("k3y")));
        assert_eq!(cache.policy().margin, Duration::from_secs(30));
        assert_eq!(cache.policy().jitter, Duration::from_secs(5));
        let default_policy = CredentialCache::builder(WavesSource::new(api_key_config("k3y")))
            .policy(RefreshPolicy::default())
            .build();
        let credential = cache.get().await.unwrap();
        default_policy.get().await.unwrap();
        let lifetime = credential.remaining();

        // 50 s before expiry: inside the default 60-70 s margin, outside Waves' 30-35 s.
        tokio::time::advance(lifetime - Duration::from_secs(50)).await;
        settle_timers().await;
        assert!(
            cache.fresh().is_some(),
            "refreshing earlier than 35 s ahead"
        );
        assert!(
            default_policy.fresh().is_none(),
            "the default margin is 60 s"
        );

        // 29 s before expiry: inside Waves' margin.
        tokio::time::advance(Duration::from_secs(21)).await;
        settle_timers().await;
        assert!(cache.fresh().is_none(), "not refreshing 30 s ahead");
    }

    #[tokio::test]
    async fn api_key_mode_hands_out_the_key_as_x_api_key() {
        let source = WavesSource::new(api_key_config("ridethewaves!"));
        let credential = source.acquire(None).await.unwrap();
        assert_eq!(credential.token().expose_secret(), "ridethewaves!");
        assert_eq!(credential.headers()["x-api-key"], "ridethewaves!");
        assert!(credential.headers()["x-api-key"].is_sensitive());
        assert!(credential.remaining() > Duration::from_secs(364 * 24 * 3600));
        assert!(!format!("{credential:?} {source:?}").contains("ridethewaves"));
        assert!(source.refresh(&SecretString::from("x")).await.is_err());
    }

    #[test]
    fn identities_keep_modes_and_accounts_apart_and_hold_no_secret() {
        let key = |account: &str| {
            WavesSource::new(
                WavesConfig::builder()
                    .api_key(SecretString::from("key-secret"))
                    .account(account)
                    .build()
                    .unwrap(),
            )
        };
        assert_ne!(key("a").identity(), key("b").identity());
        assert_eq!(key("a").identity(), key("a").identity());
        let password = WavesSource::new(
            WavesConfig::builder()
                .auth_url("https://auth.example.com")
                .login("user@example.com")
                .password(SecretString::from("hunter2-secret"))
                .build()
                .unwrap(),
        );
        assert_ne!(password.identity(), key("default").identity());
        assert!(password.identity().storage_key().starts_with("waves-"));
        assert!(!password.identity().storage_key().contains("hunter2"));
    }
}
