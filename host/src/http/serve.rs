//! The accept loop: each connection (TLS when configured) served by
//! hyper's HTTP/1 server with a deadline on the request head, and drained
//! gracefully at shutdown.
//!
//! `axum::serve` gives hyper no timer, and hyper without one silently skips
//! its header read timeout; a client trickling its head a byte at a time
//! could then hold a connection slot for as long as it liked. This loop sets
//! the timer and the deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio_rustls::TlsAcceptor;

use super::listener::Bounded;

/// Serves `router` on `listener` until `shutdown` resolves, then waits for
/// the connections open at that moment to finish their requests. `tls`
/// gives the TLS settings in force as each connection arrives, so a reload
/// changes them for the next ones.
pub async fn serve(
    mut listener: Bounded,
    router: Router,
    tls: impl Fn() -> Option<Arc<rustls::ServerConfig>>,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            (io, _address) = listener.accept() => {
                let service = TowerToHyperService::new(router.clone());
                let builder = builder.clone();
                let watcher = graceful.watcher();
                let tls = tls();
                tokio::spawn(async move {
                    // A connection that fails (reset, timed out, a bad
                    // handshake) ends here; it concerns no one else.
                    let served = match tls {
                        None => {
                            let connection = builder.serve_connection(TokioIo::new(io), service);
                            watcher.watch(connection).await
                        }
                        Some(config) => {
                            // The handshake gets the same deadline as a request head.
                            let handshake = TlsAcceptor::from(config).accept(io);
                            let Ok(Ok(stream)) = tokio::time::timeout(header_timeout, handshake).await
                            else {
                                tracing::debug!("TLS handshake failed or timed out");
                                return;
                            };
                            let connection = builder.serve_connection(TokioIo::new(stream), service);
                            watcher.watch(connection).await
                        }
                    };
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
}
