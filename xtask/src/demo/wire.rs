//! Just enough HTTP/1.1 to POST a JSON body to the local proxy and read its answer, without an HTTP
//! client dependency (the xtask keeps few): one request per connection, `Connection: close`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// A response: its status code and body (de-chunked when sent chunked).
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    pub body: String,
}

/// `POST path` with `body` as JSON to the server at `address`, waiting at most `timeout` for any
/// single read (the model's answer arrives in one piece after the whole inference).
pub fn post_json(
    address: SocketAddr,
    path: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<HttpAnswer> {
    let payload = body.to_string();
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))
        .with_context(|| format!("connecting to {address}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream
        .write_all(request.as_bytes())
        .with_context(|| format!("sending POST {path} to {address}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).with_context(|| {
        format!(
            "reading the answer to POST {path} from {address} (no byte for {} s?)",
            timeout.as_secs()
        )
    })?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<HttpAnswer> {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .context("the answer has no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let body = &raw[split + 4..];
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = match status_line.split_whitespace().collect::<Vec<_>>()[..] {
        [version, code, ..] if version.starts_with("HTTP/") => code
            .parse()
            .with_context(|| format!("bad status code in `{status_line}`"))?,
        _ => bail!("not an HTTP status line: `{status_line}`"),
    };
    let chunked = lines.any(|line| {
        let lower = line.to_ascii_lowercase();
        lower.starts_with("transfer-encoding:") && lower.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(HttpAnswer {
        status,
        body: String::from_utf8(body).context("the answer body is not UTF-8")?,
    })
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|window| window == b"\r\n")
            .context("a chunk size line has no end")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("bad chunk size `{size_text}`"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 {
            bail!("a chunk is shorter than its size ({size} bytes announced)");
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Raw answer bytes, and the status and body expected from them (`None`: a parse error).
    type Case = (&'static [u8], Option<(u16, &'static str)>);

    #[test]
    fn answers_parse_with_length_or_chunked_bodies_and_bad_ones_fail() {
        let cases: &[Case] = &[
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n{\"a\":1}",
                Some((200, "{\"a\":1}")),
            ),
            (
                b"HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
                Some((502, "abcde")),
            ),
            (b"HTTP/1.1 200 OK\r\n", None),
            (b"SSH-2.0\r\n\r\n", None),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nshort\r\n",
                None,
            ),
        ];
        for (raw, expected) in cases {
            let parsed = parse_response(raw)
                .ok()
                .map(|answer| (answer.status, answer.body));
            let expected = expected.map(|(status, body)| (status, body.to_owned()));
            assert_eq!(parsed, expected, "{}", String::from_utf8_lossy(raw));
        }
    }
}
