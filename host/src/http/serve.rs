//! The accept loop: each connection served by hyper's HTTP/1 server with a
//! deadline on the request head, and drained gracefully at shutdown.
//!
//! `axum::serve` gives hyper no timer, and hyper without one silently skips
//! its header read timeout; a client trickling its head a byte at a time
//! could then hold a connection slot for as long as it liked. This loop sets
//! the timer and the deadline.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

use super::listener::Bounded;

/// Serves `router` on `listener` until `shutdown` resolves, then waits for
/// the connections open at that moment to finish their requests.
pub async fn serve(
    mut listener: Bounded,
    router: Router,
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
                let connection = builder.serve_connection(TokioIo::new(io), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    // A connection that fails (reset, timed out) ends here;
                    // the failure is the client's and concerns no one else.
                    if let Err(e) = connection.await {
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
