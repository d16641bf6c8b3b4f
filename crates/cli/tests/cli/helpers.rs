//! Runs the real `tocsin` binary and finds the reference data.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `tests/data/pdq` at the workspace root.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/pdq")
}

/// The outcome of one run.
pub struct Run {
    pub code: i32,
    /// Standard output, with any bytes that are not UTF-8 replaced.
    pub stdout: String,
    /// Standard output as written.
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
}

/// Runs `tocsin ARGS` in `dir`; a run that takes over a minute is killed and fails the test.
pub fn tocsin_in(dir: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tocsin starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    // Read the pipes on their own threads so a chatty run cannot fill them and stall.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stderr.read_to_end(&mut buf).map(|_| buf)
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tocsin {args:?} still running after a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().expect("reader").expect("stdout");
    let stderr = err.join().expect("reader").expect("stderr");
    Run {
        code: status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stdout_bytes: stdout,
        stderr: String::from_utf8(stderr).expect("utf-8 stderr"),
    }
}

/// The expected `(hash, quality)` of a reference image, from `pdqhash-0.2.8-fullsize.csv`.
pub fn expected(relative: &str) -> (String, String) {
    let csv = std::fs::read_to_string(data_dir().join("expected/pdqhash-0.2.8-fullsize.csv")).expect("csv");
    let row = csv.lines().find(|l| l.starts_with(&format!("{relative},"))).unwrap_or_else(|| panic!("{relative} not in csv"));
    let f: Vec<&str> = row.split(',').collect();
    (f[4].to_owned(), f[5].to_owned())
}

/// A `tocsin serve` node running on a loopback port, stopped when dropped.
pub struct Node {
    child: std::process::Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Standard error so far, read on its own thread.
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    /// Standard output so far, likewise.
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Node {
    /// Starts `tocsin serve --data DATA --listen 127.0.0.1:0 ARGS` (ARGS may name another
    /// `--listen`) with `env` added, and waits
    /// (at most a minute) for it to say where it listens.
    pub fn start(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .args(["serve", "--data"])
            .arg(data)
            // A port the OS picks, unless the test names one (to restart a node at its address).
            .args(if args.contains(&"--listen") { &[][..] } else { &["--listen", "127.0.0.1:0"][..] })
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tocsin serve starts");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        fn drain(mut pipe: impl Read + Send + 'static, sink: std::sync::Arc<std::sync::Mutex<String>>) {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().expect("lock").push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        drain(child.stderr.take().expect("piped"), stderr.clone());
        drain(child.stdout.take().expect("piped"), stdout.clone());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = stderr.lock().expect("lock").clone();
            if let Some(at) = text.find("listening on http://") {
                let rest = &text[at + "listening on http://".len()..];
                let addr = rest.split_whitespace().next().expect("an address").to_owned();
                return Node { child, addr, stderr, stdout };
            }
            if let Some(status) = child.try_wait().expect("wait") {
                panic!("tocsin serve exited ({status}) before listening: {text}");
            }
            assert!(Instant::now() < deadline, "tocsin serve did not listen within a minute: {text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The node's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the node has written on standard output so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("lock").clone()
    }

    /// `GET path` over plain HTTP/1.1: the status code and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(&self.addr).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr).expect("request sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response read");
        let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status code");
        (status, body.to_owned())
    }

    /// Sends SIGTERM and waits (at most a minute): the exit code and everything it wrote.
    pub fn stop(mut self) -> (i32, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "tocsin serve did not stop within a minute");
            std::thread::sleep(Duration::from_millis(20));
        };
        // Give the reader a moment to take the last lines.
        std::thread::sleep(Duration::from_millis(100));
        (status.code().expect("exited, not killed"), self.stderr.lock().expect("lock").clone())
    }
}

