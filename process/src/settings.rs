//! Typed settings: built-in defaults, then an optional TOML file, then the
//! environment (the environment wins).
//!
//! Every binary reads a [`Settings<S>`]: the `[common]` table that all
//! Storefront processes share (DESIGN.md's variables) and a `[service]` table
//! of its own. The file comes from `--config FILE` or `CONFIG_FILE`.
//!
//! ```toml
//! [common]
//! port = 4001
//! data_dir = "./data"
//! header_read_timeout = "10s"
//!
//! [common.limits]
//! max_depth = 64
//!
//! [service]
//! token_ttl = "1h"
//! ```
//!
//! # Layout
//! - this file: [`Settings`], [`CommonSettings`] (with the defaults of the
//!   local run), [`Secret`], [`ServiceSettings`], [`load`] and the
//!   command-line's `--config`.
//! - `limits`: [`RequestLimits`], the `[common.limits]` table (the
//!   subgraphs check it; `storefront_shared::limits`).

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::listener::{self, Timeouts};

mod limits;

pub use limits::{DEFAULT_MAX_BODY_BYTES, RequestLimits};

/// Environment variables that override `[common]`, named as DESIGN.md names them.
pub const COMMON_ENV: &[&str] = &[
    "PORT",
    "BIND_ADDRESS",
    "MONGODB_URI",
    "DATA_DIR",
    "USERS_URL",
    "ORDERS_URL",
    "PAYMENTS_URL",
    "INVENTORY_URL",
    "ADMIN_EMAILS",
    "SERVICE_TOKEN",
    "TOKEN_VERSION_CACHE_TTL",
    "TOKEN_VERSION_GRACE",
    "LOG_FORMAT",
    "HEADER_READ_TIMEOUT",
    "IDLE_TIMEOUT",
    "BODY_READ_TIMEOUT",
];

/// The service credential used when `SERVICE_TOKEN` is not set. Local development only.
pub const DEV_SERVICE_TOKEN: &str = "storefront-local-dev-service-token";

/// The default of `TOKEN_VERSION_CACHE_TTL`.
pub const DEFAULT_TOKEN_VERSION_CACHE_TTL: Duration = Duration::from_secs(5);
/// The default of `TOKEN_VERSION_GRACE`.
pub const DEFAULT_TOKEN_VERSION_GRACE: Duration = Duration::from_secs(5 * 60);

/// A binary's settings: the shared part and its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings<S> {
    /// Settings every Storefront process understands.
    pub common: CommonSettings,
    /// Settings of this service alone.
    pub service: S,
}

/// Settings every Storefront process understands.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonSettings {
    /// TCP port to listen on (`PORT`).
    pub port: u16,
    /// Address to listen on (`BIND_ADDRESS`); `0.0.0.0` so containers are reachable.
    pub bind_address: IpAddr,
    /// MongoDB connection string (`MONGODB_URI`); without it the embedded store is used.
    pub mongodb_uri: Option<Secret>,
    /// Where the embedded store and local keys live (`DATA_DIR`); each service uses `DATA_DIR/<service>/`.
    pub data_dir: PathBuf,
    /// The users subgraph's GraphQL URL (`USERS_URL`); its origin serves the JWKS.
    pub users_url: String,
    /// The orders subgraph's GraphQL URL (`ORDERS_URL`).
    pub orders_url: String,
    /// The payments subgraph's GraphQL URL (`PAYMENTS_URL`).
    pub payments_url: String,
    /// The inventory subgraph's GraphQL URL (`INVENTORY_URL`).
    pub inventory_url: String,
    /// Emails that get the ADMIN role when they register (`ADMIN_EMAILS`, comma-separated).
    #[serde(deserialize_with = "string_list")]
    pub admin_emails: Vec<String>,
    /// The shared credential for service-to-service operations (`SERVICE_TOKEN`).
    /// Without it the development default [`DEV_SERVICE_TOKEN`] is used and a warning logged.
    pub service_token: Option<Secret>,
    /// How long a user's token generation learnt from the users service is
    /// trusted before it is asked again: the bound on how late another service
    /// still accepts a token revoked by `changePassword` or `logoutEverywhere`
    /// (`TOKEN_VERSION_CACHE_TTL`). See `storefront_shared::auth::revocation`.
    #[serde(with = "humantime_serde")]
    pub token_version_cache_ttl: Duration,
    /// While the users service does not answer, how long the last generation
    /// learnt is still used; past it, tokens are refused with
    /// SERVICE_UNAVAILABLE (`TOKEN_VERSION_GRACE`).
    #[serde(with = "humantime_serde")]
    pub token_version_grace: Duration,
    /// `text` for human logs, `json` for one JSON object per line (`LOG_FORMAT`).
    pub log_format: LogFormat,
    /// How long a client may take to send a request's headers; on HTTP/1.1
    /// this also bounds the wait for the next request on a kept-alive
    /// connection. A connection that runs out of it is closed
    /// (`HEADER_READ_TIMEOUT`). The subgraphs' listener; the router reads
    /// its `[service]` key of the same name.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request in flight before
    /// it is closed (`IDLE_TIMEOUT`; subgraphs, as above).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// How long a client may take to send a `POST /graphql` body once its
    /// headers arrived; a late body gets `408 Request Timeout`
    /// (`BODY_READ_TIMEOUT`; subgraphs, as above).
    #[serde(with = "humantime_serde")]
    pub body_read_timeout: Duration,
    /// What one GraphQL request may ask of a subgraph: body size, tokens,
    /// nesting, depth, aliases, root fields, selections once fragments are
    /// expanded (`[common.limits]`; subgraphs only, the router reads its
    /// `[service.limits]`).
    #[serde(default)]
    pub limits: RequestLimits,
}

