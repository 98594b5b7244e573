//! How a binary ends when it cannot start: one line on stderr and exit code 1,
//! never a panic or a backtrace for a user's mistake.

use std::process::ExitCode;
use std::time::Duration;

/// The first argument that turns any Storefront binary into its own health
/// probe (for container `HEALTHCHECK`s in images without a shell or curl).
pub const HEALTHCHECK_COMMAND: &str = "healthcheck";

/// Whether the process was started as `<binary> healthcheck`.
pub fn wants_healthcheck() -> bool {
    std::env::args().nth(1).as_deref() == Some(HEALTHCHECK_COMMAND)
}

/// Asks the process on `PORT` (or `default_port`) at 127.0.0.1 for
/// `/health`: exit code 0 when it answers 200 within two seconds, else 1.
pub async fn healthcheck(default_port: u16) -> ExitCode {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse::<u16>().ok())
        .unwrap_or(default_port);
    let url = format!("http://127.0.0.1:{port}{}", crate::server::HEALTH_PATH);
    let answer = match reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    {
        Ok(client) => client.get(&url).send().await,
        Err(error) => {
            eprintln!("healthcheck: {error}");
            return ExitCode::FAILURE;
        }
    };
    match answer {
        Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
        Ok(response) => {
            eprintln!("healthcheck: {url} answered {}", response.status());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("healthcheck: {url}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok` → success; `Err` → `<service>: <error and its causes>` on stderr, exit code 1.
pub fn exit_code(service: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{service}: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping a cause whose text the
/// message before it already includes.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let cause = std::io::Error::other("disk full");
        let error = anyhow::Error::new(cause).context("cannot write: disk full");
        assert_eq!(one_line(&error), "cannot write: disk full");
        let error = anyhow::Error::msg("disk full").context("cannot write");
        assert_eq!(one_line(&error), "cannot write: disk full");
    }

    #[test]
    fn multi_line_messages_become_one_line() {
        let error = anyhow::Error::msg("first\nsecond");
        assert_eq!(one_line(&error), "first second");
    }
}
