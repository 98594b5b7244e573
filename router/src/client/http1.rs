//! Plain-HTTP subgraph requests made by the fetch's own task: it takes a
//! keep-alive connection from the subgraph's pool, writes the request and
//! reads the answer itself, then puts the connection back. No connection
//! task, no channels between tasks, no copy of the answer out of a
//! connection's buffer: the body is read into the vector the parser takes.
//! `https://` subgraphs go through hyper and rustls instead (see
//! [`super::SubgraphClient`]).
//!
//! Layout:
//! - [`Endpoint`]: one subgraph URL and its request head;
//! - [`Origin`]: one host and port, and its idle connections, shared by
//!   every subgraph URL on it (as browsers and hyper's pool share them: four
//!   subgraphs behind one server keep one set of connections, not four);
//! - [`Endpoint::exchange`]: one request and its answer, retried once on a
//!   new connection when a reused one turns out closed before answering
//!   (queries only);
//! - reading an answer: its head with `httparse`, then a body framed by
//!   `content-length`, by `chunked` coding or by the connection's end.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BufMut;
use hyper::header::{
    ACCEPT, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderMap, HeaderName,
    TRANSFER_ENCODING,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::SubgraphError;

/// An idle connection is not reused after this long (the server may have
/// dropped it by then).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// The most headers an answer may have.
const MAX_HEADERS: usize = 100;
/// The largest answer head accepted.
const MAX_HEAD: usize = 64 << 10;
/// The most an answer's `content-length` reserves before its bytes arrive.
pub(super) const MAX_PREALLOCATED_ANSWER: usize = 16 << 20;
/// How much room is made for each read of a body of unknown length.
const READ_CHUNK: usize = 16 << 10;

/// A plain-HTTP subgraph URL: the fixed start of every request's head,
/// and where its connections come from.
#[derive(Debug)]
pub(super) struct Endpoint {
    /// `POST <path> HTTP/1.1` and the `host`, `content-type` and `accept`
    /// lines.
    head: Vec<u8>,
    origin: Arc<Origin>,
}

/// A host and port to connect to, and the connections to it waiting for
/// the next request.
#[derive(Debug)]
pub(super) struct Origin {
    /// The host, without an IPv6 literal's brackets.
    host: String,
    port: u16,
    idle: Mutex<Vec<Idle>>,
}

#[derive(Debug)]
struct Idle {
    stream: TcpStream,
    since: Instant,
}

/// A subgraph's answer: status and body.
#[derive(Debug)]
pub(super) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Endpoint {
    /// The endpoint of an `http://` URL, or `None` for any other scheme. It
    /// shares the connections of the first of `others` on the same host
    /// and port.
    pub(super) fn new<'e>(
        uri: &hyper::Uri,
        others: impl IntoIterator<Item = &'e Endpoint>,
    ) -> Option<Endpoint> {
        if uri.scheme_str() != Some("http") {
            return None;
        }
        let authority = uri.authority()?;
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut head = Vec::with_capacity(160);
        head.extend_from_slice(b"POST ");
        head.extend_from_slice(if path.is_empty() {
            b"/"
        } else {
            path.as_bytes()
        });
        // The host as the URL writes it (an IPv6 literal in brackets) and
        // its port when it names one; never a user or password.
        head.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        head.extend_from_slice(authority.host().as_bytes());
        if let Some(port) = authority.port() {
            head.push(b':');
            head.extend_from_slice(port.as_str().as_bytes());
        }
        head.extend_from_slice(
            b"\r\ncontent-type: application/json\r\n\
              accept: application/graphql-response+json, application/json;q=0.9\r\n",
        );
        let port = authority.port_u16().unwrap_or(80);
        let origin = others
            .into_iter()
            .map(|other| &other.origin)
            .find(|origin| origin.port == port && origin.host == host)
            .cloned()
            .unwrap_or_else(|| {
                Arc::new(Origin {
                    host: host.to_owned(),
                    port,
                    idle: Mutex::new(Vec::new()),
                })
            });
        Some(Endpoint { head, origin })
    }

    /// POSTs `body` with `headers` and reads the answer. A connection that
    /// was reused and closed before a byte of the answer came is replaced
    /// by a new one and the request sent again, when `idempotent` (the
    /// server dropped it while it was idle, so the request was never read).
    pub(super) async fn exchange(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        idempotent: bool,
    ) -> Result<Answer, SubgraphError> {
        let request = self.request_head(headers, body.len());
        let origin = &*self.origin;
        let (mut stream, reused) = match origin.checkout() {
            Some(stream) => (stream, true),
            None => (origin.connect().await?, false),
        };
        let ((answer, reusable), stream) = match exchange_on(&mut stream, &request, body).await {
            Ok(done) => (done, stream),
            Err(Failure::ClosedBeforeAnswer(_)) if reused && idempotent => {
                let mut fresh = origin.connect().await?;
                let done = exchange_on(&mut fresh, &request, body)
                    .await
                    .map_err(Failure::into_error)?;
                (done, fresh)
            }
            Err(failure) => return Err(failure.into_error()),
        };
        if reusable {
            origin.checkin(stream);
        }
        Ok(answer)
    }

    /// The request's head: the fixed start, `content-length` and `headers`.
    fn request_head(&self, headers: &HeaderMap, length: usize) -> Vec<u8> {
        let mut head = Vec::with_capacity(self.head.len() + 256);
        head.extend_from_slice(&self.head);
        head.extend_from_slice(b"content-length: ");
        head.extend_from_slice(itoa::Buffer::new().format(length).as_bytes());
        head.extend_from_slice(b"\r\n");
        for (name, value) in headers {
            if is_framing(name) {
                continue;
            }
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        head
    }
}

impl Origin {
    /// The most recently used idle connection that is still open.
    fn checkout(&self) -> Option<TcpStream> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        while let Some(Idle { stream, since }) = idle.pop() {
            if since.elapsed() < IDLE_TIMEOUT && still_open(&stream) {
                return Some(stream);
            }
        }
        None
    }

    /// Keeps `stream` for the next request, and closes the connections that
    /// have been idle too long: the stack is used from its top, so they are
    /// at its bottom.
    fn checkin(&self, stream: TcpStream) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let expired = idle.partition_point(|old| old.since.elapsed() >= IDLE_TIMEOUT);
        idle.drain(..expired);
        idle.push(Idle {
            stream,
            since: Instant::now(),
        });
    }

    async fn connect(&self) -> Result<TcpStream, SubgraphError> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|error| SubgraphError::Transport {
                connect: true,
                detail: format!("tcp connect error: {error}"),
            })?;
        // Best effort: a request is written whole, so Nagle only delays it.
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

