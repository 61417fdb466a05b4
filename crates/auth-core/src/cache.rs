//! The credential cache: lock-free reads, single-flight acquisition, early refresh with jitter,
//! serving a still-valid credential when a refresh fails, and exponential backoff.

use std::any::Any;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use http::HeaderMap;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tracing::Instrument;

use crate::store::{CredentialStore, LockAttempt, RestoringStore, Saved, StoreLock};
use crate::{AuthError, Credential, CredentialSource, Identity, RefreshPolicy};

/// Where a cached entry stands; kept in an [`EntryStateCell`] so the hot path reads one byte.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryState {
    /// Its refresh time has not come (a timer flips this; no clock read needed).
    Fresh = 0,
    /// The refresh timer fired or could not be armed: compare with the clock.
    CheckClock = 1,
    /// A refresh was requested: still valid, refresh in the background now.
    RefreshDue = 2,
    /// The provider rejected this credential: never serve it again.
    Rejected = 3,
}

impl EntryState {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Fresh,
            1 => Self::CheckClock,
            2 => Self::RefreshDue,
            _ => Self::Rejected,
        }
    }
}

/// An [`EntryState`] that threads share.
struct EntryStateCell(AtomicU8);

impl EntryStateCell {
    fn new(state: EntryState) -> Self {
        Self(AtomicU8::new(state as u8))
    }

    #[inline]
    fn get(&self) -> EntryState {
        EntryState::from_u8(self.0.load(Ordering::Acquire))
    }

    #[inline]
    fn is(&self, state: EntryState) -> bool {
        self.0.load(Ordering::Acquire) == state as u8
    }

    fn set(&self, state: EntryState) {
        self.0.store(state as u8, Ordering::Release);
    }

    /// Sets `state`, answering the one before.
    fn replace(&self, state: EntryState) -> EntryState {
        EntryState::from_u8(self.0.swap(state as u8, Ordering::AcqRel))
    }

    /// Moves from `from` to `to` if the state is still `from`.
    fn advance(&self, from: EntryState, to: EntryState) {
        let _ = self
            .0
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire);
    }
}

type Acquisition = Shared<BoxFuture<'static, Result<Arc<Credential>, AuthError>>>;

/// What [`CredentialCache::headers_for`] answers: the headers to add, and which credential they
/// carry.
#[derive(Clone)]
pub struct RequestHeaders {
    /// Add these to the request (they hold the secret: do not log them).
    pub headers: HeaderMap,
    /// The credential's generation, for [`CredentialCache::reject`] when the provider rejects it.
    pub generation: u64,
}

impl fmt::Debug for RequestHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(|name| name.as_str()).collect();
        f.debug_struct("RequestHeaders")
            .field("headers", &names)
            .field("generation", &self.generation)
            .finish()
    }
}

/// Caches one account's credential and keeps it fresh.
///
/// - **Hot path**: a fresh credential is one atomic pointer load and one flag load away; no lock,
///   no `await`, no clock read (a timer marks the entry when its refresh time comes).
/// - **Single flight**: one acquisition at a time; every other caller awaits the same one. It
///   runs in its own task, so a caller that is cancelled does not strand the others.
/// - **Early refresh**: inside the [`RefreshPolicy`] margin, callers keep the still-valid
///   credential while one background task refreshes it; only a caller with no valid credential
///   waits for the provider. A transient refresh failure keeps the old credential in service.
/// - **Backoff, failing fast**: after a failure the next attempt waits, 1 s doubling to 60 s by
///   default; meanwhile a caller with no valid credential gets the last error at once (it waits
///   only for an attempt due within 100 ms).
/// - **Rejection by generation**: [`invalidate`](Self::invalidate) names the generation that was
///   rejected, so a thousand concurrent 401s cause one re-authentication.
/// - **Store**: with a [`CredentialStore`], a usable stored credential is reused without any
///   lock; only a miss takes the store's lock, reads again under it, asks the provider and saves
///   under the lock (a write the store refuses because the lock was lost is not forced). The
///   lock is released before the acquisition answers. When the store is unavailable, sources
///   that say [`parallel_acquisition_is_safe`](CredentialSource::parallel_acquisition_is_safe)
///   acquire without it; the others fail with the store's error.
///
/// Cloning is cheap and clones share the cache. Needs a Tokio runtime.
#[derive(Clone)]
pub struct CredentialCache {
    inner: Arc<Inner>,
}

