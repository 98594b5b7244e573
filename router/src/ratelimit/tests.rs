use super::*;

fn settings(rate: f64, burst: u32) -> RateLimitSettings {
    RateLimitSettings {
        enabled: true,
        per_client_rate: rate,
        per_client_burst: burst,
        ..RateLimitSettings::default()
    }
}

fn key(n: u32) -> ClientKey {
    ClientKey::V4(Ipv4Addr::from(0x0a00_0000 + n))
}

#[test]
fn a_client_gets_its_burst_then_its_rate() {
    let limiter = RateLimiter::new(&settings(2.0, 5), 0).expect("valid");
    let mut now = Instant::now();
    for n in 0..5 {
        limiter
            .check_at(&key(1), 1, now)
            .unwrap_or_else(|e| panic!("{n}: {e}"));
    }
    let refused = limiter
        .check_at(&key(1), 1, now)
        .expect_err("burst used up");
    assert_eq!(
        refused,
        RateLimited::Client {
            retry_after: Duration::from_millis(500)
        }
    );
    assert_eq!(refused.retry_after_seconds(), 1);
    limiter
        .check_at(&key(2), 1, now)
        .expect("another client has its own bucket");
    now += Duration::from_millis(500);
    limiter
        .check_at(&key(1), 1, now)
        .expect("one token after 1/rate");
    assert!(limiter.check_at(&key(1), 1, now).is_err());
    now += Duration::from_secs(60);
    for _ in 0..5 {
        limiter
            .check_at(&key(1), 1, now)
            .expect("refilled, up to the burst");
    }
    assert!(
        limiter.check_at(&key(1), 1, now).is_err(),
        "never beyond the burst"
    );
}

#[test]
fn refused_requests_take_nothing() {
    let limiter = RateLimiter::new(&settings(1.0, 2), 0).expect("valid");
    let mut now = Instant::now();
    limiter.check_at(&key(1), 2, now).expect("the burst");
    for _ in 0..100 {
        assert!(limiter.check_at(&key(1), 1, now).is_err());
    }
    now += Duration::from_secs(1);
    limiter
        .check_at(&key(1), 1, now)
        .expect("the wait did not grow");
}

#[test]
fn a_batch_takes_one_token_per_operation_or_none() {
    let limiter = RateLimiter::new(&settings(1.0, 4), 4).expect("valid");
    let now = Instant::now();
    limiter.check_at(&key(1), 3, now).expect("three of four");
    let refused = limiter
        .check_at(&key(1), 2, now)
        .expect_err("only one left");
    assert_eq!(refused.retry_after_seconds(), 1);
    limiter
        .check_at(&key(1), 1, now)
        .expect("the refused batch took nothing");
    assert!(matches!(
        RateLimiter::new(&settings(1.0, 4), 5),
        Err(RateLimitError::BatchLargerThanBurst {
            batch: 5,
            burst: 4,
            ..
        })
    ));
}

#[test]
fn the_global_bucket_limits_all_clients_together_without_charging_them() {
    let limiter = RateLimiter::new(
        &RateLimitSettings {
            global_rate: 10.0,
            global_burst: 3,
            ..settings(1.0, 2)
        },
        0,
    )
    .expect("valid");
    let mut now = Instant::now();
    limiter.check_at(&key(1), 1, now).expect("1");
    limiter.check_at(&key(2), 1, now).expect("2");
    limiter.check_at(&key(3), 1, now).expect("3");
    let refused = limiter
        .check_at(&key(4), 1, now)
        .expect_err("the router is full");
    assert_eq!(refused.limit(), "global");
    assert_eq!(refused.retry_after_seconds(), 1);
    now += Duration::from_millis(100);
    limiter
        .check_at(&key(4), 1, now)
        .expect("client 4 was not charged");
    now += Duration::from_millis(200);
    limiter.check_at(&key(4), 1, now).expect("its second token");
}

#[test]
fn a_flood_of_distinct_addresses_stays_within_max_clients() {
    let limiter = RateLimiter::new(
        &RateLimitSettings {
            max_clients: 1_000,
            ..settings(1.0, 5)
        },
        0,
    )
    .expect("valid");
    let now = Instant::now();
    limiter
        .check_at(&key(0), 5, now)
        .expect("the victim's burst");
    for n in 1..200_000 {
        limiter.check_at(&key(n), 1, now).expect("a fresh address");
    }
    let tracked = limiter.tracked();
    assert!(tracked <= 1_000 + SHARDS, "{tracked} buckets");
    assert!(tracked >= 900, "the table is used: {tracked}");
}

#[test]
fn idle_clients_are_forgotten_first() {
    let limiter = RateLimiter::new(&settings(10.0, 5), 0).expect("valid");
    let mut now = Instant::now();
    for n in 0..1_000 {
        limiter.check_at(&key(n), 1, now).expect("fresh");
    }
    assert_eq!(limiter.tracked(), 1_000);
    now += Duration::from_secs(1);
    // Each check drops up to two refilled buckets from its shard.
    for n in 5_000..6_000 {
        limiter.check_at(&key(n), 1, now).expect("fresh");
    }
    assert!(
        limiter.tracked() < 1_200,
        "refilled buckets were dropped: {}",
        limiter.tracked()
    );
}

#[test]
fn a_key_is_the_verified_subject_else_the_address() {
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), "user-1".into());
    let identity = Identity { claims };
    let address: IpAddr = "192.0.2.1".parse().expect("ip");
    assert_eq!(
        ClientKey::of(Some(&identity), Some(address)),
        ClientKey::Subject("user-1".into())
    );
    assert_eq!(
        ClientKey::of(None, Some(address)),
        ClientKey::V4("192.0.2.1".parse().expect("ip"))
    );
    let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
    let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
    let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
    assert_eq!(ClientKey::address(Some(a)), ClientKey::address(Some(b)));
    assert_ne!(ClientKey::address(Some(a)), ClientKey::address(Some(c)));
    assert_eq!(ClientKey::address(None), ClientKey::Unknown);
}

#[test]
fn off_by_default_and_impossible_settings_are_refused() {
    let limiter = RateLimiter::new(&RateLimitSettings::default(), 100).expect("off");
    let now = Instant::now();
    assert!(!limiter.is_enabled());
    for _ in 0..10_000 {
        limiter
            .check_at(&key(1), 1, now)
            .expect("never refused when off");
    }
    assert_eq!(
        RateLimiter::new(&settings(-1.0, 5), 0).err(),
        Some(RateLimitError::Rate("per_client_rate"))
    );
    assert_eq!(
        RateLimiter::new(&settings(1.0, 0), 0).err(),
        Some(RateLimitError::Burst("per_client_burst"))
    );
    let no_room = RateLimitSettings {
        max_clients: 0,
        ..settings(1.0, 1)
    };
    assert_eq!(
        RateLimiter::new(&no_room, 0).err(),
        Some(RateLimitError::MaxClients)
    );
}

#[test]
fn the_refusal_says_when_to_retry() {
    let refused = RateLimited::Client {
        retry_after: Duration::from_millis(1500),
    };
    let failure = crate::response::RequestFailure::from(refused);
    assert_eq!((failure.status, failure.always_status), (429, true));
    assert_eq!(failure.errors[0].code(), Some("TOO_MANY_REQUESTS"));
    assert_eq!(failure.errors[0].extensions["retryAfter"], 2);
}