/// Headers the exchange writes itself (or must not send): the fixed head's
/// and those that say how the message is framed.
fn is_framing(name: &HeaderName) -> bool {
    [
        HOST,
        CONTENT_TYPE,
        ACCEPT,
        CONTENT_LENGTH,
        TRANSFER_ENCODING,
        CONNECTION,
    ]
    .contains(name)
}

/// Whether an idle connection can take a request: nothing has arrived on
/// it since its last answer (the end of the stream, or bytes nobody asked
/// for). Asks the socket only when the runtime saw it become readable.
fn still_open(stream: &TcpStream) -> bool {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    if stream.poll_read_ready(&mut context).is_pending() {
        return true;
    }
    let mut probe = [0u8; 1];
    match stream.try_read(&mut probe) {
        Err(error) => error.kind() == std::io::ErrorKind::WouldBlock,
        Ok(_) => false,
    }
}

/// How an exchange failed.
enum Failure {
    /// The connection ended (or was reset) before any byte of the answer.
    ClosedBeforeAnswer(std::io::Error),
    /// Anything else: the exchange is lost.
    Broken(String),
}

impl Failure {
    fn into_error(self) -> SubgraphError {
        let detail = match self {
            Failure::ClosedBeforeAnswer(error) => {
                format!("connection closed before the answer began: {error}")
            }
            Failure::Broken(detail) => detail,
        };
        SubgraphError::Transport {
            connect: false,
            detail,
        }
    }
}

