//! A TCP server of the test's own, on 127.0.0.1, that stands in front of a
//! database server: it forwards connections to it, or accepts them and
//! never answers, as a stalled or overloaded host does.
//!
//! ```no_run
//! # async fn demo(url: &str) {
//! // Nothing behind it: every connection is accepted and left unanswered.
//! let silent = orm_tests::proxy::Proxy::silent().await;
//! let stalled_url = silent.url_for(url);
//! // In front of the real server: connections are forwarded...
//! let proxy = orm_tests::proxy::Proxy::to(url).await;
//! let proxied_url = proxy.url_for(url);
//! // ...until new ones are left unanswered (open ones keep working).
//! proxy.stall_new_connections(true);
//! # }
//! ```
//!
//! Dropping the [`Proxy`] stops it and closes every connection it holds.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// A forwarding or silent TCP server; see the [module docs](self).
pub struct Proxy {
    addr: SocketAddr,
    stall: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// A server that accepts every connection and never sends a byte.
    pub async fn silent() -> Proxy {
        Proxy::start(None, true).await
    }

    /// A proxy to the server of `url` (`scheme://user@host:port/...`).
    pub async fn to(url: &str) -> Proxy {
        let target = host_port(url)
            .unwrap_or_else(|| panic!("no host:port in {url}"))
            .to_owned();
        Proxy::start(Some(target), false).await
    }

    async fn start(target: Option<String>, stall: bool) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a proxy port");
        let addr = listener.local_addr().expect("proxy address");
        let stall = Arc::new(AtomicBool::new(stall));
        let cut = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(serve(
            listener,
            target,
            stall.clone(),
            cut.clone(),
            accepted.clone(),
        ));
        Proxy {
            addr,
            stall,
            cut,
            accepted,
            task,
        }
    }

    /// `url` with its host and port replaced by this proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let hp = host_port(url).unwrap_or_else(|| panic!("no host:port in {url}"));
        url.replacen(hp, &self.addr.to_string(), 1)
    }

    /// From now on, new connections are accepted and left unanswered
    /// (`true`) or forwarded again (`false`); open ones are not touched.
    pub fn stall_new_connections(&self, stall: bool) {
        self.stall.store(stall, Ordering::SeqCst);
    }

    /// The next bytes a client sends are forwarded to the server, and then
    /// that connection is cut before the server's answer comes back: the
    /// client cannot know what the server did with them.
    pub fn cut_after_next_request(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The accept task owns every connection task: aborting it ends them.
        self.task.abort();
    }
}

async fn serve(
    listener: TcpListener,
    target: Option<String>,
    stall: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        accepted.fetch_add(1, Ordering::SeqCst);
        let target = target.clone().filter(|_| !stall.load(Ordering::SeqCst));
        let cut = cut.clone();
        connections.spawn(async move {
            let Some(target) = target else {
                // Hold the socket open, read nothing, write nothing.
                std::future::pending::<()>().await;
                drop(inbound);
                return;
            };
            let Ok(mut outbound) = TcpStream::connect(&target).await else {
                return;
            };
            forward(&mut inbound, &mut outbound, &cut).await;
        });
        // Forget the connections that ended.
        while connections.try_join_next().is_some() {}
    }
}

/// Copies bytes both ways until either side closes, or until a request is
/// forwarded while `cut` is armed: then both sockets close without the
/// server's answer.
async fn forward(inbound: &mut TcpStream, outbound: &mut TcpStream, cut: &AtomicBool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_read, mut client_write) = inbound.split();
    let (mut server_read, mut server_write) = outbound.split();
    let mut up = [0u8; 16 * 1024];
    let mut down = [0u8; 16 * 1024];
    loop {
        tokio::select! {
            n = client_read.read(&mut up) => {
                let Ok(n) = n else { return };
                if n == 0 || server_write.write_all(&up[..n]).await.is_err() {
                    return;
                }
                if cut.swap(false, Ordering::SeqCst) {
                    // Give the server time to act on it, then hang up on both.
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    return;
                }
            }
            n = server_read.read(&mut down) => {
                let Ok(n) = n else { return };
                if n == 0 || client_write.write_all(&down[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The `host:port` of a URL: between `://` (and any `user@`) and the next
/// `/` or `?`.
fn host_port(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let hp = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    hp.contains(':').then_some(hp)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_host_and_port_of_a_url() {
        assert_eq!(
            super::host_port("postgres://postgres@127.0.0.1:5432/test?options=x"),
            Some("127.0.0.1:5432")
        );
        assert_eq!(
            super::host_port("mysql://root:pw@localhost:3306/db"),
            Some("localhost:3306")
        );
        assert_eq!(super::host_port("sqlite://tmp/x.db"), None);
    }
}
