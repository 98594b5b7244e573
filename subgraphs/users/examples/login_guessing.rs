//! Online password guessing against the users service, measured: how many
//! guesses per second an attacker gets checked through `login`, with login
//! throttling off and on. It starts the users service in this process on
//! 127.0.0.1 (an embedded store in a temporary directory), registers the
//! victim, and runs for a bounded time per scenario:
//!
//! - `off`: throttling disabled (what the service did before);
//! - `one-address`: throttling on, every guess from one client address;
//! - `many-addresses`: throttling on, every guess from a new address (a
//!   trusted `X-Forwarded-For`, as a botnet behind the router would look),
//!   while the account's owner logs in now and then, alternately from the
//!   address they logged in from before the attack and from a new one.
//!
//! ```sh
//! cargo run -p storefront-users --example login_guessing -- [--seconds 10] [--workers 4]
//! ```
//!
//! Attackers send wrong passwords as fast as the service answers; a
//! throttled answer (`TOO_MANY_REQUESTS`) is counted as refused, not as a
//! guess. The owner's logins report how long they waited at most.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};
use storefront_shared::server::Timeouts;
use storefront_shared::settings::Secret;
use storefront_users::AppState;
use storefront_users::settings::LoginThrottleSettings;
use storefront_users::store::EmbeddedUserRepository;
use storefront_users::tokens::TokenIssuer;

const VICTIM: &str = "victim@example.com";
const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    Off,
    OneAddress,
    ManyAddresses,
}

#[derive(Default)]
struct Counts {
    guesses: AtomicU64,
    refused: AtomicU64,
    other: AtomicU64,
}

fn arg(args: &[String], name: &str, default: u64) -> anyhow::Result<u64> {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .context("a value after the flag")?
            .parse()
            .with_context(|| format!("{name} takes a number")),
        None => Ok(default),
    }
}

async fn login(
    http: &reqwest::Client,
    url: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> anyhow::Result<Value> {
    let mut request = http.post(url).json(&json!({
        "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        "variables": { "e": VICTIM, "p": password },
    }));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    Ok(request.send().await?.json().await?)
}

fn code(answer: &Value) -> Option<&str> {
    answer["errors"][0]["extensions"]["code"].as_str()
}

async fn run(scenario: Scenario, seconds: u64, workers: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let repo = Arc::new(EmbeddedUserRepository::open(dir.path())?);
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let issuer = TokenIssuer::new(&key, Duration::from_secs(3600))?;
    let throttle = LoginThrottleSettings {
        enabled: scenario != Scenario::Off,
        ..LoginThrottleSettings::default()
    };
    let state = AppState::new(repo, issuer, Vec::new(), Secret::new("svc"))
        .with_login_throttle(throttle.clone())
        .trusting_forwarded_for(true);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/graphql", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(storefront_users::run(
        listener,
        state,
        Timeouts::default(),
        async {
            let _ = stopped.await;
        },
    ));

    let http = reqwest::Client::new();
    let registered: Value = http
        .post(&url)
        .json(&json!({
            "query": "mutation($i: RegisterInput!) { register(input: $i) { token } }",
            "variables": { "i": { "email": VICTIM, "password": PASSWORD, "name": "Victim" } },
        }))
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(
        registered["data"]["register"]["token"].is_string(),
        "cannot register: {registered}"
    );

    // The owner's usual address: logged in from before the attack.
    let usual = "198.51.100.20";
    let before = login(&http, &url, PASSWORD, Some(usual)).await?;
    anyhow::ensure!(
        before["data"]["login"]["token"].is_string(),
        "the owner cannot log in: {before}"
    );

    let counts = Arc::new(Counts::default());
    let next_address = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let (http, url, counts, next_address) = (
            http.clone(),
            url.clone(),
            Arc::clone(&counts),
            Arc::clone(&next_address),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0_u64;
            while Instant::now() < deadline {
                n += 1;
                let address = match scenario {
                    Scenario::ManyAddresses => {
                        let i = next_address.fetch_add(1, Ordering::Relaxed);
                        Some(format!(
                            "10.{}.{}.{}",
                            (i >> 16) & 255,
                            (i >> 8) & 255,
                            i & 255
                        ))
                    }
                    _ => Some("203.0.113.66".to_owned()),
                };
                let guess = format!("guess {worker}-{n}");
                let counter = match login(&http, &url, &guess, address.as_deref()).await {
                    Ok(answer) => match code(&answer) {
                        Some("UNAUTHENTICATED") => &counts.guesses,
                        Some("TOO_MANY_REQUESTS") => &counts.refused,
                        _ => &counts.other,
                    },
                    Err(_) => &counts.other,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // The owner tries now and then, from their usual address or a new
    // one; when refused, waits as told and tries again.
    let mut owner_waits: Vec<(&str, Duration)> = Vec::new();
    if scenario == Scenario::ManyAddresses {
        let mut next_try = Instant::now() + Duration::from_secs(seconds / 2);
        let mut round = 0_u32;
        while next_try < deadline {
            tokio::time::sleep_until(next_try.into()).await;
            round += 1;
            let (from, address) = if round % 2 == 1 {
                ("usual", usual.to_owned())
            } else {
                ("new", format!("198.51.100.{}", 100 + round))
            };
            let asked = Instant::now();
            loop {
                let answer = login(&http, &url, PASSWORD, Some(&address)).await?;
                if answer["data"]["login"]["token"].is_string() {
                    break;
                }
                let retry = answer["errors"][0]["extensions"]["retryAfter"]
                    .as_u64()
                    .with_context(|| {
                        format!("the owner was refused without a retryAfter: {answer}")
                    })?;
                tokio::time::sleep(Duration::from_secs(retry)).await;
            }
            owner_waits.push((from, asked.elapsed()));
            next_try = Instant::now() + Duration::from_secs(2);
        }
    }

    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let guesses = counts.guesses.load(Ordering::Relaxed);
    let refused = counts.refused.load(Ordering::Relaxed);
    let other = counts.other.load(Ordering::Relaxed);
    println!(
        "{scenario:?}: {elapsed:.1} s, {workers} attackers: {guesses} guesses checked = {:.2} guesses/s; {refused} refused ({:.0}/s); {other} other answers",
        guesses as f64 / elapsed,
        refused as f64 / elapsed,
    );
    for from in ["usual", "new"] {
        let waits: Vec<Duration> = owner_waits
            .iter()
            .filter(|(f, _)| *f == from)
            .map(|(_, wait)| *wait)
            .collect();
        if let Some(longest) = waits.iter().max() {
            println!(
                "    the owner logged in {} times from a {from} address during the attack, waiting at most {:.1} s (max_delay {:?})",
                waits.len(),
                longest.as_secs_f64(),
                throttle.max_delay
            );
        }
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = arg(&args, "--seconds", 10)?.clamp(1, 300);
    let workers = arg(&args, "--workers", 4)?.clamp(1, 64);
    for scenario in [Scenario::Off, Scenario::OneAddress, Scenario::ManyAddresses] {
        run(scenario, seconds, workers).await?;
    }
    Ok(())
}