struct Inner {
    source: Arc<dyn CredentialSource>,
    store: Option<Arc<dyn CredentialStore>>,
    policy: RefreshPolicy,
    current: ArcSwapOption<Entry>,
    control: Mutex<Control>,
    acquisitions: AtomicU64,
    store_hits: AtomicU64,
    /// A rejection invalidated a credential: the store marks the next one it saves.
    rejection_pending: Arc<AtomicBool>,
}

#[derive(Default)]
struct Control {
    inflight: Option<Acquisition>,
    failures: u32,
    next_attempt: Option<Instant>,
    /// The last acquisition's error while backing off: what a caller with nothing valid gets
    /// at once until the next attempt is due.
    last_error: Option<AuthError>,
    last_generation: u64,
    /// When a rejection last invalidated a credential (the rejection window).
    last_rejection: Option<Instant>,
}

/// What an acquisition knows of the credentials before it.
struct Known {
    rejected: Option<Arc<Credential>>,
    previous: Option<Arc<Credential>>,
}

/// How waiting for the store's lock ended.
enum Waited {
    Locked(StoreLock),
    Stored(Arc<Credential>),
    /// The store is unavailable and the source may acquire without its lock.
    Unlocked,
}

/// While backing off, a caller with nothing valid waits for the next attempt only when it is due
/// this soon (100 ms); otherwise it gets the last error at once.
const WAIT_FOR_RETRY_WITHIN: Duration = Duration::from_millis(100);

/// A waiter gives up after this many leases of a holder that keeps renewing (a holder that stops
/// renewing loses the lock within one lease): 2, so 60 s with the default 30 s lease.
const LOCK_WAIT_LEASES: u32 = 2;
/// The first pause between two looks at a held lock; doubling up to [`LOCK_POLL_MAX`].
const LOCK_POLL_FIRST: Duration = Duration::from_millis(20);
/// The longest pause between two looks at a held lock (plus up to 20 ms of jitter).
const LOCK_POLL_MAX: Duration = Duration::from_millis(250);

struct Entry {
    credential: Arc<Credential>,
    refresh_at: Instant,
    expires_at: Instant,
    state: EntryStateCell,
    timer: OnceLock<AbortHandle>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.get() {
            timer.abort();
        }
    }
}

/// Builds a [`CredentialCache`]: [`CredentialCache::builder`].
///
/// # Example
///
/// A cache whose credentials outlive the process and are shared by every process on the
/// machine (a fleet would use a `RedisStore`):
///
/// ```
/// # use auth_core::{AuthError, Credential, CredentialSource, Identity};
/// # struct MySource(Identity);
/// # #[async_trait::async_trait]
/// # impl CredentialSource for MySource {
/// #     fn identity(&self) -> &Identity { &self.0 }
/// #     async fn acquire(&self, _: Option<&Credential>) -> Result<Credential, AuthError> {
/// #         Err(AuthError::config("example", "this example never acquires"))
/// #     }
/// # }
/// # let source = MySource(Identity::new("example", ["account-1"]));
/// use std::sync::Arc;
/// use std::time::Duration;
/// use auth_core::{CredentialCache, RefreshPolicy};
/// use auth_core::store::FileStore;
///
/// let folder = tempfile::tempdir().unwrap();
/// let cache = CredentialCache::builder(source)
///     .store(Arc::new(FileStore::new(folder.path())))
///     // Optional: the source's own policy applies unless you give one.
///     .policy(RefreshPolicy { margin: Duration::from_secs(120), ..RefreshPolicy::default() })
///     .build();
/// assert_eq!(cache.policy().margin, Duration::from_secs(120));
/// ```
pub struct CacheBuilder {
    source: Arc<dyn CredentialSource>,
    store: Option<Arc<dyn CredentialStore>>,
    policy: Option<RefreshPolicy>,
    rejection_pending: Arc<AtomicBool>,
}

