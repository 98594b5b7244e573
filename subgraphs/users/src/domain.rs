//! The users domain: an account and the validated values it is made of.
//!
//! Raw input becomes a value only through its `parse` constructor, so a
//! function that takes an [`Email`], a [`Password`] or a [`DisplayName`]
//! never sees an invalid one.

use std::fmt;

use chrono::{DateTime, Utc};
use storefront_shared::auth::Role;
use storefront_shared::text;

/// The longest email address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most characters a password may have.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// The most characters a display name may have.
pub const MAX_NAME_CHARS: usize = 100;

/// Why a value was rejected; the message tells the user what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Not a usable email address.
    #[error("`{0}` is not a valid email address: {1}")]
    Email(String, &'static str),
    /// The password breaks the policy.
    #[error("{0}")]
    Password(String),
    /// The display name is empty, too long, or has a forbidden character.
    #[error("{0}")]
    Name(String),
}

/// An email address: trimmed, lower-cased and syntactically plausible.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// Normalises (trim, lower-case) and checks `raw`: one `@`, a non-empty
    /// local part, a domain with a dot, no whitespace, at most 254 characters.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let email = raw.trim().to_lowercase();
        let reject = |why| Err(ValidationError::Email(email.clone(), why));
        if email.is_empty() {
            return Err(ValidationError::Email(
                String::new(),
                "an email address is required",
            ));
        }
        if email.chars().count() > MAX_EMAIL_CHARS {
            return reject("it is longer than 254 characters");
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return reject("it contains spaces");
        }
        let mut parts = email.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return reject("it must contain exactly one @");
        };
        if local.is_empty() {
            return reject("the part before the @ is empty");
        }
        let labels_ok = domain.split('.').all(|label| !label.is_empty());
        if !domain.contains('.') || !labels_ok {
            return reject("the domain after the @ must look like example.com");
        }
        Ok(Email(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password that meets the policy. `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Checks `raw` against the policy: 8 to 128 characters, and not the
    /// account's email address (compared case-insensitively).
    pub fn parse(raw: &str, email: &Email) -> Result<Self, ValidationError> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(ValidationError::Password(format!(
                "the password must have at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(ValidationError::Password(format!(
                "the password must have at most {MAX_PASSWORD_CHARS} characters"
            )));
        }
        if raw.trim().to_lowercase() == email.as_str() {
            return Err(ValidationError::Password(
                "the password must not be your email address".into(),
            ));
        }
        Ok(Password(raw.to_owned()))
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A display name: trimmed, 1 to 100 characters, none of them a control or
/// invisible formatting character ([`text::check_line`]: NUL, bidi overrides, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Trims `raw` and checks its length and characters.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ValidationError::Name("the name must not be empty".into()));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(ValidationError::Name(format!(
                "the name must have at most {MAX_NAME_CHARS} characters"
            )));
        }
        if let Err(forbidden) = text::check_line(name) {
            return Err(ValidationError::Name(format!(
                "the name must not contain control or invisible formatting characters; it has {forbidden}"
            )));
        }
        Ok(DisplayName(name.to_owned()))
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An argon2id hash in PHC string format. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string (as stored).
    pub fn new(phc: impl Into<String>) -> Self {
        PasswordHash(phc.into())
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// A UUID (v7) string; never a MongoDB ObjectId.
    pub id: String,
    /// The normalised email address; unique across accounts.
    pub email: Email,
    /// The display name.
    pub name: String,
    /// CUSTOMER, or ADMIN for the addresses in `ADMIN_EMAILS`.
    pub role: Role,
    /// The argon2id hash of the password.
    pub password_hash: PasswordHash,
    /// The token generation: tokens whose `ver` differs are revoked.
    pub token_version: u32,
    /// When the account was created (millisecond precision, as stored).
    pub created_at: DateTime<Utc>,
}

impl User {
    /// A new account with a fresh id, created now, at token generation 0.
    pub fn new(email: Email, name: DisplayName, role: Role, password_hash: PasswordHash) -> Self {
        User {
            id: uuid::Uuid::now_v7().to_string(),
            email,
            name: name.0,
            role,
            password_hash,
            token_version: 0,
            created_at: now_millis(),
        }
    }
}

/// The current time, truncated to what the stores keep (milliseconds).
pub fn now_millis() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(raw: &str) -> Email {
        Email::parse(raw).expect("valid email")
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(email("  Ada@Example.COM ").as_str(), "ada@example.com");
    }

    #[test]
    fn implausible_emails_are_rejected() {
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a@b@example.com",
            "ada lovelace@example.com",
            "ada@example..com",
            "ada@.com",
            long.as_str(),
        ] {
            assert!(Email::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn password_policy_counts_characters_not_bytes() {
        let owner = email("ada@example.com");
        // Seven characters but 21 bytes: too short.
        assert!(Password::parse("ééééééé", &owner).is_err());
        assert!(Password::parse("éééééééé", &owner).is_ok());
        assert!(Password::parse(&"x".repeat(128), &owner).is_ok());
        let error = Password::parse(&"x".repeat(129), &owner).expect_err("too long");
        assert!(error.to_string().contains("at most 128"), "{error}");
        let error = Password::parse("short", &owner).expect_err("too short");
        assert!(error.to_string().contains("at least 8"), "{error}");
    }

    #[test]
    fn password_must_not_be_the_email_in_any_case() {
        let owner = email("ada@example.com");
        let error = Password::parse("ADA@example.com", &owner).expect_err("same as email");
        assert!(error.to_string().contains("email"), "{error}");
    }

    #[test]
    fn secrets_are_not_printed() {
        let owner = email("ada@example.com");
        let password = Password::parse("correct horse", &owner).expect("valid");
        assert!(!format!("{password:?}").contains("horse"));
        assert!(!format!("{:?}", PasswordHash::new("$argon2id$secret")).contains("secret"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("  Ada  ").expect("valid").as_str(),
            "Ada"
        );
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
        assert!(DisplayName::parse(&"é".repeat(101)).is_err());
    }

    #[test]
    fn names_with_control_or_invisible_formatting_characters_are_refused() {
        for raw in [
            "Ada\0",
            "Ada\u{202E}ecalevoL",
            "Ada\nLovelace",
            "A\u{7}da",
            "A\u{200B}da",
        ] {
            let error = DisplayName::parse(raw).expect_err(raw);
            assert!(
                error
                    .to_string()
                    .contains("control or invisible formatting"),
                "{raw:?}: {error}"
            );
        }
        assert!(DisplayName::parse("Zoë 山田 👩\u{200D}💻").is_ok());
    }

    #[test]
    fn new_users_get_a_uuid_and_millisecond_timestamps() {
        let user = User::new(
            email("ada@example.com"),
            DisplayName::parse("Ada").expect("valid"),
            Role::Customer,
            PasswordHash::new("h"),
        );
        assert!(uuid::Uuid::parse_str(&user.id).is_ok());
        assert_eq!(user.created_at.timestamp_subsec_nanos() % 1_000_000, 0);
        assert_eq!(user.token_version, 0);
    }
}