impl CommonSettings {
    /// Defaults that make the local run work, for a service on `port`.
    pub fn local(port: u16) -> Self {
        CommonSettings {
            port,
            bind_address: IpAddr::from([0, 0, 0, 0]),
            mongodb_uri: None,
            data_dir: PathBuf::from("data"),
            users_url: "http://127.0.0.1:4001/graphql".into(),
            orders_url: "http://127.0.0.1:4002/graphql".into(),
            payments_url: "http://127.0.0.1:4003/graphql".into(),
            inventory_url: "http://127.0.0.1:4004/graphql".into(),
            admin_emails: Vec::new(),
            service_token: None,
            token_version_cache_ttl: DEFAULT_TOKEN_VERSION_CACHE_TTL,
            token_version_grace: DEFAULT_TOKEN_VERSION_GRACE,
            log_format: LogFormat::Text,
            header_read_timeout: listener::DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: listener::DEFAULT_IDLE_TIMEOUT,
            body_read_timeout: listener::DEFAULT_BODY_READ_TIMEOUT,
            limits: RequestLimits::default(),
        }
    }

    /// The subgraph listener's timeouts against slow clients.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            header_read: self.header_read_timeout,
            idle: self.idle_timeout,
            body_read: self.body_read_timeout,
        }
    }

    /// The service credential, or the development default (with a warning).
    pub fn service_token(&self) -> Secret {
        match &self.service_token {
            Some(token) if !token.expose().is_empty() => token.clone(),
            _ => {
                tracing::warn!(
                    "SERVICE_TOKEN is not set: using the local-development default service credential; set SERVICE_TOKEN in any shared or production deployment"
                );
                Secret(DEV_SERVICE_TOKEN.into())
            }
        }
    }

    /// `DATA_DIR/<service>`, where a service keeps its embedded files.
    pub fn service_dir(&self, service: &str) -> PathBuf {
        self.data_dir.join(service)
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A string that is never printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Settings could not be read; the message names the key and where it came from.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The named settings file does not exist.
    #[error("settings file {0} does not exist")]
    MissingFile(PathBuf),
    /// A value is missing, of the wrong type, or a key is unknown.
    #[error("invalid settings: {0}")]
    Invalid(#[from] Box<figment::Error>),
    /// The command line is not understood.
    #[error("{0}")]
    Usage(String),
}

/// What a binary's own `[service]` settings need to be loaded.
pub trait ServiceSettings: Serialize + DeserializeOwned + Default {
    /// Environment variables that override `[service]` keys (lower-cased to the key,
    /// unless [`ServiceSettings::env_key`] names another).
    const ENV: &'static [&'static str] = &[];

    /// The `[service]` key that the variable `var` (one of [`ServiceSettings::ENV`]) sets;
    /// by default its name lower-cased. Override it when the documented variable and the
    /// key differ (e.g. `JWT_SIGNING_KEY_FILE` sets `signing_key_file`).
    fn env_key(var: &str) -> String {
        var.to_ascii_lowercase()
    }
}