impl CacheBuilder {
    /// Uses `policy` instead of the source's own ([`CredentialSource::refresh_policy`]).
    pub fn policy(mut self, policy: RefreshPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Reuses and saves credentials in `store`. Default: none (memory only). A stored entry is
    /// rebuilt by the source ([`CredentialSource::restore`]): its headers never come from the
    /// store.
    pub fn store(mut self, store: Arc<dyn CredentialStore>) -> Self {
        self.store = Some(Arc::new(RestoringStore::new(
            store,
            Arc::clone(&self.source),
            Arc::clone(&self.rejection_pending),
        )));
        self
    }

    /// The cache.
    pub fn build(self) -> CredentialCache {
        let policy = self.policy.unwrap_or_else(|| self.source.refresh_policy());
        CredentialCache {
            inner: Arc::new(Inner {
                source: self.source,
                store: self.store,
                policy,
                current: ArcSwapOption::empty(),
                control: Mutex::new(Control::default()),
                acquisitions: AtomicU64::new(0),
                store_hits: AtomicU64::new(0),
                rejection_pending: self.rejection_pending,
            }),
        }
    }
}

impl CredentialCache {
    /// A cache over `source` with the source's refresh policy and no store.
    pub fn new(source: impl CredentialSource) -> Self {
        Self::builder(source).build()
    }

    /// A builder over `source`: add a store, or another policy (example on [`CacheBuilder`]).
    /// An `Arc` of a source is a source too, for one source behind several caches.
    pub fn builder(source: impl CredentialSource) -> CacheBuilder {
        let source: Arc<dyn CredentialSource> = Arc::new(source);
        CacheBuilder {
            source,
            store: None,
            policy: None,
            rejection_pending: Arc::default(),
        }
    }

    /// The provider behind the cache.
    pub fn source(&self) -> &Arc<dyn CredentialSource> {
        &self.inner.source
    }

    /// The provider behind the cache as the type it was given as (or inside the `Arc` it was
    /// given in), for a provider's own methods: `cache.source_as::<AllianceSource>()`. `None`
    /// for any other type.
    pub fn source_as<S: CredentialSource>(&self) -> Option<&S> {
        let any: &dyn Any = self.inner.source.as_ref();
        any.downcast_ref::<S>()
            .or_else(|| any.downcast_ref::<Arc<S>>().map(|shared| shared.as_ref()))
    }

