//! MySQL/MariaDB TLS against a temporary, TLS-enabled MariaDB that each test starts
//! itself: a CA and a server certificate made with the `openssl` CLI, a datadir made with
//! `mariadb-install-db`, and `mariadbd` on a free port of 127.0.0.1. The server is killed
//! and its directory removed when the test ends, even when it panics.
//!
//! Without `mariadbd`, `mariadb-install-db` or `openssl` the tests are skipped with a note,
//! unless `CI=true`, where they fail. `STRATA_TEST_MARIADBD` and
//! `STRATA_TEST_MARIADB_INSTALL_DB` override where the binaries are looked for.
#![cfg(feature = "mysql")]
#![allow(clippy::print_stderr)]

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use strata_db::{Connection, DatabaseUrl, DbError, DbErrorKind};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (returns `None`) outside CI, fails in CI.
fn missing(what: &str) -> Option<TlsServer> {
    let msg = format!("{what}; install mariadb-server and openssl to run the MariaDB TLS tests");
    if in_ci() {
        panic!("{msg}");
    }
    eprintln!("skipped: {msg}");
    None
}

/// `name` from `env`, else the first of `dirs` or `$PATH` that has it.
fn find_binary(env: &str, names: &[&str], dirs: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let search: Vec<PathBuf> = dirs
        .iter()
        .map(PathBuf::from)
        .chain(std::env::split_paths(&path))
        .collect();
    names
        .iter()
        .flat_map(|n| search.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

/// Runs `cmd`, panicking with its output when it fails.
fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes a self-signed CA `<name>.pem`/`<name>.key` in `dir`.
fn make_ca(dir: &Path, name: &str) {
    run(Command::new("openssl")
        .current_dir(dir)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ])
        .args(["-subj", &format!("/CN=strata test {name}")])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]));
}