impl Node {
    /// Kills the process (SIGKILL) and waits for it, as a crash would end it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    /// A request with a bearer token (if any), a content type and a body: the status, the
    /// response head and the body.
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, content_type: &str, body: &[u8]) -> (u16, String, String) {
        let auth = token.map(|t| format!("Authorization: Bearer {t}"));
        self.call_with(method, path, auth.as_slice(), content_type, body)
    }

    /// [`Node::call`] with header lines of the caller's (`Name: value`); a `Host` line replaces
    /// the node's address.
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        headers: &[impl AsRef<str>],
        content_type: &str,
        body: &[u8],
    ) -> (u16, String, String) {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(&self.addr).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        if !headers.iter().any(|h| h.as_ref().to_ascii_lowercase().starts_with("host:")) {
            head.push_str(&format!("Host: {}\r\n", self.addr));
        }
        for header in headers {
            head.push_str(&format!("{}\r\n", header.as_ref()));
        }
        if !content_type.is_empty() {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("head sent");
        // A refused large body may close the connection before all of it is written.
        let _ = stream.write_all(body);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let response = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status code");
        (status, head.to_ascii_lowercase(), body.to_owned())
    }
}

/// A node's database for a test: the SQLite file in its data folder, or a fresh PostgreSQL
/// database (dropped when this is dropped). Tests also use it to edit the database behind the
/// node's back, as someone with access to it might.
pub enum Database {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String, url: String },
}

impl Database {
    /// The SQLite file a node with data folder `data` uses by default.
    pub fn sqlite(data: &Path) -> Self {
        Database::Sqlite(data.join("tocsin.db"))
    }

    /// A new, empty PostgreSQL database on the test server (`TOCSIN_TEST_POSTGRES_URL`, which
    /// scripts/test sets, else the local one).
    pub fn postgres(tag: &str) -> Self {
        let admin_url = std::env::var("TOCSIN_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        // Unique within the process too: tests running at once must not share a database.
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("tocsin_cli_{tag}_{}_{n}", std::process::id());
        let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b).to_owned();
        let url = format!("{base}/{name}");
        let db = Database::Postgres { admin_url, name, url };
        db.admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.pg_name()));
        db.admin(&format!("CREATE DATABASE {}", db.pg_name()));
        db
    }

    fn pg_name(&self) -> &str {
        match self {
            Database::Postgres { name, .. } => name,
            Database::Sqlite(_) => unreachable!("PostgreSQL only"),
        }
    }

    fn admin(&self, sql: &str) {
        use sqlx::Connection;
        let Database::Postgres { admin_url, .. } = self else { return };
        block_on(async {
            let mut conn = sqlx::PgConnection::connect(admin_url).await.expect("PostgreSQL (scripts/test starts one)");
            sqlx::raw_sql(sql).execute(&mut conn).await.expect("admin SQL");
        });
    }

    /// The node's `--database-url` arguments (none for the default SQLite file).
    pub fn args(&self) -> Vec<&str> {
        match self {
            Database::Sqlite(_) => vec![],
            Database::Postgres { url, .. } => vec!["--database-url", url],
        }
    }

    fn url(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("sqlite://{}", path.display()),
            Database::Postgres { url, .. } => url.clone(),
        }
    }

    /// Runs one statement with its parameters bound (`$1`, `$2`, ...) on either database.
    pub fn execute(&self, sql: &str, params: &[Param]) {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        block_on(async {
            let mut conn = sqlx::AnyConnection::connect(&self.url()).await.expect("opens the database");
            let mut query = sqlx::query(sql);
            for p in params {
                query = match p {
                    Param::Int(n) => query.bind(*n),
                    Param::Bytes(b) => query.bind(b.clone()),
                    Param::Text(t) => query.bind(t.clone()),
                };
            }
            query.execute(&mut conn).await.expect("statement runs");
        });
    }

    /// The leaf hash stored with log entry `index`.
    pub fn leaf_hash(&self, index: i64) -> tocsin_ledger::Hash {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        block_on(async {
            let mut conn = sqlx::AnyConnection::connect(&self.url()).await.expect("opens the database");
            let row = sqlx::query("SELECT leaf_hash FROM log_entries WHERE idx = $1").bind(index).fetch_one(&mut conn).await.expect("row");
            let bytes: Vec<u8> = row.get(0);
            tocsin_ledger::Hash(bytes.try_into().expect("32 bytes"))
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Database::Postgres { name, .. } = self {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            self.admin(&sql);
        }
    }
}

/// A parameter for [`Database::execute`].
pub enum Param {
    Int(i64),
    Bytes(Vec<u8>),
    Text(String),
}

fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(work)
}
