//! Postal addresses: the one `AddressInput` every subgraph takes (users saves
//! it to an account, orders snapshots it as a shipping address), its
//! validation into a [`PostalAddress`], and the `@shareable`
//! `MailingAddress` output type. Users and orders export the same SDL for
//! both types because there is one definition, here.
//!
//! What [`PostalAddress::parse`] checks, in this order, naming the field in
//! a `BAD_USER_INPUT` error:
//! - every field is trimmed; an optional field left empty becomes absent;
//! - the required fields (`name`, `line1`, `city`, `country`) are not empty;
//! - no field is longer than its limit ([`MAX_NAME_CHARS`] and the others)
//!   or contains a control or invisible formatting character (see
//!   [`crate::text`]);
//! - `country` is an ISO 3166-1 alpha-2 code (any case on input, stored
//!   upper-case), checked against the full list of assigned codes;
//! - `postalCode` is required for the countries in [`POSTAL_CODES`] (the
//!   common shipping destinations that use one), stored upper-case, and for
//!   those of them with a simple fixed shape (US `12345` or `12345-6789`, DE
//!   five digits, CA `A1A 1A1`, ...) matches it; other countries take any
//!   short postal code or none;
//! - `phone` holds digits and `+ - ( ) . ` only, with at least 4 digits.
//!
//! Kept simple on purpose: no region lists, no address verification
//! service; a shop that needs one adds it in front.
//!
//! # Layout
//! - [`AddressInput`]: the GraphQL input, as the client sent it.
//! - [`PostalAddress`]: a validated address, as stored (serde).
//! - [`MailingAddress`]: the GraphQL output (`@shareable`).
//! - [`COUNTRIES`], [`POSTAL_CODES`]: the tables the checks use.

use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

use crate::{ApiError, ApiResult, text};

/// Longest recipient name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest street line (`line1`, `line2`), in characters.
pub const MAX_LINE_CHARS: usize = 200;
/// Longest `city` or `region`, in characters.
pub const MAX_CITY_CHARS: usize = 100;
/// Longest postal code, in characters.
pub const MAX_POSTAL_CODE_CHARS: usize = 16;
/// Longest phone number, in characters.
pub const MAX_PHONE_CHARS: usize = 32;

/// A postal address as the client sends it (to save one, or to ship an
/// order to it).
#[derive(InputObject, Debug, Clone, PartialEq, Eq, Default)]
pub struct AddressInput {
    /// The recipient's name.
    pub name: String,
    /// Street address, first line.
    pub line1: String,
    /// Street address, second line (apartment, suite, ...).
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// State, province or region, where the country uses one.
    pub region: Option<String>,
    /// Postal or ZIP code; required for the countries that use one.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code, e.g. "US" (any case; stored upper-case).
    pub country: String,
    /// A phone number for the carrier.
    pub phone: Option<String>,
}

/// A validated postal address (see the module doc for what holds). Built only
/// by [`PostalAddress::parse`], or read back from a store that saved one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    /// The recipient's name.
    pub name: String,
    /// Street address, first line.
    pub line1: String,
    /// Street address, second line.
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// State, province or region.
    pub region: Option<String>,
    /// Postal code, upper-case.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 code, upper-case.
    pub country: String,
    /// Phone number.
    pub phone: Option<String>,
}

/// A postal address in an answer: a saved address's fields, an order's
/// shipping address.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(shareable)]
pub struct MailingAddress {
    /// The recipient's name.
    pub name: String,
    /// Street address, first line.
    pub line1: String,
    /// Street address, second line (apartment, suite, ...).
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// State, province or region.
    pub region: Option<String>,
    /// Postal or ZIP code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code, upper-case.
    pub country: String,
    /// A phone number for the carrier.
    pub phone: Option<String>,
}

impl From<&PostalAddress> for MailingAddress {
    fn from(address: &PostalAddress) -> Self {
        MailingAddress {
            name: address.name.clone(),
            line1: address.line1.clone(),
            line2: address.line2.clone(),
            city: address.city.clone(),
            region: address.region.clone(),
            postal_code: address.postal_code.clone(),
            country: address.country.clone(),
            phone: address.phone.clone(),
        }
    }
}

impl From<PostalAddress> for MailingAddress {
    fn from(address: PostalAddress) -> Self {
        MailingAddress {
            name: address.name,
            line1: address.line1,
            line2: address.line2,
            city: address.city,
            region: address.region,
            postal_code: address.postal_code,
            country: address.country,
            phone: address.phone,
        }
    }
}