/// Makes `<name>.pem`/`<name>.key` in `dir`, a server certificate for `san` signed by CA
/// `ca`.
fn make_server_cert(dir: &Path, name: &str, ca: &str, cn: &str, san: &str) {
    run(Command::new("openssl")
        .current_dir(dir)
        .args(["req", "-newkey", "rsa:2048", "-nodes"])
        .args([
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ])
        .args(["-subj", &format!("/CN={cn}")]));
    let ext = dir.join(format!("{name}.ext"));
    std::fs::write(
        &ext,
        format!(
            "subjectAltName={san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        ),
    )
    .unwrap();
    run(Command::new("openssl")
        .current_dir(dir)
        .args(["x509", "-req", "-days", "2", "-set_serial", "2"])
        .args(["-in", &format!("{name}.csr")])
        .args(["-CA", &format!("{ca}.pem"), "-CAkey", &format!("{ca}.key")])
        .args(["-out", &format!("{name}.pem")])
        .arg("-extfile")
        .arg(&ext));
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running temporary MariaDB with TLS; killed, and its directory removed, on drop.
struct TlsServer {
    child: Child,
    port: u16,
    /// The CA that signed the server's certificate.
    ca: PathBuf,
    /// A CA that did not.
    other_ca: PathBuf,
    dir: tempfile::TempDir,
}

impl TlsServer {
    /// Starts a server whose certificate, signed by `ca.pem`, has `san` as its subject
    /// alternative names (`DNS:localhost`, `IP:127.0.0.1`, ...).
    fn start(cn: &str, san: &str) -> Option<TlsServer> {
        let Some(mariadbd) = find_binary(
            "STRATA_TEST_MARIADBD",
            &["mariadbd", "mysqld"],
            &["/usr/sbin", "/usr/local/sbin", "/usr/libexec"],
        ) else {
            return missing("no mariadbd found");
        };
        let Some(install_db) = find_binary(
            "STRATA_TEST_MARIADB_INSTALL_DB",
            &["mariadb-install-db", "mysql_install_db"],
            &["/usr/bin", "/usr/local/bin", "/usr/sbin"],
        ) else {
            return missing("no mariadb-install-db found");
        };
        if Command::new("openssl")
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            return missing("no openssl CLI found");
        }
        let dir = tempfile::Builder::new()
            .prefix("strata-tls-")
            .tempdir_in("/tmp")
            .unwrap();
        let d = dir.path();
        make_ca(d, "ca");
        make_ca(d, "other-ca");
        make_server_cert(d, "server", "ca", cn, san);

        // mariadbd refuses to run as root unless told to; as root, run it as root (the
        // files are root's) rather than as a `mysql` user that may not exist.
        let as_root = std::fs::metadata(d).unwrap().uid() == 0;
        let datadir = d.join("data");
        // Each server gets its own tmpdir: with the shared /tmp, the bootstrap of one test
        // sometimes failed with "Could not remove temporary table '/tmp/#sql-temptable-…'"
        // while the other tests' bootstraps ran.
        let tmpdir = d.join("tmp");
        std::fs::create_dir(&tmpdir).unwrap();
        let mut install = Command::new(&install_db);
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--tmpdir={}", tmpdir.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if let Some(basedir) = mariadbd.parent().and_then(|p| p.parent()) {
            // A relocated install finds its share/ files through --basedir.
            if basedir != Path::new("/usr") {
                install.arg(format!("--basedir={}", basedir.display()));
            }
        }
        if as_root {
            install.arg("--user=root");
        }
        run(&mut install);

        let port = free_port();
        let log = d.join("mariadbd.err");
        let mut server = Command::new(&mariadbd);
        server
            .arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--tmpdir={}", tmpdir.display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", d.join("sock").display()))
            .arg(format!("--pid-file={}", d.join("mariadbd.pid").display()))
            .arg(format!("--log-error={}", log.display()))
            .arg(format!("--ssl-ca={}", d.join("ca.pem").display()))
            .arg(format!("--ssl-cert={}", d.join("server.pem").display()))
            .arg(format!("--ssl-key={}", d.join("server.key").display()))
            .args([
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
                "--max-connections=50",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if as_root {
            server.arg("--user=root");
        }
        let child = server
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", mariadbd.display()));
        let mut server = TlsServer {
            child,
            port,
            ca: d.join("ca.pem"),
            other_ca: d.join("other-ca.pem"),
            dir,
        };
        server.wait_until_ready(&log);
        Some(server)
    }

    fn wait_until_ready(&mut self, log: &Path) {
        let start = Instant::now();
        let mut last = String::new();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "mariadbd exited ({status}) during startup:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                match try_connect(&self.url("127.0.0.1", "mysql", "ssl-mode=DISABLED")) {
                    Ok(_) => return,
                    Err(e) => last = e.to_string(),
                }
            }
            if start.elapsed() > STARTUP_TIMEOUT {
                panic!(
                    "mariadbd did not accept connections on port {} within {STARTUP_TIMEOUT:?} (last error: {last}):\n{}",
                    self.port,
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A root URL for `host` and database `db` with query `params`.
    fn url(&self, host: &str, db: &str, params: &str) -> String {
        format!("mysql://root@{host}:{}/{db}?{params}", self.port)
    }

    fn ca(&self) -> String {
        self.ca.display().to_string()
    }

    fn other_ca(&self) -> String {
        self.other_ca.display().to_string()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        // A throwaway server: no need for a clean shutdown. The TempDir goes after this.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

macro_rules! tls_server {
    ($cn:expr, $san:expr) => {
        match TlsServer::start($cn, $san) {
            Some(s) => s,
            None => return,
        }
    };
}

fn try_connect(url: &str) -> Result<Box<dyn Connection>, DbError> {
    strata_db::connect(&DatabaseUrl::parse(url).unwrap())
}

fn connect(url: &str) -> Box<dyn Connection> {
    try_connect(url).unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

fn connect_err(url: &str) -> DbError {
    match try_connect(url) {
        Ok(_) => panic!("{url} connected, but should not have"),
        Err(e) => {
            assert_eq!(e.kind, DbErrorKind::Connect, "{e}");
            e
        }
    }
}

/// The session's TLS cipher, empty when the session is not encrypted.
fn cipher(c: &mut dyn Connection) -> String {
    c.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'").unwrap()[0][1]
        .clone()
        .unwrap_or_default()
}

fn tls_version(c: &mut dyn Connection) -> String {
    c.query("SHOW SESSION STATUS LIKE 'Ssl_version'").unwrap()[0][1]
        .clone()
        .unwrap_or_default()
}

#[test]
fn tls_modes_against_a_tls_server() {
    let server = tls_server!("localhost", "DNS:localhost,IP:127.0.0.1");
    let mut admin = connect(&server.url("127.0.0.1", "mysql", "ssl-mode=DISABLED"));
    assert_eq!(
        admin.query("SELECT @@have_ssl").unwrap()[0][0].as_deref(),
        Some("YES")
    );

    // DISABLED: a plain session even though the server offers TLS.
    assert_eq!(cipher(admin.as_mut()), "");

    // REQUIRED encrypts (without verifying; here with no ssl-ca at all).
    let mut c = connect(&server.url("127.0.0.1", "mysql", "ssl-mode=REQUIRED"));
    let cipher_required = cipher(c.as_mut());
    assert_ne!(cipher_required, "", "REQUIRED gave a plain session");
    assert!(tls_version(c.as_mut()).starts_with("TLSv1."));

    // PREFERRED, explicitly and as the default, encrypts when the server offers TLS.
    let mut c = connect(&server.url("127.0.0.1", "mysql", "ssl-mode=PREFERRED"));
    assert_ne!(cipher(c.as_mut()), "", "PREFERRED gave a plain session");
    let mut c = connect(&server.url("127.0.0.1", "mysql", ""));
    assert_ne!(cipher(c.as_mut()), "", "the default gave a plain session");

    // REQUIRED and PREFERRED do not verify: a CA that did not sign the certificate is
    // no obstacle.
    let mut c = connect(&server.url(
        "127.0.0.1",
        "mysql",
        &format!("ssl-mode=REQUIRED&ssl-ca={}", server.other_ca()),
    ));
    assert_ne!(cipher(c.as_mut()), "");
}

#[test]
fn tls_verification_against_a_tls_server() {
    // The certificate names localhost only: 127.0.0.1 is another name.
    let server = tls_server!("localhost", "DNS:localhost");
    let ca = server.ca();
    let other = server.other_ca();

    // VERIFY_CA checks the chain, not the name.
    for host in ["localhost", "127.0.0.1"] {
        let mut c = connect(&server.url(host, "mysql", &format!("ssl-mode=VERIFY_CA&ssl-ca={ca}")));
        assert_ne!(cipher(c.as_mut()), "", "VERIFY_CA via {host}");
    }

    // VERIFY_IDENTITY checks the chain and the name.
    let mut c = connect(&server.url(
        "localhost",
        "mysql",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
    ));
    assert_ne!(cipher(c.as_mut()), "");
    let e = connect_err(&server.url(
        "127.0.0.1",
        "mysql",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
    ));
    eprintln!("VERIFY_IDENTITY, name mismatch: {e}");
    assert!(
        e.message.contains("cannot connect to")
            && e.message
                .contains("certificate not valid for name \"127.0.0.1\"")
            && !e.message.contains("CodecError"),
        "{e}"
    );

    // A CA that did not sign the certificate fails both.
    for mode in ["VERIFY_CA", "VERIFY_IDENTITY"] {
        let e = connect_err(&server.url(
            "localhost",
            "mysql",
            &format!("ssl-mode={mode}&ssl-ca={other}"),
        ));
        eprintln!("{mode}, wrong CA: {e}");
        assert!(
            e.message
                .contains("invalid peer certificate: UnknownIssuer"),
            "{mode}: {e}"
        );
    }
    // So does no ssl-ca at all: the Mozilla roots do not include the test CA.
    let e = connect_err(&server.url("localhost", "mysql", "ssl-mode=VERIFY_CA"));
    assert!(e.message.contains("UnknownIssuer"), "{e}");

    // A missing ssl-ca file is a clear connect error.
    let missing = server.dir.path().join("nope.pem");
    let e = connect_err(&server.url(
        "localhost",
        "mysql",
        &format!("ssl-mode=VERIFY_CA&ssl-ca={}", missing.display()),
    ));
    assert!(
        e.message.contains("cannot read ssl-ca") && e.message.contains("nope.pem"),
        "{e}"
    );
}

#[test]
fn tls_round_trip() {
    let server = tls_server!("localhost", "DNS:localhost,IP:127.0.0.1");
    let mut admin = connect(&server.url("127.0.0.1", "mysql", "ssl-mode=DISABLED"));
    admin
        .execute("CREATE DATABASE strata_tls DEFAULT CHARSET utf8mb4")
        .unwrap();
    let url = server.url(
        "127.0.0.1",
        "strata_tls",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={}", server.ca()),
    );
    let mut c = connect(&url);
    assert_ne!(cipher(c.as_mut()), "");
    c.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(50))")
        .unwrap();
    c.begin().unwrap();
    c.execute("INSERT INTO items VALUES (1, 'caf\u{e9} \u{1f600}'), (2, NULL)")
        .unwrap();
    c.commit().unwrap();
    // Large enough to span many TLS records.
    let big = "x".repeat(200_000);
    let rows = c.query(&format!("SELECT '{big}' AS big")).unwrap();
    assert_eq!(rows[0][0].as_deref(), Some(big.as_str()));
    let rows = c.query("SELECT id, name FROM items ORDER BY id").unwrap();
    assert_eq!(
        rows,
        vec![
            vec![
                Some("1".to_string()),
                Some("caf\u{e9} \u{1f600}".to_string())
            ],
            vec![Some("2".to_string()), None],
        ]
    );
    assert!(c.table_exists("items").unwrap());
    assert_eq!(c.user_tables().unwrap(), vec!["items"]);
    let e = c
        .execute("INSERT INTO items VALUES (1, 'dup')")
        .unwrap_err();
    assert_eq!(e.kind, DbErrorKind::Statement);
    assert!(e.code.as_deref().unwrap_or("").contains("1062"), "{e}");

    // The migration lock over TLS, seen by a second TLS session.
    c.lock("strata_history", Duration::from_secs(5), &mut |_| {})
        .unwrap();
    let mut other = connect(&url);
    let e = other
        .lock("strata_history", Duration::from_millis(200), &mut |_| {})
        .unwrap_err();
    assert_eq!(e.kind, DbErrorKind::LockTimeout, "{e}");
    c.unlock("strata_history").unwrap();
    other
        .lock("strata_history", Duration::from_secs(5), &mut |_| {})
        .unwrap();
    other.unlock("strata_history").unwrap();

    // The interrupter's second connection uses the same TLS options.
    let interrupter = c.interrupter();
    let worker = std::thread::spawn(move || {
        let start = Instant::now();
        let r = c.execute("SELECT SLEEP(20)");
        (r, start.elapsed())
    });
    std::thread::sleep(Duration::from_millis(500));
    interrupter.interrupt();
    let (r, took) = worker.join().unwrap();
    assert!(took < Duration::from_secs(10), "not interrupted: {took:?}");
    let e = r.expect_err("SLEEP(20) was not interrupted");
    assert_eq!(e.kind, DbErrorKind::Interrupted, "{e}");
}