fn broken(context: &str, error: std::io::Error) -> Failure {
    Failure::Broken(format!("{context}: {error}"))
}

/// Writes the request on `stream` and reads its answer; whether the
/// connection can carry another request.
async fn exchange_on(
    stream: &mut TcpStream,
    head: &[u8],
    body: &[u8],
) -> Result<(Answer, bool), Failure> {
    if let Err(error) = write_request(stream, head, body).await {
        return Err(match error.kind() {
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset => {
                Failure::ClosedBeforeAnswer(error)
            }
            _ => broken("writing the request", error),
        });
    }
    read_answer(stream).await
}

/// Writes head and body, in one system call when the socket takes them.
async fn write_request(stream: &mut TcpStream, head: &[u8], body: &[u8]) -> std::io::Result<()> {
    let mut written = 0;
    let total = head.len() + body.len();
    while written < head.len() {
        let slices = [
            std::io::IoSlice::new(&head[written..]),
            std::io::IoSlice::new(body),
        ];
        match stream.write_vectored(&slices).await? {
            0 => return Err(std::io::ErrorKind::WriteZero.into()),
            n => written += n,
        }
    }
    if written < total {
        stream.write_all(&body[written - head.len()..]).await?;
    }
    Ok(())
}

/// How an answer's body ends.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// Reads an answer's head (skipping `1xx` ones) and body.
async fn read_answer(stream: &mut TcpStream) -> Result<(Answer, bool), Failure> {
    let mut buffer: Vec<u8> = Vec::with_capacity(8 << 10);
    loop {
        let head = match parse_head(&buffer)? {
            Some(head) => head,
            None if buffer.len() > MAX_HEAD => {
                return Err(Failure::Broken("the answer's head is too large".into()));
            }
            None => {
                read_more(stream, &mut buffer).await?;
                continue;
            }
        };
        if (100..200).contains(&head.status) {
            if head.status == 101 {
                return Err(Failure::Broken("the subgraph switched protocols".into()));
            }
            buffer.drain(..head.length);
            continue;
        }
        let rest = &buffer[head.length..];
        let (body, ended) = match head.framing {
            Framing::Length(length) => (read_sized(stream, rest, length).await?, false),
            Framing::Chunked => (read_chunked(stream, rest).await?, false),
            Framing::UntilClose => (read_to_end(stream, rest).await?, true),
        };
        let answer = Answer {
            status: head.status,
            body,
        };
        return Ok((answer, head.keep_alive && !ended));
    }
}

/// Reads more of an answer's head into `buffer`.
async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<(), Failure> {
    if buffer.capacity() - buffer.len() < 1024 {
        buffer.reserve(8 << 10);
    }
    match stream.read_buf(buffer).await {
        Ok(0) if buffer.is_empty() => Err(Failure::ClosedBeforeAnswer(
            std::io::ErrorKind::UnexpectedEof.into(),
        )),
        Ok(0) => Err(Failure::Broken("the answer's head was cut short".into())),
        Ok(_) => Ok(()),
        Err(error) if buffer.is_empty() && error.kind() == std::io::ErrorKind::ConnectionReset => {
            Err(Failure::ClosedBeforeAnswer(error))
        }
        Err(error) => Err(broken("reading the answer", error)),
    }
}

/// An answer's head, once complete.
struct Head {
    status: u16,
    /// Bytes the head takes, its blank line included.
    length: usize,
    framing: Framing,
    keep_alive: bool,
}

fn parse_head(buffer: &[u8]) -> Result<Option<Head>, Failure> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let length = match response.parse(buffer) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => {
            return Err(Failure::Broken(format!(
                "the answer is not HTTP/1.1: {error}"
            )));
        }
    };
    let status = response.code.unwrap_or(0);
    let mut keep_alive = response.version == Some(1);
    let mut content_length = None;
    let mut chunked = false;
    for header in response.headers.iter() {
        let value = header.value;
        if header.name.eq_ignore_ascii_case("content-length") {
            let parsed = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    Failure::Broken("the answer's content-length is not a number".into())
                })?;
            if content_length.is_some_and(|known| known != parsed) {
                return Err(Failure::Broken(
                    "the answer has two different content-lengths".into(),
                ));
            }
            content_length = Some(parsed);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only the last coding says how the body ends.
            chunked = value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            if !chunked {
                return Err(Failure::Broken(
                    "the answer's transfer-encoding is not chunked".into(),
                ));
            }
        } else if header.name.eq_ignore_ascii_case("connection") {
            for token in value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        }
    }
    let framing = if status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::Length(0)
    } else if chunked {
        Framing::Chunked
    } else if let Some(length) = content_length {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    Ok(Some(Head {
        status,
        length,
        framing,
        keep_alive,
    }))
}