    /// The headers a request to `path` must carry, for a client other than [`AuthClient`]
    /// (hyper, ureq, another reqwest): acquires a credential if none is good now, exactly as
    /// [`AuthClient`] does. When the provider rejects the request
    /// ([`CredentialSource::is_rejection`]), call [`reject`](Self::reject) with the answer's
    /// [`generation`](RequestHeaders::generation) and, if it says so, ask again and retry once.
    ///
    /// `path` is the request's path (`/api/v1/...`): a few providers choose headers by it
    /// (Evotor's v1 and v2 APIs).
    ///
    /// [`AuthClient`]: crate::AuthClient
    ///
    /// # Example
    ///
    /// ```
    /// # use auth_core::{AuthError, Credential, CredentialSource, Identity};
    /// # use std::time::{Duration, SystemTime};
    /// # struct MySource(Identity);
    /// # #[async_trait::async_trait]
    /// # impl CredentialSource for MySource {
    /// #     fn identity(&self) -> &Identity { &self.0 }
    /// #     async fn acquire(&self, _: Option<&Credential>) -> Result<Credential, AuthError> {
    /// #         Credential::new("t0ken".into(), SystemTime::now() + Duration::from_secs(3600))
    /// #             .with_header("example", http::header::AUTHORIZATION, "Bearer t0ken")
    /// #     }
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use auth_core::CredentialCache;
    ///
    /// let cache = CredentialCache::new(MySource(Identity::new("example", ["account-1"])));
    /// let added = cache.headers_for("/v1/things").await?;
    /// assert_eq!(added.headers["authorization"], "Bearer t0ken");
    /// // ... send the request with these headers; on a rejection:
    /// if cache.reject(added.generation) {
    ///     let again = cache.headers_for("/v1/things").await?; // retry once with these
    /// #   assert_ne!(again.generation, added.generation);
    /// }
    /// # Ok::<(), AuthError>(()) }).unwrap();
    /// ```
    pub async fn headers_for(&self, path: &str) -> Result<RequestHeaders, AuthError> {
        let credential = match self.fresh() {
            Some(credential) => credential,
            None => self.get().await?,
        };
        let mut headers = HeaderMap::new();
        self.inner.source.apply(&credential, path, &mut headers);
        Ok(RequestHeaders {
            headers,
            generation: credential.generation(),
        })
    }

    /// The refresh policy in force.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.inner.policy
    }

    /// A credential that is good now, acquiring one if needed.
    pub async fn get(&self) -> Result<Arc<Credential>, AuthError> {
        if let Some(credential) = self.fresh() {
            return Ok(credential);
        }
        self.get_slow().await
    }

    /// The cached credential if it is fresh (not yet inside its refresh margin); never waits,
    /// never reads the clock.
    #[inline]
    pub fn fresh(&self) -> Option<Arc<Credential>> {
        let guard = self.inner.current.load();
        match guard.as_deref() {
            Some(entry) if entry.state.is(EntryState::Fresh) => Some(Arc::clone(&entry.credential)),
            _ => None,
        }
    }

    /// Marks the credential of `generation` as rejected by the provider, so the next
    /// [`get`](Self::get) acquires a new one. A stale generation (already replaced) is ignored,
    /// which is what makes many concurrent rejections cost one re-authentication. Returns
    /// whether the current credential was invalidated by this call.
    pub fn invalidate(&self, generation: u64) -> bool {
        let guard = self.inner.current.load();
        match guard.as_deref() {
            Some(entry) if entry.credential.generation() == generation => {
                let previous = entry.state.replace(EntryState::Rejected);
                if previous != EntryState::Rejected {
                    tracing::debug!(
                        provider = self.inner.source.identity().provider(),
                        generation,
                        "credential rejected; the next request re-authenticates"
                    );
                }
                previous != EntryState::Rejected
            }
            _ => false,
        }
    }

    /// A client saw the provider reject the credential of `generation`: like
    /// [`invalidate`](Self::invalidate), under the rejection-storm rule of
    /// [`RefreshPolicy::rejection_window`]. Returns whether to retry with a new credential;
    /// `false` means the credential is kept (it is younger than the window and this cache
    /// already re-authenticated on a rejection within it, or it replaced a rejected one) and the
    /// caller returns the rejection as it is. A stale generation answers `true`: a newer
    /// credential is there to retry with.
    pub fn reject(&self, generation: u64) -> bool {
        let current = self.inner.current.load_full();
        let Some(entry) = current
            .as_deref()
            .filter(|e| e.credential.generation() == generation)
        else {
            return true;
        };
        // One decision at a time, and the entry marked under the same lock, so that of many
        // concurrent rejections of one credential, one re-authenticates and the rest retry
        // with the new credential instead of seeing the window closed by their sibling.
        let mut control = self.inner.lock_control();
        if entry.state.is(EntryState::Rejected) {
            return true;
        }
        if !self
            .inner
            .rejection_allowed(&mut control, &entry.credential)
        {
            tracing::debug!(
                provider = self.inner.source.identity().provider(),
                generation,
                "a just-acquired credential was rejected within the rejection window; kept, and the rejection returned as it is"
            );
            return false;
        }
        entry.state.set(EntryState::Rejected);
        tracing::debug!(
            provider = self.inner.source.identity().provider(),
            generation,
            "credential rejected; the next request re-authenticates"
        );
        true
    }

