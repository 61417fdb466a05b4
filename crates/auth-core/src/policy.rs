//! When to refresh, and how to back off when refreshing fails.

use std::time::Duration;

/// How a [`crate::CredentialCache`] refreshes.
///
/// Defaults: refresh 60 s before expiry, plus up to 10 s earlier at random (jitter, so a fleet
/// does not stampede: the margin is 60 to 70 s); after a failed attempt wait at least 1 s, doubling per consecutive failure up to
/// 60 s. The margin is never more than half the credential's lifetime. A credential younger than
/// 30 s that is rejected re-authenticates at most once per 30 s ([`Self::rejection_window`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Refresh this long before expiry. Default 60 s.
    pub margin: Duration,
    /// Refresh up to this much earlier still (added to the margin), chosen at random per
    /// credential. Default 10 s.
    pub jitter: Duration,
    /// The least time between two failed attempts. Default 1 s.
    pub min_retry_interval: Duration,
    /// The most time between two failed attempts. Default 60 s.
    pub max_backoff: Duration,
    /// Rejection storms: a rejection of a credential younger than this re-authenticates at most
    /// once per this window, and not at all when the credential itself replaced a rejected one
    /// (also when another process did that and stored it: stores keep the mark). Meanwhile the rejection is returned as it is: an
    /// endpoint that refuses a brand-new credential has a permission problem that a new login
    /// does not fix. An older credential's first rejection (expired, revoked) still
    /// re-authenticates at once. Default 30 s.
    pub rejection_window: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            margin: Duration::from_secs(60),
            jitter: Duration::from_secs(10),
            min_retry_interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            rejection_window: Duration::from_secs(30),
        }
    }
}

impl RefreshPolicy {
    /// The margin used for a credential living `lifetime`: the configured margin plus a random
    /// share of the jitter, capped at half the lifetime.
    pub fn margin_for(&self, lifetime: Duration) -> Duration {
        let jitter = if self.jitter.is_zero() {
            Duration::ZERO
        } else {
            self.jitter.mul_f64(fastrand::f64())
        };
        (self.margin + jitter).min(lifetime / 2)
    }

    /// How long to wait after `failures` consecutive failed attempts (1 or more).
    pub fn backoff(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(20);
        self.min_retry_interval
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff)
            .max(self.min_retry_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RefreshPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_secs(1));
        assert_eq!(p.backoff(2), Duration::from_secs(2));
        assert_eq!(p.backoff(4), Duration::from_secs(8));
        assert_eq!(p.backoff(30), Duration::from_secs(60));
    }

    #[test]
    fn margin_never_exceeds_half_the_lifetime() {
        let p = RefreshPolicy::default();
        assert_eq!(
            p.margin_for(Duration::from_secs(30)),
            Duration::from_secs(15)
        );
        let m = p.margin_for(Duration::from_secs(900));
        assert!(
            m >= Duration::from_secs(60) && m <= Duration::from_secs(70),
            "{m:?}"
        );
    }
}