impl PostalAddress {
    /// Validates `input` (see the module doc); `BAD_USER_INPUT` naming the
    /// field (as GraphQL spells it, e.g. `postalCode`) when it fails.
    pub fn parse(input: AddressInput) -> ApiResult<PostalAddress> {
        let name = required("name", &input.name, MAX_NAME_CHARS)?;
        let line1 = required("line1", &input.line1, MAX_LINE_CHARS)?;
        let line2 = optional("line2", input.line2.as_deref(), MAX_LINE_CHARS)?;
        let city = required("city", &input.city, MAX_CITY_CHARS)?;
        let region = optional("region", input.region.as_deref(), MAX_CITY_CHARS)?;
        let country = parse_country(&input.country)?;
        let postal_code = optional(
            "postalCode",
            input.postal_code.as_deref(),
            MAX_POSTAL_CODE_CHARS,
        )?
        .map(|code| code.to_ascii_uppercase());
        check_postal_code(&country, postal_code.as_deref())?;
        let phone = optional("phone", input.phone.as_deref(), MAX_PHONE_CHARS)?;
        if let Some(phone) = &phone {
            check_phone(phone)?;
        }
        Ok(PostalAddress {
            name,
            line1,
            line2,
            city,
            region,
            postal_code,
            country,
            phone,
        })
    }
}

fn bad(field: &str, problem: impl std::fmt::Display) -> ApiError {
    ApiError::BadUserInput(format!("address {field} {problem}"))
}

/// `value` trimmed; empty, too long or with a forbidden character is refused.
fn required(field: &str, value: &str, max_chars: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    checked(field, value, max_chars)
}

/// `value` trimmed, `None` when absent or empty; otherwise as [`required`].
fn optional(field: &str, value: Option<&str>, max_chars: usize) -> ApiResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => checked(field, value, max_chars).map(Some),
    }
}