    /// Asks for a refresh now while the current credential stays in service (as if its refresh
    /// margin had begun).
    pub fn mark_stale(&self) {
        if let Some(entry) = self.inner.current.load().as_deref() {
            entry
                .state
                .advance(EntryState::Fresh, EntryState::RefreshDue);
            entry
                .state
                .advance(EntryState::CheckClock, EntryState::RefreshDue);
        }
    }

    /// Forgets the in-memory credential (the store keeps its copy).
    pub fn clear(&self) {
        self.inner.current.store(None);
    }

    /// How many times this cache asked the provider for a credential.
    pub fn acquisitions(&self) -> u64 {
        self.inner.acquisitions.load(Ordering::Relaxed)
    }

    /// How many times this cache took a credential from its store instead.
    pub fn store_hits(&self) -> u64 {
        self.inner.store_hits.load(Ordering::Relaxed)
    }

    /// Waits for an acquisition in progress, if any (a background refresh, say).
    pub async fn settle(&self) {
        let inflight = self.inner.lock_control().inflight.clone();
        if let Some(acquisition) = inflight {
            let _ = acquisition.await;
        }
    }

    async fn get_slow(&self) -> Result<Arc<Credential>, AuthError> {
        let now = Instant::now();
        if let Some(entry) = self.inner.current.load_full() {
            let state = entry.state.get();
            if state != EntryState::Rejected && now < entry.expires_at {
                if state == EntryState::RefreshDue || now >= entry.refresh_at {
                    self.inner.start_background_refresh(now);
                }
                return Ok(Arc::clone(&entry.credential));
            }
        }
        let acquisition = {
            let mut control = self.inner.lock_control();
            match &control.inflight {
                Some(acquisition) => acquisition.clone(),
                None => {
                    // Double check under the lock: an acquisition may have installed a usable
                    // credential (and finished) since the first look; starting another would
                    // refresh twice (and spend a single-use refresh token for nothing).
                    if let Some(entry) = self.inner.current.load_full()
                        && !entry.state.is(EntryState::Rejected)
                        && Instant::now() < entry.expires_at
                    {
                        return Ok(Arc::clone(&entry.credential));
                    }
                    // Fail fast while backing off: the last error now, not after the next
                    // attempt (the attempts themselves stay spaced by the backoff), unless that
                    // attempt is due within `WAIT_FOR_RETRY_WITHIN`.
                    let wait_until = control.next_attempt.filter(|at| *at > now);
                    if let Some(at) = wait_until
                        && at - now > WAIT_FOR_RETRY_WITHIN
                        && let Some(error) = &control.last_error
                    {
                        return Err(error.clone());
                    }
                    Inner::spawn_acquisition(&self.inner, &mut control, wait_until)
                }
            }
        };
        acquisition.await
    }
}

impl Inner {
    fn lock_control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The rejection-storm rule (see [`RefreshPolicy::rejection_window`]): whether a rejection
    /// of `credential` may cost a re-authentication now; records it when it may.
    fn rejection_allowed(&self, control: &mut Control, credential: &Credential) -> bool {
        let window = self.policy.rejection_window;
        let young = credential
            .acquired_at()
            .elapsed()
            .is_ok_and(|age| age < window);
        let now = Instant::now();
        let recent = control
            .last_rejection
            .is_some_and(|at| now.duration_since(at) < window);
        if young && (recent || credential.follows_rejection()) {
            return false;
        }
        control.last_rejection = Some(now);
        self.rejection_pending.store(true, Ordering::Release);
        true
    }

