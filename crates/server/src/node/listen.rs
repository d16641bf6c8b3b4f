//! The HTTP server loop: axum's `serve` with the bounds an outsider must not be able to lift.
//! Each connection must send a whole request head within the header timeout (and an idle
//! keep-alive connection is closed when its next head does not come in that time), and at most
//! `max_connections` are open at once (past that, new ones are closed at once), so neither slow
//! nor idle connections can use up the node's file descriptors and starve `/healthz`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// The bounds on connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// How long a request head may take to arrive, from the connection's start or the end of the
    /// previous response.
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_connections: 512, header_timeout: Duration::from_secs(10) }
    }
}

/// The next connection on `listener`; a failure (out of descriptors, most often) is logged and
/// waited out, so that descriptors can be given back meanwhile.
pub(crate) async fn accept(listener: &TcpListener) -> (tokio::net::TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the requests under way finish.
/// Each request carries its connection's peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, shutdown: impl Future<Output = ()> + Send) {
    let places = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener) => accepted,
        };
        let Ok(place) = places.clone().try_acquire_owned() else {
            tracing::warn!(peer = %addr, max = limits.max_connections, "connection closed: too many open");
            drop(stream);
            continue;
        };
        let service = tower::ServiceExt::map_request(app.clone(), move |mut request: axum::http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(addr));
            request
        });
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let _place = place;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
            let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = stopped.changed() => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
        // Connections that ended are reaped as new ones come, so the set stays small.
        while connections.try_join_next().is_some() {}
    }
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
}

/// The connection's peer address, when the server records it (`serve` does).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| *a)))
    }
}
