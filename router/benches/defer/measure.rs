//! One request, timed: when its first part was whole (the primary response
//! with `@defer`, the whole response without) and when its last part was;
//! its parts merged as Apollo Client merges them, for the bench's checks.
//!
//! A `multipart/mixed` answer (`deferSpec=20220824`) is read chunk by chunk:
//! a part counts once its JSON body parses, so "first part" is the moment the
//! primary payload is complete on the client's side, not when the headers
//! arrive. Any other answer is one JSON body, complete when it has all
//! arrived.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

/// What one request saw.
#[derive(Debug, Clone)]
pub struct Answer {
    /// From sending to the first whole part (the whole body for JSON).
    pub first: Duration,
    /// From sending to the last part (`hasNext: false`, or the body's end).
    pub last: Duration,
    /// The first part (the primary payload with `@defer`, else the body).
    pub first_part: Value,
    /// How many parts (1 for JSON).
    pub parts: usize,
    /// `data` with every increment merged in.
    pub merged: Value,
    /// Every part's `errors`, concatenated.
    pub errors: Vec<Value>,
}

/// POSTs `body` to `url` with `accept` and reads the answer as it arrives.
pub async fn request(
    client: &reqwest::Client,
    url: &str,
    accept: &str,
    body: &Value,
) -> anyhow::Result<Answer> {
    let began = Instant::now();
    let mut response = client
        .post(url)
        .header("accept", accept)
        .json(body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .context("no answer")?;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let boundary = multipart_boundary(&content_type);
    let mut buffer = Vec::new();
    let mut parts: Vec<Value> = Vec::new();
    let mut first = None;
    let mut last = None;
    while let Some(chunk) = response.chunk().await.context("the body broke off")? {
        buffer.extend_from_slice(&chunk);
        if let Some(boundary) = &boundary {
            let whole = whole_parts(&buffer, boundary);
            if whole.len() > parts.len() {
                let now = began.elapsed();
                first.get_or_insert(now);
                if whole.iter().any(|p| p["hasNext"] == Value::Bool(false)) {
                    last.get_or_insert(now);
                }
                parts = whole;
            }
        }
    }
    let ended = began.elapsed();
    if boundary.is_none() {
        let value: Value = serde_json::from_slice(&buffer).with_context(|| {
            format!(
                "HTTP {status}, {content_type}, not JSON: {}",
                String::from_utf8_lossy(&buffer[..buffer.len().min(300)])
            )
        })?;
        parts.push(value);
        first = Some(ended);
    }
    let Some(first_part) = parts.first().cloned() else {
        bail!("HTTP {status}: a multipart answer without a whole part");
    };
    let mut merged = first_part.get("data").cloned().unwrap_or(Value::Null);
    let mut errors = Vec::new();
    for part in &parts {
        if let Some(list) = part.get("errors").and_then(Value::as_array) {
            errors.extend(list.iter().cloned());
        }
        for increment in part
            .get("incremental")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(list) = increment.get("errors").and_then(Value::as_array) {
                errors.extend(list.iter().cloned());
            }
            let path = increment
                .get("path")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(data) = increment.get("data") {
                merge_at(&mut merged, &path, data);
            }
        }
    }
    Ok(Answer {
        first: first.unwrap_or(ended),
        last: last.unwrap_or(ended),
        parts: parts.len(),
        first_part,
        merged,
        errors,
    })
}

/// The boundary of a `multipart/mixed` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';').map(str::trim);
    if !params.next()?.eq_ignore_ascii_case("multipart/mixed") {
        return None;
    }
    params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
}

/// The JSON bodies of the parts in `buffer` that have fully arrived.
fn whole_parts(buffer: &[u8], boundary: &str) -> Vec<Value> {
    let delimiter = format!("--{boundary}");
    let text = String::from_utf8_lossy(buffer);
    let mut parts = Vec::new();
    // Before the first delimiter: the preamble (nothing, or a CRLF).
    for segment in text.split(delimiter.as_str()).skip(1) {
        if segment.starts_with("--") {
            break; // the closing delimiter
        }
        let Some((_, body)) = segment.split_once("\r\n\r\n") else {
            break;
        };
        match serde_json::from_str::<Value>(body.trim()) {
            Ok(value) => parts.push(value),
            Err(_) => break, // still arriving
        }
    }
    parts
}

/// Merges `data` into the object at `path` of `target` (Apollo Client's
/// `mergeIncrementalData`: objects merge key by key).
fn merge_at(target: &mut Value, path: &[Value], data: &Value) {
    let mut at = target;
    for element in path {
        let next = match element {
            Value::String(key) => at.get_mut(key.as_str()),
            Value::Number(index) => index
                .as_u64()
                .and_then(|i| at.get_mut(usize::try_from(i).ok()?)),
            _ => None,
        };
        match next {
            Some(next) => at = next,
            None => return,
        }
    }
    merge(at, data);
}

fn merge(target: &mut Value, data: &Value) {
    match (target, data) {
        (Value::Object(target), Value::Object(data)) => {
            for (key, value) in data {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(target), Value::Array(data)) if target.len() == data.len() => {
            for (existing, value) in target.iter_mut().zip(data) {
                merge(existing, value);
            }
        }
        (target, data) => *target = data.clone(),
    }
}
