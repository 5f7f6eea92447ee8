//! HTTPS: with `tls` set the server speaks TLS with the configured
//! certificate, and a reload puts a new certificate in force.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};

use crate::util::{LOGINS, Server, Source, events, login, push_path, write_config_with};

/// Writes a new self-signed certificate for localhost and its key to
/// `cert.pem` and `key.pem` in `dir`; returns the certificate.
fn new_certificate(dir: &Path) -> CertificateDer<'static> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("a certificate is made");
    std::fs::write(dir.join("cert.pem"), made.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).unwrap();
    made.cert.der().clone()
}

/// Sends `request` over TLS, trusting only `trusted`; the whole answer, or
/// the error that ended the exchange.
fn exchange(
    server: &Server,
    trusted: &CertificateDer<'static>,
    request: &str,
) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).map_err(|e| e.to_string())?;
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let connection =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let socket = TcpStream::connect(&server.address).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut stream = rustls::StreamOwned::new(connection, socket);
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    Ok(answer)
}

fn health(server: &Server, trusted: &CertificateDer<'static>) -> Result<String, String> {
    exchange(
        server,
        trusted,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
}

#[test]
fn serves_https_with_the_configured_certificate_and_reloads_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = new_certificate(dir.path());
    write_config_with(
        dir.path(),
        &[Source::template("app", LOGINS)],
        "tls:\n  certificate: cert.pem\n  key: key.pem\n",
    );
    let server = Server::builder().start_in(dir);
    let token = server.token("app");

    let answer = health(&server, &first).expect("a TLS exchange");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body = events(vec![login("login", "tls-1", "ann")]).to_string();
    let push = format!(
        "POST {} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        push_path("app"),
        body.len()
    );
    let answer = exchange(&server, &first, &push).expect("a TLS exchange");
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    // Plain HTTP gets no HTTP answer from a TLS port.
    let mut plain = TcpStream::connect(&server.address).unwrap();
    plain
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut bytes = Vec::new();
    let _ = plain.read_to_end(&mut bytes);
    assert!(
        !bytes.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&bytes)
    );

    // A new certificate in the same files, then SIGHUP.
    let second = new_certificate(server.dir());
    server.signal("-HUP");
    let reloaded = server.await_log_records("configuration reloaded on SIGHUP");
    assert_eq!(reloaded.len(), 1, "{}", server.log_text());

    let answer = health(&server, &second).expect("the new certificate is served");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        health(&server, &first).is_err(),
        "the old certificate is still served"
    );
    assert!(
        !server.log_text().contains("PRIVATE KEY"),
        "{}",
        server.log_text()
    );
}

#[test]
fn refuses_to_start_with_a_key_that_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    new_certificate(dir.path());
    write_config_with(
        dir.path(),
        &[Source::template("app", LOGINS)],
        "tls:\n  certificate: cert.pem\n  key: missing.pem\n",
    );

    let ran = crate::util::run_in(dir.path(), &["serve", "--listen", "127.0.0.1:0"]);

    assert_ne!(ran.code, 0);
    assert!(
        ran.stderr.contains("`tls.key`") && ran.stderr.contains("missing.pem"),
        "{}",
        ran.stderr
    );
}