    fn start_background_refresh(self: &Arc<Self>, now: Instant) {
        let mut control = self.lock_control();
        if control.inflight.is_some() || control.next_attempt.is_some_and(|at| now < at) {
            return;
        }
        // Double check under the lock: the credential that was due may have just been replaced
        // by a refresh that finished since the caller looked.
        if let Some(entry) = self.current.load_full() {
            let state = entry.state.get();
            if state != EntryState::Rejected
                && state != EntryState::RefreshDue
                && now < entry.refresh_at
            {
                return;
            }
        }
        drop(Inner::spawn_acquisition(self, &mut control, None));
    }

    fn spawn_acquisition(
        inner: &Arc<Inner>,
        control: &mut Control,
        wait_until: Option<Instant>,
    ) -> Acquisition {
        let task_inner = Arc::clone(inner);
        let handle = tokio::spawn(async move {
            let _clear = ClearInflight(Arc::clone(&task_inner));
            if let Some(at) = wait_until {
                tokio::time::sleep_until(at).await;
            }
            task_inner.acquire().await
        });
        let provider = inner.source.identity().provider();
        let acquisition = async move {
            match handle.await {
                Ok(result) => result,
                Err(error) => Err(AuthError::Transport {
                    provider,
                    message: if error.is_panic() {
                        "the credential source panicked while acquiring".to_owned()
                    } else {
                        "the acquisition was stopped (runtime shutting down)".to_owned()
                    },
                }),
            }
        }
        .boxed()
        .shared();
        control.inflight = Some(acquisition.clone());
        acquisition
    }

    async fn acquire(self: &Arc<Self>) -> Result<Arc<Credential>, AuthError> {
        let identity = self.source.identity().clone();
        let span =
            tracing::info_span!("propusk.acquire", provider = identity.provider(), key = %identity);
        async {
            let result = self.acquire_with_store(&identity).await;
            if let Err(error) = &result {
                let mut control = self.lock_control();
                control.failures = control.failures.saturating_add(1);
                let wait = self.policy.backoff(control.failures);
                control.next_attempt = Some(Instant::now() + wait);
                control.last_error = Some(error.clone());
                tracing::warn!(%error, transient = error.is_transient(), retry_in_ms = wait.as_millis() as u64, "acquisition failed");
            }
            result
        }
        .instrument(span)
        .await
    }

    /// Read first: a usable stored credential is taken without a lock. Only a miss takes the
    /// store's lock (polling the store meanwhile, so a holder's saved credential is taken at
    /// once), reads again under it, asks the provider, saves under the lock (fenced), and
    /// releases the lock before answering, on every path.
    async fn acquire_with_store(
        self: &Arc<Self>,
        identity: &Identity,
    ) -> Result<Arc<Credential>, AuthError> {
        let current = self.current.load_full();
        let mut known = Known {
            rejected: current
                .as_ref()
                .filter(|e| e.state.is(EntryState::Rejected))
                .map(|e| Arc::clone(&e.credential)),
            previous: current.map(|e| Arc::clone(&e.credential)),
        };
        let Some(store) = self.store.clone() else {
            let credential = self.ask_source(known.previous.as_deref()).await?;
            return Ok(self.install(credential));
        };

        if let Some(credential) = self.reuse_stored(&*store, identity, &mut known).await {
            return Ok(credential);
        }
        let lock = match self.wait_for_lock(&*store, identity, &mut known).await? {
            Waited::Stored(credential) => return Ok(credential),
            Waited::Locked(lock) => lock,
            Waited::Unlocked => {
                let credential = self.ask_source(known.previous.as_deref()).await?;
                if let Err(error) = store.save(identity, &credential).await {
                    tracing::warn!(%error, "could not save the new credential");
                }
                return Ok(self.install(credential));
            }
        };
        let result = self.acquire_locked(&*store, &lock, identity, known).await;
        lock.release().await;
        result
    }

