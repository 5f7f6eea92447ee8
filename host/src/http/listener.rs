//! The listening socket, bounded: at most `max_connections` open at once
//! (past that, new ones wait in the kernel's backlog), and a connection
//! that sends nothing for `idle_timeout` is closed, so a client that never
//! finishes its headers cannot hold a connection, or shutdown, forever.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_io_timeout::TimeoutStream;

/// A TCP listener that caps open connections and idle reads.
pub struct Bounded {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    idle_timeout: Duration,
}

impl Bounded {
    /// Wraps `inner`.
    pub fn new(inner: TcpListener, max_connections: usize, idle_timeout: Duration) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max_connections)),
            idle_timeout,
        }
    }
}

impl Bounded {
    /// Waits for a free slot, then for a connection. Errors of `accept`
    /// (such as running out of file descriptors) are retried after a pause.
    pub async fn accept(&mut self) -> (Connection, SocketAddr) {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the connection semaphore is never closed");
        let (stream, address) = loop {
            match self.inner.accept().await {
                Ok(accepted) => break accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "failed to accept a connection; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        let mut stream = TimeoutStream::new(stream);
        stream.set_read_timeout(Some(self.idle_timeout));
        let connection = Connection {
            stream: Box::pin(stream),
            _permit: permit,
        };
        (connection, address)
    }

    /// The address bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// An accepted connection; its slot frees when it is dropped.
pub struct Connection {
    stream: Pin<Box<TimeoutStream<TcpStream>>>,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.stream.as_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream.as_mut().poll_shutdown(cx)
    }
}
