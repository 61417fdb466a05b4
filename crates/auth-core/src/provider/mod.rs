//! Tools for writing a provider crate: bounded body reads, base-URL checks, a lazily built HTTP
//! client, body excerpts for error messages, owner-only files. A user of the provider crates
//! needs none of this; `docs/architecture.md` ("Adding a provider") shows where each is used.

pub mod private_fs;

pub use crate::error::excerpt;
pub use crate::http::{LazyClient, MAX_BODY, PlainHttp, parse_base_url, read_body_limited};

/// Gives a provider's source type the two shortcuts every provider crate offers, so the
/// shortest code has one shape everywhere: `XSource::new(config).into_client()?`, or
/// `.into_cache_builder()` to add a store. Write `auth_core::provider::source_shortcuts!(XSource);`
/// next to the type.
pub use crate::__source_shortcuts as source_shortcuts;

#[doc(hidden)]
#[macro_export]
macro_rules! __source_shortcuts {
    ($source:ty) => {
        impl $source {
            /// A ready client: this source in a cache with the provider's refresh policy and
            /// no store, and an [`AuthClient`](auth_core::AuthClient) with default HTTP settings.
            pub fn into_client(
                self,
            ) -> ::core::result::Result<$crate::AuthClient, $crate::AuthError> {
                $crate::AuthClient::new($crate::CredentialCache::new(self))
            }

            /// A cache builder over this source, with the provider's refresh policy: add a
            /// store (`.store(...)`), then `.build()` and give it to
            /// [`AuthClient::new`](auth_core::AuthClient::new).
            pub fn into_cache_builder(self) -> $crate::CacheBuilder {
                $crate::CredentialCache::builder(self)
            }
        }
    };
}