/// Reads the `--config FILE` argument, or `CONFIG_FILE` when it is absent.
pub fn config_file_from_args(
    mut args: impl Iterator<Item = String>,
) -> Result<Option<PathBuf>, SettingsError> {
    let mut file = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => match args.next() {
                Some(path) => file = Some(PathBuf::from(path)),
                None => return Err(SettingsError::Usage("--config needs a file path".into())),
            },
            other => {
                if let Some(path) = other.strip_prefix("--config=") {
                    file = Some(PathBuf::from(path));
                } else {
                    return Err(SettingsError::Usage(format!(
                        "unknown argument `{other}`; the only option is --config FILE"
                    )));
                }
            }
        }
    }
    Ok(file.or_else(|| std::env::var_os("CONFIG_FILE").map(PathBuf::from)))
}

/// Loads settings: defaults, then `file` (if given), then the process environment.
pub fn load<S: ServiceSettings>(
    default_port: u16,
    file: Option<&Path>,
) -> Result<Settings<S>, SettingsError> {
    let defaults = Settings {
        common: CommonSettings::local(default_port),
        service: S::default(),
    };
    let mut figment = Figment::from(Serialized::defaults(defaults));
    if let Some(file) = file {
        if !file.is_file() {
            return Err(SettingsError::MissingFile(file.to_path_buf()));
        }
        figment = figment.merge(Toml::file_exact(file));
    }
    let env_key: fn(&str) -> String = S::env_key;
    figment = figment
        .merge(
            Env::raw()
                .only(COMMON_ENV)
                .map(|key| format!("common.{key}").into()),
        )
        .merge(
            Env::raw()
                .only(S::ENV)
                .map(move |key| format!("service.{}", env_key(key.as_str())).into()),
        );
    figment
        .extract()
        .map_err(|e| SettingsError::Invalid(Box::new(e)))
}