/// A body of `length` bytes, `start` of which were read with the head.
async fn read_sized(
    stream: &mut TcpStream,
    start: &[u8],
    length: usize,
) -> Result<Vec<u8>, Failure> {
    if start.len() > length {
        return Err(Failure::Broken(
            "the answer runs past its content-length".into(),
        ));
    }
    let mut body = Vec::with_capacity(length.min(MAX_PREALLOCATED_ANSWER));
    body.extend_from_slice(start);
    while body.len() < length {
        let left = length - body.len();
        if body.capacity() == body.len() {
            body.reserve(left.min(READ_CHUNK));
        }
        match stream.read_buf(&mut (&mut body).limit(left)).await {
            Ok(0) => return Err(Failure::Broken("the answer was cut short".into())),
            Ok(_) => {}
            Err(error) => return Err(broken("reading the answer", error)),
        }
    }
    Ok(body)
}

/// A body read until the server closes the connection.
async fn read_to_end(stream: &mut TcpStream, start: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut body = start.to_vec();
    loop {
        body.reserve(READ_CHUNK);
        match stream.read_buf(&mut body).await {
            Ok(0) => return Ok(body),
            Ok(_) => {}
            Err(error) => return Err(broken("reading the answer", error)),
        }
    }
}

/// A body in `chunked` coding: its chunks joined, trailers skipped.
async fn read_chunked(stream: &mut TcpStream, start: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut raw = start.to_vec();
    let mut at = 0;
    let mut body = Vec::new();
    loop {
        match decode_chunks(&raw, &mut at, &mut body)? {
            Decoded::Done => return Ok(body),
            Decoded::More => {
                raw.drain(..at);
                at = 0;
                raw.reserve(READ_CHUNK);
                match stream.read_buf(&mut raw).await {
                    Ok(0) => return Err(Failure::Broken("the answer was cut short".into())),
                    Ok(_) => {}
                    Err(error) => return Err(broken("reading the answer", error)),
                }
            }
        }
    }
}

enum Decoded {
    Done,
    More,
}