    async fn acquire_locked(
        self: &Arc<Self>,
        store: &dyn CredentialStore,
        lock: &StoreLock,
        identity: &Identity,
        mut known: Known,
    ) -> Result<Arc<Credential>, AuthError> {
        // Another process may have done the work between our read and our lock.
        if let Some(credential) = self.reuse_stored(store, identity, &mut known).await {
            return Ok(credential);
        }
        let credential = self.ask_source(known.previous.as_deref()).await?;
        match store.save_under(lock, identity, &credential).await {
            Ok(Saved::Written) => {}
            Ok(refused) => {
                // We lost the lock (a stall past the lease) or a newer credential is stored:
                // the store's is the fleet's; take it if it is usable, else keep ours unsaved.
                tracing::warn!(
                    ?refused,
                    "the store kept another credential than the new one"
                );
                if let Some(stored) = self.reuse_stored(store, identity, &mut known).await {
                    return Ok(stored);
                }
            }
            Err(error) => tracing::warn!(%error, "could not save the new credential"),
        }
        Ok(self.install(credential))
    }

    /// Loads the stored credential and installs it when usable: not the rejected one, not the
    /// one we hold, not older than ours, and lasting beyond the margin. A newer but unusable one
    /// becomes `previous` (it may carry a rotated refresh token).
    async fn reuse_stored(
        self: &Arc<Self>,
        store: &dyn CredentialStore,
        identity: &Identity,
        known: &mut Known,
    ) -> Option<Arc<Credential>> {
        let stored = match store.load(identity).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(%error, "credential store unreadable");
                return None;
            }
        };
        let is_rejected = known
            .rejected
            .as_ref()
            .is_some_and(|r| r.same_token(&stored));
        let is_ours = known
            .previous
            .as_ref()
            .is_some_and(|p| p.same_token(&stored));
        let is_newer = known
            .previous
            .as_ref()
            .is_none_or(|p| stored.expires_at() >= p.expires_at());
        let lasts = stored.remaining() > self.policy.margin;
        if !is_rejected && !is_ours && is_newer && lasts {
            tracing::debug!("reusing the stored credential");
            self.store_hits.fetch_add(1, Ordering::Relaxed);
            return Some(self.install(stored));
        }
        if !is_ours && is_newer {
            // Newer provider state (a rotated refresh token) lives in the store.
            known.previous = Some(Arc::new(stored));
        }
        None
    }

    /// Takes the store's lock, polling the store while another holds it (a holder's saved
    /// credential is taken at once, without waiting for its release). Bounded by the lease: a
    /// holder that stops renewing loses the lock within it, and a waiter gives up after
    /// [`LOCK_WAIT_LEASES`] leases of one that keeps renewing. Polling, not keyspace
    /// notifications: those need `notify-keyspace-events` set on the server, which managed
    /// Redis services often forbid, and a file store has none.
    async fn wait_for_lock(
        self: &Arc<Self>,
        store: &dyn CredentialStore,
        identity: &Identity,
        known: &mut Known,
    ) -> Result<Waited, AuthError> {
        let mut poll = LOCK_POLL_FIRST;
        let give_up = Instant::now() + store.lease() * LOCK_WAIT_LEASES;
        loop {
            match store.try_lock(identity).await? {
                LockAttempt::Taken(lock) => return Ok(Waited::Locked(lock)),
                LockAttempt::Busy => {}
                LockAttempt::Unavailable(error) => {
                    if self.source.parallel_acquisition_is_safe() {
                        tracing::warn!(%error, "credential store unavailable; acquiring without its lock");
                        return Ok(Waited::Unlocked);
                    }
                    return Err(AuthError::store_connection(format!(
                        "{error}; {} does not acquire without the store's lock, since parallel acquisitions would knock each other out: retry when the store is back, or run without the shared store",
                        identity.provider()
                    )));
                }
            }
            if Instant::now() >= give_up {
                return Err(AuthError::store_connection(format!(
                    "the store's {} acquisition lock has been held by another process for {} s (it keeps renewing it) with no credential saved; try again later",
                    identity.provider(),
                    (store.lease() * LOCK_WAIT_LEASES).as_secs()
                )));
            }
            tokio::time::sleep(poll + Duration::from_millis(fastrand::u64(0..20))).await;
            poll = (poll * 2).min(LOCK_POLL_MAX);
            if let Some(credential) = self.reuse_stored(store, identity, known).await {
                return Ok(Waited::Stored(credential));
            }
        }
    }

    /// Asks the provider; a panic in the source becomes an error, so the lock is still released.
    async fn ask_source(&self, previous: Option<&Credential>) -> Result<Credential, AuthError> {
        self.acquisitions.fetch_add(1, Ordering::Relaxed);
        let credential = AssertUnwindSafe(self.source.acquire(previous))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                Err(AuthError::Transport {
                    provider: self.source.identity().provider(),
                    message: "the credential source panicked while acquiring".to_owned(),
                })
            })?;
        tracing::debug!(
            remaining_s = credential.remaining().as_secs(),
            "credential acquired"
        );
        Ok(credential)
    }

    fn install(self: &Arc<Self>, mut credential: Credential) -> Arc<Credential> {
        let mut lifetime = credential.remaining();
        if lifetime < self.policy.min_retry_interval {
            tracing::warn!(
                remaining_ms = lifetime.as_millis() as u64,
                "the provider issued a credential that is already (nearly) expired; check this machine's clock"
            );
            lifetime = self.policy.min_retry_interval;
        }
        let margin = self.policy.margin_for(lifetime);
        let now = Instant::now();
        let mut control = self.lock_control();
        control.last_generation += 1;
        control.failures = 0;
        control.next_attempt = None;
        control.last_error = None;
        credential.set_generation(control.last_generation);
        let entry = Arc::new(Entry {
            credential: Arc::new(credential),
            refresh_at: now + lifetime.saturating_sub(margin),
            expires_at: now + lifetime,
            state: EntryStateCell::new(EntryState::Fresh),
            timer: OnceLock::new(),
        });
        arm_refresh_timer(&entry);
        self.current.store(Some(Arc::clone(&entry)));
        drop(control);
        Arc::clone(&entry.credential)
    }
}