/// Accepts a list or a comma-separated string (as environment variables give
/// it), trimmed, empty items dropped: for `deserialize_with` on list settings.
pub fn string_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let items = match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(text) => text.split(',').map(str::to_owned).collect(),
        OneOrMany::Many(items) => items,
    };
    Ok(items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect())
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Demo {
        #[serde(with = "humantime_serde")]
        ttl: Duration,
    }

    impl Default for Demo {
        fn default() -> Self {
            Demo {
                ttl: Duration::from_secs(60),
            }
        }
    }

    impl ServiceSettings for Demo {
        const ENV: &'static [&'static str] = &["TOKEN_TTL_TEST"];
    }

    // Figment's Jail gives each test its own environment, so tests share no variables.
    fn with_jail(f: impl FnOnce(&mut figment::Jail) -> figment::error::Result<()>) {
        figment::Jail::expect_with(f);
    }

    #[test]
    fn defaults_serve_the_local_run() {
        with_jail(|_| {
            let settings = load::<Demo>(4001, None).map_err(|e| e.to_string())?;
            assert_eq!(settings.common.port, 4001);
            assert!(settings.common.mongodb_uri.is_none());
            assert_eq!(settings.service.ttl, Duration::from_secs(60));
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_the_file() {
        with_jail(|jail| {
            jail.create_file(
                "s.toml",
                "[common]\nport = 5000\nadmin_emails = [\"a@x.io\"]\n[service]\nttl = \"5s\"\n",
            )?;
            jail.set_env("PORT", "6000");
            jail.set_env("ADMIN_EMAILS", "b@x.io, c@x.io");
            jail.set_env("MONGODB_URI", "mongodb://db:27017");
            let settings =
                load::<Demo>(4001, Some(Path::new("s.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(settings.common.port, 6000);
            assert_eq!(settings.common.admin_emails, vec!["b@x.io", "c@x.io"]);
            assert_eq!(settings.service.ttl, Duration::from_secs(5));
            let uri = settings
                .common
                .mongodb_uri
                .expect("set from the environment");
            assert_eq!(uri.expose(), "mongodb://db:27017");
            assert_eq!(format!("{uri:?}"), "***");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_are_reported_by_name() {
        with_jail(|jail| {
            jail.create_file("s.toml", "[common]\nprot = 1\n")?;
            let error = load::<Demo>(4001, Some(Path::new("s.toml")))
                .expect_err("unknown key is rejected")
                .to_string();
            assert!(error.contains("prot"), "{error}");

            jail.create_file("ok.toml", "")?;
            jail.set_env("PORT", "not-a-port");
            let error = load::<Demo>(4001, Some(Path::new("ok.toml")))
                .expect_err("a non-numeric port is rejected")
                .to_string();
            assert!(error.contains("PORT") || error.contains("port"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn listener_timeouts_default_like_the_router_and_are_read_from_the_environment() {
        with_jail(|jail| {
            let defaults = load::<Demo>(4001, None).map_err(|e| e.to_string())?;
            assert_eq!(defaults.common.timeouts(), Timeouts::default());
            assert_eq!(Timeouts::default().header_read, Duration::from_secs(10));
            assert_eq!(Timeouts::default().idle, Duration::from_secs(60));
            assert_eq!(Timeouts::default().body_read, Duration::from_secs(10));

            jail.set_env("HEADER_READ_TIMEOUT", "2s");
            jail.set_env("IDLE_TIMEOUT", "500ms");
            jail.set_env("BODY_READ_TIMEOUT", "1m");
            let settings = load::<Demo>(4001, None).map_err(|e| e.to_string())?;
            assert_eq!(
                settings.common.timeouts(),
                Timeouts {
                    header_read: Duration::from_secs(2),
                    idle: Duration::from_millis(500),
                    body_read: Duration::from_secs(60),
                }
            );
            Ok(())
        });
    }

    #[test]
    fn request_limits_default_and_are_read_from_the_file() {
        with_jail(|jail| {
            let defaults = load::<Demo>(4001, None).map_err(|e| e.to_string())?;
            assert_eq!(defaults.common.limits, RequestLimits::default());

            jail.create_file(
                "s.toml",
                "[common.limits]\nmax_depth = 10\nmax_body_bytes = 1000\n",
            )?;
            let settings =
                load::<Demo>(4001, Some(Path::new("s.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(settings.common.limits.max_depth, 10);
            assert_eq!(settings.common.limits.max_body_bytes, 1000);
            assert_eq!(
                settings.common.limits.max_aliases,
                RequestLimits::default().max_aliases
            );

            jail.create_file("bad.toml", "[common.limits]\nmax_dept = 10\n")?;
            let error = load::<Demo>(4001, Some(Path::new("bad.toml")))
                .expect_err("unknown key")
                .to_string();
            assert!(error.contains("max_dept"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_bad_listener_timeout_names_the_setting() {
        with_jail(|jail| {
            jail.set_env("IDLE_TIMEOUT", "forever");
            let error = load::<Demo>(4001, None)
                .expect_err("not a duration")
                .to_string();
            assert!(error.contains("IDLE_TIMEOUT"), "{error}");
            assert!(error.contains("forever"), "{error}");
            Ok(())
        });
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Renamed {
        key_file: Option<String>,
    }

    impl ServiceSettings for Renamed {
        const ENV: &'static [&'static str] = &["DEMO_KEY_FILE_TEST"];

        fn env_key(_var: &str) -> String {
            "key_file".into()
        }
    }

    #[test]
    fn env_key_maps_a_variable_to_a_differently_named_key() {
        with_jail(|jail| {
            jail.create_file("s.toml", "[service]\nkey_file = \"from-file\"\n")?;
            jail.set_env("DEMO_KEY_FILE_TEST", "from-env");
            let settings =
                load::<Renamed>(4001, Some(Path::new("s.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(settings.service.key_file.as_deref(), Some("from-env"));
            Ok(())
        });
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nope.toml");
        let error = load::<Demo>(4001, Some(&path)).expect_err("missing file");
        assert!(error.to_string().contains("nope.toml"));
    }

    #[test]
    fn config_flag_is_parsed_and_junk_rejected() {
        let args = ["--config", "x.toml"].map(String::from).into_iter();
        assert_eq!(
            config_file_from_args(args).expect("valid"),
            Some(PathBuf::from("x.toml"))
        );
        let args = ["--verbose"].map(String::from).into_iter();
        assert!(config_file_from_args(args).is_err());
    }
}
