//! A real HTTP/1.1 server on a loopback address, for fetch tests and the fetch benchmark: routes
//! by path, well-behaved and hostile replies, and a log of what it was asked and how many
//! requests it had open at once (so politeness is measured on the server side).
//!
//! Every loopback address 127.0.0.0/8 works on Linux, so `Site::start("127.0.0.7")` is a host of
//! its own. One thread per connection; every reply closes its connection.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the server answers one path.
#[derive(Clone, Debug)]
pub enum Route {
    /// A response. An `ETag` header here makes a matching `If-None-Match` answer 304.
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// The n-th request gets the n-th route; the last one repeats.
    Seq(Vec<Route>),
    /// A 200 whose body arrives one byte every `every`.
    Trickle { body: Vec<u8>, every: Duration },
    /// Reads the request and closes the connection without a word.
    Reset,
    /// A 200 of `bytes` bytes without Content-Length, streamed until done.
    Endless { bytes: u64 },
}

impl Route {
    pub fn html(body: impl Into<Vec<u8>>) -> Route {
        Route::typed("text/html; charset=utf-8", body)
    }

    pub fn typed(content_type: &str, body: impl Into<Vec<u8>>) -> Route {
        Route::Reply {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn status(status: u16, headers: &[(&str, &str)]) -> Route {
        Route::Reply {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: format!("status {status}").into_bytes(),
        }
    }

    pub fn redirect(to: &str) -> Route {
        Route::status(301, &[("Location", to)])
    }

    /// Adds a header to a `Reply`.
    pub fn with(mut self, name: &str, value: &str) -> Route {
        if let Route::Reply { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }
}

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Hit {
    pub path: String,
    /// When the connection was accepted (every request has its own connection).
    pub at: Instant,
    pub headers: HashMap<String, String>,
}

struct Shared {
    routes: Mutex<HashMap<String, Route>>,
    hits: Mutex<Vec<Hit>>,
    counts: Mutex<HashMap<String, usize>>,
    active: AtomicUsize,
    max_active: AtomicUsize,
    stop: AtomicBool,
}

pub struct Site {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Site {
    /// Starts a site on `ip` (a loopback address) and a free port.
    pub fn start(ip: &str) -> Site {
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback address");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            routes: Mutex::new(HashMap::new()),
            hits: Mutex::new(Vec::new()),
            counts: Mutex::new(HashMap::new()),
            active: AtomicUsize::new(0),
            max_active: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (s, accepted) = (s.clone(), Instant::now());
                std::thread::spawn(move || serve(conn, accepted, &s));
            }
        });
        Site { addr, shared }
    }

    pub fn route(&self, path: &str, route: Route) -> &Site {
        self.shared.routes.lock().unwrap().insert(path.to_string(), route);
        self
    }

    /// `http://ip:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().unwrap().clone()
    }

    pub fn hits_of(&self, path: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path == path).collect()
    }

    /// The most requests this site ever had open at once.
    pub fn max_active(&self) -> usize {
        self.shared.max_active.load(Ordering::SeqCst)
    }

    /// The shortest gap between the starts of two consecutive requests.
    pub fn min_gap(&self) -> Option<Duration> {
        let mut at: Vec<Instant> = self.hits().iter().map(|h| h.at).collect();
        at.sort();
        at.windows(2).map(|w| w[1] - w[0]).min()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(100));
    }
}

fn serve(conn: TcpStream, accepted: Instant, s: &Shared) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let now = s.active.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_active.fetch_max(now, Ordering::SeqCst);
    let n = {
        let mut counts = s.counts.lock().unwrap();
        let c = counts.entry(path.clone()).or_insert(0);
        *c += 1;
        *c - 1
    };
    s.hits.lock().unwrap().push(Hit {
        path: path.clone(),
        at: accepted,
        headers: headers.clone(),
    });
    let route = s.routes.lock().unwrap().get(&path).cloned();
    let route = match route {
        Some(Route::Seq(list)) => list.get(n).or(list.last()).cloned(),
        other => other,
    }
    .unwrap_or_else(|| Route::status(404, &[]));
    let mut done = Some(|| {
        s.active.fetch_sub(1, Ordering::SeqCst);
    });
    let mut finish = || {
        if let Some(f) = done.take() {
            f();
        }
    };
    let _ = respond(conn, route, &headers, &mut finish);
    finish();
}

/// Writes the reply; `finish` runs just before the last byte the client needs goes out (of the
/// body for a success, of the head otherwise), since it may start its next request as soon as it
/// has that byte.
fn respond(
    mut conn: TcpStream,
    route: Route,
    req: &HashMap<String, String>,
    finish: &mut dyn FnMut(),
) -> std::io::Result<()> {
    let mut last_write = |conn: &mut TcpStream, bytes: &[u8]| -> std::io::Result<()> {
        if let Some((last, rest)) = bytes.split_last() {
            conn.write_all(rest)?;
            finish();
            conn.write_all(&[*last])
        } else {
            finish();
            Ok(())
        }
    };
    match route {
        Route::Reply { status, headers, body } => {
            let etag = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("etag"))
                .map(|(_, v)| v);
            if etag.is_some() && etag == req.get("if-none-match") {
                return last_write(&mut conn, b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n");
            }
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Length: {}\r\n",
                body.len()
            );
            for (k, v) in &headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            if (200..300).contains(&status) {
                conn.write_all(head.as_bytes())?;
                last_write(&mut conn, &body)
            } else {
                // A client may drop an error response once it has the head.
                last_write(&mut conn, head.as_bytes())?;
                conn.write_all(&body)
            }
        }
        Route::Trickle { body, every } => {
            conn.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )?;
            for b in body {
                std::thread::sleep(every);
                conn.write_all(&[b])?;
            }
            Ok(())
        }
        Route::Reset => {
            // Unread request bytes make close() send RST on Linux; none are left here, so
            // shut down both ways: the client sees the connection end before any response.
            conn.shutdown(std::net::Shutdown::Both)
        }
        Route::Endless { bytes } => {
            conn.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n")?;
            let chunk = vec![b'a'; 64 * 1024];
            let mut sent = 0u64;
            while sent < bytes {
                conn.write_all(&chunk)?;
                sent += chunk.len() as u64;
            }
            Ok(())
        }
        Route::Seq(_) => Ok(()),
    }
}
