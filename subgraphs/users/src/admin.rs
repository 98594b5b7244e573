//! `users create-admin`: the first ADMIN of a deployment without a default
//! one, made by the operator rather than by whoever registers first.
//!
//! ```text
//! users create-admin --email ops@shop.example [--name "Shop operator"] [--config FILE]
//! ```
//!
//! It reads the same settings as the service (`MONGODB_URI`, `DATA_DIR`, the
//! config file) and writes to the same store. An account with that email that
//! does not exist yet is created as ADMIN, with the password from
//! `ADMIN_PASSWORD` or else the first line of standard input (the same policy
//! as `register`); an existing account is promoted to ADMIN and keeps its
//! password (none is read). Its tokens issued before still say CUSTOMER until
//! it logs in again. The embedded store is one process's: stop the users
//! service before running this against it (MongoDB needs no such care).
//!
//! # Layout
//! - [`parse_args`]: the command line.
//! - [`create_admin`]: the operation over a repository (what the tests drive).
//! - [`run`]: the whole command (settings, store, password, one line out).

use std::io::BufRead as _;
use std::path::PathBuf;

use anyhow::Context as _;
use storefront_shared::auth::Role;
use storefront_shared::settings;

use crate::domain::{DisplayName, Email, Password, User};
use crate::passwords;
use crate::settings::UsersSettings;
use crate::store::{RepoError, SharedRepository};

/// The first argument that runs this command instead of the service.
pub const CREATE_ADMIN_COMMAND: &str = "create-admin";
/// The environment variable a new admin's password may come from.
pub const ADMIN_PASSWORD_ENV: &str = "ADMIN_PASSWORD";
/// The display name of a new admin when `--name` is not given.
pub const DEFAULT_ADMIN_NAME: &str = "Administrator";

/// The arguments of `users create-admin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAdminArgs {
    /// `--email`: the account to create or promote.
    pub email: String,
    /// `--name`: the display name of a new account.
    pub name: String,
    /// `--config`: the settings file, as for the service.
    pub config: Option<PathBuf>,
}

/// Parses the arguments after `create-admin`.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<CreateAdminArgs, String> {
    let usage = "usage: users create-admin --email EMAIL [--name NAME] [--config FILE]";
    let mut email = None;
    let mut name = None;
    let mut config = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.into())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value; {usage}"))
        };
        match flag.as_str() {
            "--email" => email = Some(value()?),
            "--name" => name = Some(value()?),
            "--config" | "-c" => config = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument `{other}`; {usage}")),
        }
    }
    Ok(CreateAdminArgs {
        email: email.ok_or_else(|| format!("--email is required; {usage}"))?,
        name: name.unwrap_or_else(|| DEFAULT_ADMIN_NAME.to_owned()),
        config: config.or_else(|| std::env::var_os("CONFIG_FILE").map(PathBuf::from)),
    })
}

/// What [`create_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOutcome {
    /// A new ADMIN account.
    Created(User),
    /// An existing account, now ADMIN.
    Promoted(User),
    /// The account was an ADMIN already; nothing changed.
    AlreadyAdmin(User),
}

impl std::fmt::Display for AdminOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminOutcome::Created(user) => {
                write!(f, "created ADMIN {} (id {})", user.email, user.id)
            }
            AdminOutcome::Promoted(user) => write!(
                f,
                "promoted {} (id {}) to ADMIN; its older tokens keep their role until it logs in again",
                user.email, user.id
            ),
            AdminOutcome::AlreadyAdmin(user) => {
                write!(f, "{} (id {}) is already an ADMIN", user.email, user.id)
            }
        }
    }
}

/// Creates `email` as an ADMIN named `name` (asking `password` for its
/// password), or promotes the existing account with that email.
pub async fn create_admin(
    repo: &SharedRepository,
    email: &str,
    name: &str,
    password: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<AdminOutcome> {
    let email = Email::parse(email).context("--email")?;
    if let Some(user) = repo.find_by_email(&email).await? {
        if user.role == Role::Admin {
            return Ok(AdminOutcome::AlreadyAdmin(user));
        }
        let promoted = repo
            .set_role(&user.id, Role::Admin)
            .await?
            .context("the account disappeared while it was promoted")?;
        tracing::info!(user_id = %promoted.id, "promoted an account to ADMIN");
        return Ok(AdminOutcome::Promoted(promoted));
    }
    let name = DisplayName::parse(name).context("--name")?;
    let password = Password::parse(&password()?, &email).context("the password")?;
    let hash = passwords::hash(&password)
        .await
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    let user = User::new(email, name, Role::Admin, hash);
    match repo.insert(&user).await {
        Ok(()) => {
            tracing::info!(user_id = %user.id, "created an ADMIN account");
            Ok(AdminOutcome::Created(user))
        }
        Err(RepoError::Conflict) => {
            anyhow::bail!(
                "{} registered just now; run the command again to promote it",
                user.email
            )
        }
        Err(error) => Err(error.into()),
    }
}

/// The password of a new admin: `ADMIN_PASSWORD`, else the first line of stdin.
fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var(ADMIN_PASSWORD_ENV) {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        anyhow::bail!(
            "no password: set {ADMIN_PASSWORD_ENV} or write it on standard input (it is only needed for a new account)"
        );
    }
    Ok(password)
}

/// `users create-admin ARGS`: settings as the service reads them, its store,
/// and one line on stdout saying what was done.
pub async fn run(args: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let args = parse_args(args).map_err(anyhow::Error::msg)?;
    let settings = settings::load::<UsersSettings>(crate::DEFAULT_PORT, args.config.as_deref())?;
    let repo = crate::open_repository(&settings.common).await?;
    let outcome = create_admin(&repo, &args.email, &args.name, read_password).await?;
    println!("{outcome}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<CreateAdminArgs, String> {
        parse_args(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn the_email_is_required_and_the_name_has_a_default() {
        let parsed = args(&["--email", "ops@shop.example"]).expect("valid");
        assert_eq!(parsed.email, "ops@shop.example");
        assert_eq!(parsed.name, DEFAULT_ADMIN_NAME);
        let parsed = args(&["--email=ops@shop.example", "--name", "Ops"]).expect("valid");
        assert_eq!(
            (parsed.email.as_str(), parsed.name.as_str()),
            ("ops@shop.example", "Ops")
        );
        assert!(
            args(&[])
                .expect_err("no email")
                .contains("--email is required")
        );
        assert!(
            args(&["--email"])
                .expect_err("no value")
                .contains("needs a value")
        );
        assert!(
            args(&["--mail", "x"])
                .expect_err("unknown")
                .contains("--mail")
        );
    }
}