/// Moves the whole chunks in `raw[*at..]` to `body`; `Done` after the last
/// chunk and the trailers' blank line.
fn decode_chunks(raw: &[u8], at: &mut usize, body: &mut Vec<u8>) -> Result<Decoded, Failure> {
    loop {
        let rest = &raw[*at..];
        let (size_length, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(parsed)) => parsed,
            Ok(httparse::Status::Partial) => return Ok(Decoded::More),
            Err(_) => {
                return Err(Failure::Broken(
                    "the answer's chunk size is malformed".into(),
                ));
            }
        };
        let size = usize::try_from(size)
            .map_err(|_| Failure::Broken("the answer's chunk is too large".into()))?;
        if size == 0 {
            // Trailers, each a line, then a blank line.
            let mut line_start = size_length;
            loop {
                let Some(end) = memchr::memchr(b'\n', &rest[line_start..]) else {
                    return Ok(Decoded::More);
                };
                let line = &rest[line_start..line_start + end];
                line_start += end + 1;
                if line.is_empty() || line == b"\r" {
                    *at += line_start;
                    return Ok(Decoded::Done);
                }
            }
        }
        let data_end = size_length
            .checked_add(size)
            .ok_or_else(|| Failure::Broken("the answer's chunk is too large".into()))?;
        if rest.len() < data_end + 2 {
            return Ok(Decoded::More);
        }
        if &rest[data_end..data_end + 2] != b"\r\n" {
            return Err(Failure::Broken(
                "the answer's chunk does not end its line".into(),
            ));
        }
        body.extend_from_slice(&rest[size_length..data_end]);
        *at += data_end + 2;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use hyper::header::HeaderValue;
    use tokio::net::TcpListener;

    use super::*;

    /// What the test server does with the next request it reads.
    enum Step {
        /// Writes these bytes and waits for the next request.
        Answer(&'static [u8]),
        /// Writes these bytes and closes the connection.
        AnswerAndClose(&'static [u8]),
        /// Closes the connection without answering.
        Close,
    }

    struct Server {
        endpoint: Endpoint,
        connections: Arc<AtomicUsize>,
        requests: Arc<Mutex<Vec<String>>>,
    }

    /// A server on a free local port that reads requests (head and
    /// `content-length` body) and answers them by `steps`, in turn,
    /// whichever connection they come on.
    async fn server(steps: Vec<Step>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let address = listener.local_addr().expect("has an address");
        let steps = Arc::new(Mutex::new(VecDeque::from(steps)));
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (counted, seen) = (connections.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let (steps, seen) = (steps.clone(), seen.clone());
                tokio::spawn(async move {
                    while let Some(request) = read_request(&mut stream).await {
                        seen.lock().expect("not poisoned").push(request);
                        let step = steps.lock().expect("not poisoned").pop_front();
                        match step {
                            Some(Step::Answer(bytes)) => {
                                stream.write_all(bytes).await.expect("writes");
                            }
                            Some(Step::AnswerAndClose(bytes)) => {
                                stream.write_all(bytes).await.expect("writes");
                                return;
                            }
                            Some(Step::Close) | None => return,
                        }
                    }
                });
            }
        });
        let uri: hyper::Uri = format!("http://{address}/graphql").parse().expect("a URI");
        Server {
            endpoint: Endpoint::new(&uri, []).expect("plain HTTP"),
            connections,
            requests,
        }
    }

    /// One request's text, or `None` at the end of the connection.
    async fn read_request(stream: &mut TcpStream) -> Option<String> {
        let mut text = Vec::new();
        let mut byte = [0u8; 1];
        while !text.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await.ok()? == 0 {
                return None;
            }
            text.push(byte[0]);
        }
        let head = String::from_utf8(text).ok()?;
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))?
            .parse()
            .ok()?;
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).await.ok()?;
        Some(head + std::str::from_utf8(&body).ok()?)
    }

    async fn ask(server: &Server, idempotent: bool) -> Result<Answer, SubgraphError> {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer t"));
        // Written by the exchange itself: a forwarded one is left out.
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("999"));
        server
            .endpoint
            .exchange(&headers, br#"{"query":"{ a }"}"#, idempotent)
            .await
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{\"data\":{}}";

    #[tokio::test]
    async fn the_request_is_a_json_post_with_the_forwarded_headers() {
        let server = server(vec![Step::Answer(OK)]).await;
        let answer = ask(&server, true).await.expect("answers");
        assert_eq!(
            (answer.status, &answer.body[..]),
            (200, &b"{\"data\":{}}"[..])
        );
        let requests = server.requests.lock().expect("not poisoned");
        let request = &requests[0];
        assert!(
            request.starts_with("POST /graphql HTTP/1.1\r\n"),
            "{request}"
        );
        for line in [
            "content-type: application/json\r\n",
            "accept: application/graphql-response+json, application/json;q=0.9\r\n",
            "authorization: Bearer t\r\n",
            "content-length: 17\r\n",
        ] {
            assert!(request.contains(line), "{line:?} missing from {request:?}");
        }
        assert_eq!(request.matches("content-length").count(), 1, "{request}");
        assert!(
            request.ends_with("\r\n\r\n{\"query\":\"{ a }\"}"),
            "{request}"
        );
    }

    #[tokio::test]
    async fn bodies_framed_by_length_chunks_or_the_end_of_the_connection_read_alike() {
        let server = server(vec![
            Step::Answer(OK),
            Step::Answer(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
                  4\r\n{\"da\r\n7;ext=1\r\nta\":{}}\r\n0\r\nx-trailer: 1\r\n\r\n",
            ),
            Step::AnswerAndClose(b"HTTP/1.1 200 OK\r\n\r\n{\"data\":{}}"),
        ])
        .await;
        for _ in 0..3 {
            let answer = ask(&server, true).await.expect("answers");
            assert_eq!(answer.body, b"{\"data\":{}}");
        }
        // The first two shared a connection; the third ended its own.
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
        assert!(server.endpoint.origin.checkout().is_none());
    }

    #[tokio::test]
    async fn a_connection_is_kept_for_the_next_request_unless_the_answer_closes_it() {
        let server = server(vec![
            Step::Answer(OK),
            Step::Answer(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}"),
            Step::Answer(OK),
            Step::Answer(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n{}"),
            Step::Answer(OK),
        ])
        .await;
        for _ in 0..5 {
            ask(&server, true).await.expect("answers");
        }
        // Kept after the first, not after the `close` (second) nor the
        // HTTP/1.0 answer (fourth).
        assert_eq!(server.connections.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn interim_answers_are_skipped_and_statuses_kept() {
        let server = server(vec![
            Step::Answer(
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
            ),
            Step::Answer(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy"),
            Step::Answer(b"HTTP/1.1 204 No Content\r\n\r\n"),
        ])
        .await;
        let first = ask(&server, true).await.expect("answers");
        assert_eq!((first.status, &first.body[..]), (200, &b"{}"[..]));
        let second = ask(&server, true).await.expect("answers");
        assert_eq!((second.status, &second.body[..]), (503, &b"busy"[..]));
        let third = ask(&server, true).await.expect("answers");
        assert_eq!((third.status, third.body.len()), (204, 0));
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_query_is_sent_again_on_a_new_connection_when_a_kept_one_closes_unanswered() {
        let server = server(vec![Step::Answer(OK), Step::Close, Step::Answer(OK)]).await;
        ask(&server, true).await.expect("answers");
        ask(&server, true)
            .await
            .expect("answered on a new connection");
        assert_eq!(server.connections.load(Ordering::SeqCst), 2);
        assert_eq!(server.requests.lock().expect("not poisoned").len(), 3);
    }

    #[tokio::test]
    async fn a_mutation_is_not_sent_again_when_its_connection_closes_unanswered() {
        let server = server(vec![Step::Answer(OK), Step::Close, Step::Answer(OK)]).await;
        ask(&server, false).await.expect("answers");
        let failed = ask(&server, false).await;
        match failed {
            Err(SubgraphError::Transport {
                connect: false,
                detail,
            }) => assert!(detail.contains("closed before the answer"), "{detail}"),
            other => panic!("expected a broken connection, got {other:?}"),
        }
        assert_eq!(server.requests.lock().expect("not poisoned").len(), 2);
    }

    #[tokio::test]
    async fn answers_that_are_not_http_or_end_early_are_transport_failures() {
        let cases: [(&'static [u8], &str); 5] = [
            (b"hello there\r\n\r\n", "not HTTP/1.1"),
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{\"data\"",
                "cut short",
            ),
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n",
                "content-length",
            ),
            (
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
                "transfer-encoding",
            ),
            (
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
                "chunk size",
            ),
        ];
        for (bytes, expected) in cases {
            let server = server(vec![Step::AnswerAndClose(bytes)]).await;
            match ask(&server, true).await {
                Err(SubgraphError::Transport {
                    connect: false,
                    detail,
                }) => assert!(detail.contains(expected), "{detail} lacks {expected}"),
                other => panic!("expected a transport failure, got {other:?}"),
            }
        }
    }

    #[test]
    fn an_endpoint_connects_to_the_urls_host_and_names_it_without_credentials() {
        let endpoint = |url: &str| Endpoint::new(&url.parse().expect("a URI"), []);
        let ipv6 = endpoint("http://user:secret@[::1]:8080").expect("plain HTTP");
        assert_eq!((ipv6.origin.host.as_str(), ipv6.origin.port), ("::1", 8080));
        let head = String::from_utf8(ipv6.head).expect("text");
        assert!(
            head.starts_with("POST / HTTP/1.1\r\nhost: [::1]:8080\r\n"),
            "{head}"
        );
        assert!(!head.contains("secret"), "{head}");
        let named = endpoint("http://inventory.local/graphql?v=1").expect("plain HTTP");
        assert_eq!(
            (named.origin.host.as_str(), named.origin.port),
            ("inventory.local", 80)
        );
        let head = String::from_utf8(named.head).expect("text");
        assert!(
            head.starts_with("POST /graphql?v=1 HTTP/1.1\r\nhost: inventory.local\r\n"),
            "{head}"
        );
        assert!(endpoint("https://inventory.local/graphql").is_none());
    }

    #[tokio::test]
    async fn urls_on_one_host_and_port_share_their_connections() {
        let server = server(vec![Step::Answer(OK), Step::Answer(OK), Step::Answer(OK)]).await;
        let (host, port) = (&server.endpoint.origin.host, server.endpoint.origin.port);
        let uri = |url: String| url.parse::<hyper::Uri>().expect("a URI");
        let other_path = Endpoint::new(
            &uri(format!("http://{host}:{port}/other")),
            [&server.endpoint],
        )
        .expect("plain HTTP");
        let other_port =
            Endpoint::new(&uri(format!("http://{host}:1/graphql")), [&server.endpoint])
                .expect("plain HTTP");
        assert!(Arc::ptr_eq(&other_path.origin, &server.endpoint.origin));
        assert!(!Arc::ptr_eq(&other_port.origin, &server.endpoint.origin));

        ask(&server, true).await.expect("answered");
        other_path
            .exchange(&HeaderMap::new(), b"{}", true)
            .await
            .expect("answered");
        ask(&server, true).await.expect("answered");
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
        let requests = server.requests.lock().expect("not poisoned");
        let lines: Vec<_> = requests.iter().filter_map(|r| r.lines().next()).collect();
        assert_eq!(
            lines,
            [
                "POST /graphql HTTP/1.1",
                "POST /other HTTP/1.1",
                "POST /graphql HTTP/1.1"
            ]
        );
    }

    #[tokio::test]
    async fn connections_idle_too_long_are_closed_when_another_is_kept() {
        let server = server(Vec::new()).await;
        let connect = || server.endpoint.origin.connect();
        let long_ago = Instant::now()
            .checked_sub(IDLE_TIMEOUT + Duration::from_secs(1))
            .expect("the clock is past it");
        for _ in 0..2 {
            let stream = connect().await.expect("connects");
            let mut idle = server.endpoint.origin.idle.lock().expect("not poisoned");
            idle.push(Idle {
                stream,
                since: long_ago,
            });
        }
        server
            .endpoint
            .origin
            .checkin(connect().await.expect("connects"));
        let idle = server.endpoint.origin.idle.lock().expect("not poisoned");
        assert_eq!(idle.len(), 1);
        assert!(idle[0].since > long_ago);
    }

    #[test]
    fn chunks_are_decoded_whatever_the_reads_split_them_into() {
        let raw: &[u8] = b"3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nt: 1\r\n\r\n";
        for cut in 0..raw.len() {
            // The first `cut` bytes, then the rest, as two reads.
            let (mut buffer, mut at, mut body) = (raw[..cut].to_vec(), 0, Vec::new());
            let mut done = false;
            for more in [&raw[cut..], &[][..]] {
                match decode_chunks(&buffer, &mut at, &mut body) {
                    Ok(Decoded::Done) => {
                        done = true;
                        break;
                    }
                    Ok(Decoded::More) => buffer.extend_from_slice(more),
                    Err(_) => panic!("malformed at cut {cut}"),
                }
            }
            done = done
                || matches!(
                    decode_chunks(&buffer, &mut at, &mut body),
                    Ok(Decoded::Done)
                );
            assert!(done, "not finished at cut {cut}");
            assert_eq!(body, b"abc0123456789abcdef", "cut {cut}");
            assert_eq!(at, raw.len(), "cut {cut}");
        }
    }
}