/// Moves the entry from `Fresh` to `CheckClock` when its refresh time comes, or when the timer task
/// is dropped early (the runtime shut down), so the hot path never serves a credential past its
/// refresh time without a clock check.
fn arm_refresh_timer(entry: &Arc<Entry>) {
    struct MarkForClockCheck(Weak<Entry>);
    impl Drop for MarkForClockCheck {
        fn drop(&mut self) {
            if let Some(entry) = self.0.upgrade() {
                entry
                    .state
                    .advance(EntryState::Fresh, EntryState::CheckClock);
            }
        }
    }
    let mark = MarkForClockCheck(Arc::downgrade(entry));
    let refresh_at = entry.refresh_at;
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            let task = runtime.spawn(async move {
                let _mark = mark;
                tokio::time::sleep_until(refresh_at).await;
            });
            let _ = entry.timer.set(task.abort_handle());
        }
        Err(_) => drop(mark),
    }
}

struct ClearInflight(Arc<Inner>);

impl Drop for ClearInflight {
    fn drop(&mut self) {
        self.0.lock_control().inflight = None;
    }
}

impl fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.inner.current.load();
        f.debug_struct("CredentialCache")
            .field("identity", self.inner.source.identity())
            .field("policy", &self.inner.policy)
            .field(
                "generation",
                &current.as_deref().map(|e| e.credential.generation()),
            )
            .field("acquisitions", &self.acquisitions())
            .finish_non_exhaustive()
    }
}
