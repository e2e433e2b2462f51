//! PostgreSQL over TLS (issue 16): a PostgreSQL of the test's own, started on a free port with a
//! certificate authority and server certificate the test makes (openssl), accepting TLS
//! connections only. The sink verifies the chain against `ca_file` and, with `verify-full`, the
//! host name.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Workspace, text};

/// A throwaway PostgreSQL cluster, stopped on drop.
struct TlsServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

fn run(what: &str, cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what}: {}", text(&out));
}

/// As the `postgres` user when running as root (PostgreSQL refuses root).
fn as_server_user(bin: &Path, args: &[&str]) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args);
    cmd
}

impl TlsServer {
    /// `None` when this machine has no PostgreSQL server binaries (outside CI only).
    fn start() -> Option<TlsServer> {
        let bin = glob::glob("/usr/lib/postgresql/*/bin")
            .ok()
            .and_then(|mut g| g.find_map(Result::ok))
            .filter(|b| b.join("initdb").exists());
        let Some(bin) = bin else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL server binaries are required in CI"
            );
            eprintln!("skipping: no PostgreSQL server binaries under /usr/lib/postgresql");
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let ssl = |args: &[&str]| run("openssl", Command::new("openssl").args(args).current_dir(d));
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        ssl(&[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=newsfold test CA",
            ],
        ]
        .concat());
        ssl(&[
            &["req"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
        ]
        .concat());
        // The server's name is `localhost` only: 127.0.0.1 is a wrong name for verify-full.
        std::fs::write(d.join("ext.cnf"), "subjectAltName=DNS:localhost\n").expect("ext");
        ssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        run("chmod", Command::new("chmod").args(["0755", &d.display().to_string()]));
        run(
            "chmod",
            Command::new("chmod").args(["0600", "server.key"]).current_dir(d),
        );
        if Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout == b"0\n")
            .unwrap_or(false)
        {
            run(
                "chown",
                Command::new("chown")
                    .args(["postgres", "server.key", "server.pem", "."])
                    .current_dir(d),
            );
        }
        let data = d.join("data").display().to_string();
        run(
            "initdb",
            &mut as_server_user(
                &bin.join("initdb"),
                &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
            ),
        );
        // TLS connections only.
        std::fs::write(
            d.join("data/pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        )
        .expect("pg_hba");
        let options = format!(
            "-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={dir}/server.pem -c ssl_key_file={dir}/server.key -c fsync=off",
            dir = d.display()
        );
        let log = d.join("server.log").display().to_string();
        run(
            "pg_ctl start",
            &mut as_server_user(
                &bin.join("pg_ctl"),
                &["-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options, "start"],
            ),
        );
        Some(TlsServer { dir, bin, port })
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let _ = as_server_user(&self.bin.join("pg_ctl"), &["-D", &data, "-m", "immediate", "stop"]).output();
    }
}

#[test]
fn postgres_over_tls_verifies_the_certificate_and_the_host_name() {
    let Some(server) = TlsServer::start() else { return };
    let ca = server.dir.path().join("ca.pem").display().to_string();
    let port = server.port;
    let ws = Workspace::new();
    ws.add_seed("000");
    let once = |url: &str, ca_file: Option<&str>| {
        let ca_line = ca_file.map(|c| format!("ca_file = \"{c}\"\n")).unwrap_or_default();
        ws.write_config(&format!(
            "[sinks.archive]\ntype = \"postgres\"\nurl = \"{url}\"\ntable = \"tls_records\"\n{ca_line}"
        ));
        ws.once()
    };
    // The server takes TLS connections only: plain TCP is refused.
    let plain = once(&format!("postgres://postgres@localhost:{port}/postgres"), None);
    assert!(!plain.status.success(), "plain TCP must be refused: {}", text(&plain));
    // The chain and the name verified against the test's CA.
    let ok = once(
        &format!("postgres://postgres@localhost:{port}/postgres?sslmode=verify-full"),
        Some(&ca),
    );
    assert!(ok.status.success(), "{}", text(&ok));
    // `require` verifies in full too: 127.0.0.1 is not a name the certificate holds.
    let wrong_name = once(
        &format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=require"),
        Some(&ca),
    );
    assert!(!wrong_name.status.success(), "a wrong host name must fail");
    assert!(text(&wrong_name).contains("cannot connect to"), "{}", text(&wrong_name));
    // verify-ca checks the chain only.
    let ca_only = once(
        &format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=verify-ca"),
        Some(&ca),
    );
    assert!(ca_only.status.success(), "{}", text(&ca_only));
    // Without the CA, the system's roots do not know the test's CA.
    let unknown = once(
        &format!("postgres://postgres@localhost:{port}/postgres?sslmode=verify-full"),
        None,
    );
    assert!(!unknown.status.success(), "an unknown issuer must fail");
    assert!(text(&unknown).contains("UnknownIssuer"), "{}", text(&unknown));
    assert!(
        text(&wrong_name).contains("not valid for name"),
        "{}",
        text(&wrong_name)
    );
    assert!(text(&plain).contains("no encryption"), "{}", text(&plain));
    // The record is there, once.
    let mut client = postgres::Client::connect(
        &format!(
            "host={} port={port} user=postgres dbname=postgres",
            server.dir.path().display()
        ),
        postgres::NoTls,
    )
    .expect("connect over the socket");
    let rows: i64 = client
        .query_one("SELECT count(*) FROM tls_records", &[])
        .expect("count")
        .get(0);
    assert_eq!(rows, 1);
}
