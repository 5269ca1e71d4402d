//! Just enough HTTP/1.1 to poll a local server's health endpoint without an HTTP client dependency.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// The status code of `GET path` on the server at `address`.
pub fn get_status(address: SocketAddr, path: &str) -> Result<u16> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .with_context(|| format!("connecting to {address}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut head = [0u8; 64];
    let mut filled = 0;
    while filled < head.len() {
        let read = stream.read(&mut head[filled..])?;
        if read == 0 {
            break;
        }
        filled += read;
        if head[..filled].contains(&b'\n') {
            break;
        }
    }
    parse_status_line(&String::from_utf8_lossy(&head[..filled]))
}

fn parse_status_line(head: &str) -> Result<u16> {
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => code
            .parse()
            .with_context(|| format!("bad status code in `{line}`")),
        _ => bail!("not an HTTP status line: `{line}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn status_lines_parse_or_fail_loudly() {
        let cases: &[(&str, Option<u16>)] = &[
            ("HTTP/1.1 200 OK\r\nContent-Type: x\r\n", Some(200)),
            ("HTTP/1.1 503 Service Unavailable\r\n", Some(503)),
            ("HTTP/1.0 404", Some(404)),
            ("SSH-2.0-OpenSSH\r\n", None),
            ("", None),
            ("HTTP/1.1 abc", None),
        ];
        for (head, expected) in cases {
            assert_eq!(parse_status_line(head).ok(), *expected, "{head:?}");
        }
    }

    #[test]
    fn get_status_reads_a_loopback_server_answer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut connection, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 256];
            while !request.ends_with(b"\r\n\r\n") {
                let read = connection.read(&mut buffer).unwrap();
                assert!(read > 0, "the client closed before ending its request");
                request.extend_from_slice(&buffer[..read]);
            }
            assert!(String::from_utf8_lossy(&request).starts_with("GET /health HTTP/1.1\r\n"));
            connection
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
        });
        assert_eq!(get_status(address, "/health").unwrap(), 503);
        server.join().unwrap();
    }
}