fn checked(field: &str, value: &str, max_chars: usize) -> ApiResult<String> {
    if value.chars().count() > max_chars {
        return Err(bad(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if let Err(forbidden) = text::check_line(value) {
        return Err(bad(field, format!("must not contain {forbidden}")));
    }
    Ok(value.to_owned())
}

fn parse_country(value: &str) -> ApiResult<String> {
    let code = value.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err(bad("country", "must not be empty"));
    }
    if COUNTRIES.binary_search(&code.as_str()).is_err() {
        return Err(bad(
            "country",
            format!(
                "must be an ISO 3166-1 alpha-2 code such as \"US\" or \"DE\", not {:?}",
                value.trim()
            ),
        ));
    }
    Ok(code)
}

/// The countries whose addresses need a postal code, with the shapes it may
/// take (`#` a digit, `@` a letter, anything else itself); an empty list of
/// shapes accepts any code. Sorted by country.
pub const POSTAL_CODES: &[(&str, &[&str])] = &[
    ("AT", &["####"]),
    ("AU", &["####"]),
    ("BE", &["####"]),
    ("BR", &["#####-###", "########"]),
    ("CA", &["@#@ #@#", "@#@#@#"]),
    ("CH", &["####"]),
    ("CN", &["######"]),
    ("CZ", &["### ##", "#####"]),
    ("DE", &["#####"]),
    ("DK", &["####"]),
    ("ES", &["#####"]),
    ("FI", &["#####"]),
    ("FR", &["#####"]),
    ("GB", &[]),
    ("IN", &["######"]),
    ("IT", &["#####"]),
    ("JP", &["###-####", "#######"]),
    ("KR", &["#####"]),
    ("MX", &["#####"]),
    ("NL", &["#### @@", "####@@"]),
    ("NO", &["####"]),
    ("NZ", &["####"]),
    ("PL", &["##-###"]),
    ("PT", &["####-###"]),
    ("SE", &["### ##", "#####"]),
    ("US", &["#####", "#####-####"]),
];

fn check_postal_code(country: &str, code: Option<&str>) -> ApiResult<()> {
    let Ok(index) = POSTAL_CODES.binary_search_by(|(c, _)| c.cmp(&country)) else {
        return Ok(());
    };
    let (_, shapes) = POSTAL_CODES[index];
    let Some(code) = code else {
        return Err(bad(
            "postalCode",
            format!("is required for addresses in {country}"),
        ));
    };
    let fits = if country == "GB" {
        fits_gb(code)
    } else {
        shapes.is_empty() || shapes.iter().any(|shape| fits_shape(code, shape))
    };
    if fits {
        Ok(())
    } else if shapes.is_empty() {
        Err(bad(
            "postalCode",
            format!("{code:?} is not a valid postal code for {country}"),
        ))
    } else {
        let shapes = shapes.join("\" or \"");
        Err(bad(
            "postalCode",
            format!(
                "{code:?} is not a valid postal code for {country} \
                 (expected \"{shapes}\", # a digit, @ a letter)"
            ),
        ))
    }
}

fn fits_shape(code: &str, shape: &str) -> bool {
    code.chars().count() == shape.chars().count()
        && code.chars().zip(shape.chars()).all(|(c, s)| match s {
            '#' => c.is_ascii_digit(),
            '@' => c.is_ascii_alphabetic(),
            s => c == s,
        })
}

/// A UK postcode, loosely: an outward code of 2 to 4 letters and digits that
/// starts with a letter, an optional space, and an inward code of a digit and
/// two letters (`SW1A 1AA`, `M1 1AE`, `EC1A1BB`).
fn fits_gb(code: &str) -> bool {
    let compact: Vec<char> = code.chars().filter(|c| *c != ' ').collect();
    if !(5..=7).contains(&compact.len()) || code.matches(' ').count() > 1 {
        return false;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    outward[0].is_ascii_alphabetic()
        && outward.iter().all(char::is_ascii_alphanumeric)
        && inward[0].is_ascii_digit()
        && inward[1..].iter().all(char::is_ascii_alphabetic)
}

fn check_phone(phone: &str) -> ApiResult<()> {
    if let Some(c) = phone
        .chars()
        .find(|c| !(c.is_ascii_digit() || matches!(c, '+' | '-' | '(' | ')' | '.' | ' ')))
    {
        return Err(bad(
            "phone",
            format!("may hold only digits, spaces and + - ( ) . (not {c:?})"),
        ));
    }
    if phone.chars().filter(char::is_ascii_digit).count() < 4 {
        return Err(bad("phone", "must have at least 4 digits"));
    }
    Ok(())
}

/// Every officially assigned ISO 3166-1 alpha-2 code (249), sorted.
pub const COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AddressInput {
        AddressInput {
            name: "Ada Lovelace".into(),
            line1: "12 St James's Square".into(),
            line2: None,
            city: "London".into(),
            region: None,
            postal_code: Some("SW1Y 4JH".into()),
            country: "GB".into(),
            phone: None,
        }
    }

    fn refused(input: AddressInput) -> String {
        match PostalAddress::parse(input) {
            Err(ApiError::BadUserInput(message)) => message,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_address_is_trimmed_and_normalised() {
        let address = PostalAddress::parse(AddressInput {
            name: "  Ada Lovelace ".into(),
            line2: Some("   ".into()),
            region: Some(" Westminster ".into()),
            postal_code: Some(" sw1y 4jh ".into()),
            country: " gb ".into(),
            phone: Some(" +44 (20) 7946-0000 ".into()),
            ..input()
        })
        .expect("valid");
        assert_eq!(
            address,
            PostalAddress {
                name: "Ada Lovelace".into(),
                line1: "12 St James's Square".into(),
                line2: None,
                city: "London".into(),
                region: Some("Westminster".into()),
                postal_code: Some("SW1Y 4JH".into()),
                country: "GB".into(),
                phone: Some("+44 (20) 7946-0000".into()),
            }
        );
    }

    #[test]
    fn empty_required_fields_are_refused_by_name() {
        for (field, input) in [
            (
                "name",
                AddressInput {
                    name: " ".into(),
                    ..input()
                },
            ),
            (
                "line1",
                AddressInput {
                    line1: "".into(),
                    ..input()
                },
            ),
            (
                "city",
                AddressInput {
                    city: "\t".into(),
                    ..input()
                },
            ),
            (
                "country",
                AddressInput {
                    country: "".into(),
                    ..input()
                },
            ),
        ] {
            let message = refused(input);
            assert_eq!(message, format!("address {field} must not be empty"));
        }
    }

    #[test]
    fn over_long_fields_are_refused_by_name() {
        let message = refused(AddressInput {
            line1: "x".repeat(MAX_LINE_CHARS + 1),
            ..input()
        });
        assert!(
            message.starts_with("address line1 must be at most"),
            "{message}"
        );
        let message = refused(AddressInput {
            region: Some("y".repeat(MAX_CITY_CHARS + 1)),
            ..input()
        });
        assert!(message.starts_with("address region "), "{message}");
        // Exactly at the limit, counted in characters, not bytes.
        PostalAddress::parse(AddressInput {
            name: "é".repeat(MAX_NAME_CHARS),
            ..input()
        })
        .expect("at the limit");
    }

    #[test]
    fn control_and_invisible_characters_are_refused() {
        let message = refused(AddressInput {
            line2: Some("Flat 3\u{202E}".into()),
            ..input()
        });
        assert!(
            message.starts_with("address line2 must not contain"),
            "{message}"
        );
        let message = refused(AddressInput {
            city: "Lon\ndon".into(),
            ..input()
        });
        assert!(message.starts_with("address city "), "{message}");
    }

    #[test]
    fn country_must_be_an_assigned_alpha2_code() {
        for bad in ["USA", "U", "XX", "UK", "12", "EU"] {
            let message = refused(AddressInput {
                country: bad.into(),
                ..input()
            });
            assert!(
                message.starts_with("address country must be"),
                "{bad}: {message}"
            );
        }
        let address = PostalAddress::parse(AddressInput {
            country: "fr".into(),
            postal_code: Some("75001".into()),
            ..input()
        })
        .expect("lower case accepted");
        assert_eq!(address.country, "FR");
    }

    #[test]
    fn the_country_list_is_sorted_and_complete() {
        assert_eq!(COUNTRIES.len(), 249);
        assert!(COUNTRIES.windows(2).all(|w| w[0] < w[1]));
        assert!(
            POSTAL_CODES.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted, for binary search"
        );
        for (country, _) in POSTAL_CODES {
            assert!(COUNTRIES.contains(country), "{country}");
        }
    }

    #[test]
    fn postal_code_is_required_where_the_country_uses_one() {
        let message = refused(AddressInput {
            postal_code: None,
            country: "US".into(),
            ..input()
        });
        assert_eq!(
            message,
            "address postalCode is required for addresses in US"
        );
        let message = refused(AddressInput {
            postal_code: Some("  ".into()),
            ..input()
        });
        assert_eq!(
            message,
            "address postalCode is required for addresses in GB"
        );
        // Hong Kong and the United Arab Emirates use none: accepted without one.
        for country in ["HK", "AE"] {
            PostalAddress::parse(AddressInput {
                postal_code: None,
                country: country.into(),
                ..input()
            })
            .expect(country);
        }
    }

    #[test]
    fn postal_codes_must_fit_the_country_shape() {
        let accepted = [
            ("US", "94103"),
            ("US", "94103-1234"),
            ("DE", "10115"),
            ("CA", "K1A 0B1"),
            ("CA", "k1a0b1"),
            ("NL", "1012 AB"),
            ("JP", "100-0001"),
            ("GB", "M1 1AE"),
            ("GB", "EC1A1BB"),
            ("AU", "2000"),
            ("IE", "D02 X285"),
        ];
        for (country, code) in accepted {
            PostalAddress::parse(AddressInput {
                postal_code: Some(code.into()),
                country: country.into(),
                ..input()
            })
            .unwrap_or_else(|e| panic!("{country} {code}: {e:?}"));
        }
        let refused_codes = [
            ("US", "9410"),
            ("US", "94103-12"),
            ("US", "ABCDE"),
            ("DE", "1011"),
            ("CA", "K1A-0B1"),
            ("NL", "1012"),
            ("GB", "1234"),
            ("GB", "SW1A 1A"),
        ];
        for (country, code) in refused_codes {
            let message = refused(AddressInput {
                postal_code: Some(code.into()),
                country: country.into(),
                ..input()
            });
            assert!(
                message.starts_with("address postalCode ") && message.contains(country),
                "{country} {code}: {message}"
            );
        }
    }

    #[test]
    fn phone_numbers_hold_digits_and_punctuation_only() {
        let message = refused(AddressInput {
            phone: Some("call me".into()),
            ..input()
        });
        assert!(
            message.starts_with("address phone may hold only"),
            "{message}"
        );
        let message = refused(AddressInput {
            phone: Some("+1".into()),
            ..input()
        });
        assert_eq!(message, "address phone must have at least 4 digits");
    }

    #[test]
    fn the_stored_form_round_trips_and_converts_to_the_output_type() {
        let address = PostalAddress::parse(input()).expect("valid");
        let json = serde_json::to_string(&address).expect("serialises");
        let back: PostalAddress = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, address);
        let output = MailingAddress::from(&address);
        assert_eq!(output.postal_code.as_deref(), Some("SW1Y 4JH"));
        assert_eq!(output.country, "GB");
        assert_eq!(MailingAddress::from(address), output);
    }
}
