//! The PostgreSQL sink: records upserted by id into a table it creates (see `sql` for the
//! contract), one transaction per batch. The sink owns its thread and drives tokio-postgres on a
//! runtime of its own, so every connect and every batch has a deadline (`timeout`): a server that
//! stops answering but keeps the connection open is an outage after `timeout`, not a silent stall.
//!
//! TLS follows the URL's `sslmode`, read here (tokio-postgres knows only disable/prefer/require):
//! absent or `disable` is plain TCP; `prefer` uses TLS when the server offers it; `require`,
//! `verify-full` verify the certificate and the host name, `verify-ca` the certificate only.
//! Certificates are checked against `ca_file` (or the URL's `sslrootcert`) when given, else the
//! system's roots; rustls with ring, as the HTTP client. The URL's password never appears in logs
//! or errors.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls};

use super::sql::{
    COLUMNS, Dialect, TABLE_VERSION, change_statements, changes, create_statements, index_statements,
    migrate_statements, redact, table_name,
};
use super::{DuplicatePolicy, Item};
use crate::config::Cx;

/// The default deadline of a connect and of a batch.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// `type = "postgres"` as written: records in a PostgreSQL table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPostgresSink {
    pub url: String,
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
    /// The deadline of a connect and of each batch's transaction.
    #[serde(default, deserialize_with = "crate::config::duration_opt")]
    pub timeout: Option<Duration>,
    /// PEM file of the certificate authorities to trust (instead of the system's).
    #[serde(default)]
    pub ca_file: Option<String>,
}

/// How the connection is secured (`sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    Disable,
    /// TLS when the server offers it (verified like `VerifyFull`), else plain.
    Prefer,
    /// TLS, the certificate chain verified but not the host name.
    VerifyCa,
    /// TLS, the certificate and the host name verified (`require` too).
    VerifyFull,
}

/// `url` may hold a password: never log it (see `sql::redact`).
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresSettings {
    /// The URL without `sslmode`/`sslrootcert`, as tokio-postgres reads it.
    pub url: String,
    pub table: String,
    pub timeout: Duration,
    pub tls: Tls,
    pub ca_file: Option<PathBuf>,
}

impl PostgresSettings {
    /// Plain TCP to `url` (no `sslmode`), the default timeout.
    pub fn plain(url: &str, table: &str) -> PostgresSettings {
        PostgresSettings {
            url: url.to_string(),
            table: table.to_string(),
            timeout: DEFAULT_TIMEOUT,
            tls: Tls::Disable,
            ca_file: None,
        }
    }

    /// The URL at `url_key` (`${VAR}` expanded) split into the connection string, its TLS mode
    /// and `sslrootcert`; errors reported at `url_key`, never with the password.
    pub fn parse_url(cx: &mut Cx<'_>, url_key: &str, url: &str) -> Option<(String, Tls, Option<String>)> {
        let url = cx.expand_env(url_key, url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            cx.error(url_key, "must start with postgres:// or postgresql://");
            return None;
        }
        let (url, tls, root) = match split_tls(&url) {
            Ok(t) => t,
            Err(e) => {
                cx.error(url_key, e);
                return None;
            }
        };
        if let Err(e) = url.parse::<tokio_postgres::Config>() {
            // tokio-postgres names the option, never the password.
            cx.error(url_key, format!("{} is not a PostgreSQL URL: {e}", redact(&url)));
        }
        Some((url, tls, root))
    }

    pub fn build(cx: &mut Cx<'_>, key: &str, raw: RawPostgresSink) -> Option<(PostgresSettings, DuplicatePolicy)> {
        let (url, tls, root) = Self::parse_url(cx, &format!("{key}.url"), &raw.url)?;
        let timeout = raw.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if timeout.is_zero() {
            cx.error(&format!("{key}.timeout"), "must be longer than zero");
        }
        let ca_file = match (raw.ca_file, root) {
            (Some(f), _) => {
                let f = cx.expand_env(&format!("{key}.ca_file"), &f);
                Some(cx.resolve(std::path::Path::new(&f)))
            }
            (None, root) => root.map(PathBuf::from),
        };
        if let Some(f) = &ca_file {
            if tls == Tls::Disable {
                cx.error(
                    &format!("{key}.ca_file"),
                    "is set but the URL asks for no TLS (add sslmode=verify-full)",
                );
            } else if let Err(e) = roots(f) {
                cx.error(&format!("{key}.ca_file"), format!("{e:#}"));
            }
        }
        let table = table_name(cx, key, raw.table);
        Some((
            PostgresSettings {
                url,
                table,
                timeout,
                tls,
                ca_file,
            },
            raw.duplicates,
        ))
    }

    /// `/readyz`: a connection of its own answers `SELECT 1`.
    pub fn probe(&self) -> anyhow::Result<()> {
        let target = redact(&self.url);
        let rt = runtime()?;
        let tls = self.tls_config()?;
        rt.block_on(async {
            let work = async {
                let client = connect(self, tls.as_ref()).await?;
                client
                    .simple_query("SELECT 1")
                    .await
                    .with_context(|| format!("{target} does not answer"))?;
                anyhow::Ok(())
            };
            match tokio::time::timeout(super::probe::CONNECT_TIMEOUT, work).await {
                Ok(r) => r,
                Err(_) => anyhow::bail!("{target} does not answer within {:?}", super::probe::CONNECT_TIMEOUT),
            }
        })
    }

    pub(crate) fn tls_config(&self) -> anyhow::Result<Option<Arc<rustls::ClientConfig>>> {
        if self.tls == Tls::Disable {
            return Ok(None);
        }
        tls_config(self.tls, self.ca_file.as_deref()).map(|c| Some(Arc::new(c)))
    }
}

/// Takes `sslmode` and `sslrootcert` out of the URL's query: (the rest, the mode, the CA file).
fn split_tls(url: &str) -> Result<(String, Tls, Option<String>), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), Tls::Disable, None));
    };
    let (mut tls, mut root, mut rest) = (Tls::Disable, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => {
                tls = match v {
                    "disable" | "allow" => Tls::Disable,
                    "prefer" => Tls::Prefer,
                    "verify-ca" => Tls::VerifyCa,
                    "require" | "verify-full" => Tls::VerifyFull,
                    other => {
                        return Err(format!(
                            "sslmode={} is not one of disable, allow, prefer, require, verify-ca, verify-full",
                            crate::config::preview(other)
                        ));
                    }
                }
            }
            "sslrootcert" => {
                root = Some(
                    url::form_urlencoded::parse(v.as_bytes())
                        .map(|(k, _)| k.into_owned())
                        .next()
                        .unwrap_or_default(),
                )
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, tls, root))
}

/// The certificates of a PEM file, as trust anchors.
fn roots(path: &std::path::Path) -> anyhow::Result<rustls::RootCertStore> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut store = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path).with_context(|| format!("cannot read {}", path.display()))?;
    for cert in certs {
        let cert = cert.with_context(|| format!("{} is not a PEM certificate file", path.display()))?;
        store
            .add(cert)
            .with_context(|| format!("{} holds a certificate rustls cannot use", path.display()))?;
    }
    if store.is_empty() {
        anyhow::bail!("{} holds no certificate", path.display());
    }
    Ok(store)
}

fn tls_config(mode: Tls, ca_file: Option<&std::path::Path>) -> anyhow::Result<rustls::ClientConfig> {
    use rustls::client::danger::ServerCertVerifier;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match ca_file {
        Some(path) => {
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots(path)?), provider.clone())
                .build()
                .context("cannot build a certificate verifier")?
        }
        None => Arc::new(
            rustls_platform_verifier::Verifier::new(provider.clone())
                .context("cannot load the system's certificates")?,
        ),
    };
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        Tls::VerifyCa => Arc::new(AnyName(verifier)),
        Tls::Disable | Tls::Prefer | Tls::VerifyFull => verifier,
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("no TLS version in common")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `sslmode=verify-ca`: the chain must verify; the host name need not match.
#[derive(Debug)]
struct AnyName(Arc<dyn rustls::client::danger::ServerCertVerifier>);

impl rustls::client::danger::ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error};
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start a runtime for PostgreSQL")
}

/// Connects, with the connection's task spawned on the current runtime.
pub(crate) async fn connect(
    settings: &PostgresSettings,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> anyhow::Result<Client> {
    Ok(connect_with_task(settings, tls).await?.0)
}

/// Connects; the connection's task (spawned on the current runtime) is returned too, so a caller
/// can end the connection at once (aborting it closes the socket: the server rolls back).
pub(crate) async fn connect_with_task(
    settings: &PostgresSettings,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> anyhow::Result<(Client, tokio::task::JoinHandle<()>)> {
    let target = redact(&settings.url);
    let mut config: tokio_postgres::Config = settings.url.parse().with_context(|| format!("invalid URL {target}"))?;
    config.connect_timeout(settings.timeout);
    let cannot = || format!("cannot connect to {target}");
    let client = match (settings.tls, tls) {
        (Tls::Disable, _) | (_, None) => {
            let (client, connection) = config
                .ssl_mode(SslMode::Disable)
                .connect(NoTls)
                .await
                .with_context(cannot)?;
            (client, tokio::spawn(async move { drop(connection.await) }))
        }
        (mode, Some(tls)) => {
            let ssl = if mode == Tls::Prefer {
                SslMode::Prefer
            } else {
                SslMode::Require
            };
            let make = tokio_postgres_rustls::MakeRustlsConnect::new((**tls).clone());
            let (client, connection) = config.ssl_mode(ssl).connect(make).await.with_context(cannot)?;
            (client, tokio::spawn(async move { drop(connection.await) }))
        }
    };
    Ok(client)
}

pub struct PostgresSink {
    rt: tokio::runtime::Runtime,
    settings: PostgresSettings,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// `None` after a failure: the next write connects again.
    client: Option<Client>,
    /// Whether the table has been created or migrated by this sink.
    prepared: bool,
    target: String,
}

impl PostgresSink {
    /// Connects and prepares the table, so a bad URL or an unreachable server fails the start.
    pub fn open(settings: &PostgresSettings) -> anyhow::Result<PostgresSink> {
        let mut sink = PostgresSink {
            rt: runtime()?,
            tls: settings.tls_config()?,
            settings: settings.clone(),
            client: None,
            prepared: false,
            target: redact(&settings.url),
        };
        sink.run(&[])?;
        Ok(sink)
    }

    /// Drops the connection; the next write opens a new one.
    pub fn reset(&mut self) {
        self.client = None;
    }

    /// Whether `e` rejects the data itself (a data exception or an integrity violation): retrying
    /// the same record cannot succeed.
    pub fn is_rejection(e: &anyhow::Error) -> bool {
        e.chain()
            .filter_map(|c| c.downcast_ref::<tokio_postgres::Error>())
            .any(|pe| {
                pe.code().is_some_and(|code| {
                    let class = &code.code()[..2];
                    class == "22" || class == "23"
                })
            })
    }

    /// Writes `items` (none: only connects) on a connection, opened and the table prepared if
    /// need be, within `timeout`. On any failure the connection is dropped.
    fn run(&mut self, items: &[Item<'_>]) -> anyhow::Result<()> {
        let timeout = self.settings.timeout;
        let (settings, tls, target) = (&self.settings, self.tls.as_ref(), self.target.clone());
        let (client, prepared) = (&mut self.client, &mut self.prepared);
        let result = self.rt.block_on(async {
            let work = async {
                if client.as_ref().is_none_or(|c| c.is_closed()) {
                    *client = Some(connect(settings, tls).await?);
                }
                let Some(c) = client.as_mut() else {
                    anyhow::bail!("no connection to {target}");
                };
                if !*prepared {
                    // A failure here is the table's, never a record's: keep the database error
                    // out of the chain so it is not taken for a rejection (`is_rejection`).
                    prepare(c, &settings.table, &target)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
                    *prepared = true;
                }
                if items.is_empty() {
                    return Ok(());
                }
                write(c, &settings.table, items, &target).await
            };
            match tokio::time::timeout(timeout, work).await {
                Ok(r) => r,
                Err(_) => Err(anyhow::anyhow!(
                    "{target} did not answer within {} (timeout)",
                    humantime::format_duration(timeout)
                )),
            }
        });
        if result.is_err() {
            self.client = None;
        }
        result
    }

    pub fn write(&mut self, items: &[Item<'_>]) -> anyhow::Result<()> {
        self.run(items)
    }
}

/// Creates the table, or migrates it, and its indexes.
async fn prepare(client: &mut Client, table: &str, target: &str) -> anyhow::Result<()> {
    client
        .batch_execute(&create_statements(table, Dialect::Postgres))
        .await
        .with_context(|| format!("cannot create table {table} at {target}"))?;
    let row = client
        .query_opt("SELECT version FROM newsfold_schema WHERE table_name = $1", &[&table])
        .await?;
    match row.map(|r| r.get::<_, i32>(0)) {
        None => {
            client
                .execute(
                    "INSERT INTO newsfold_schema (table_name, version) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&table, &TABLE_VERSION],
                )
                .await?;
        }
        Some(v) if v > TABLE_VERSION => {
            anyhow::bail!(
                "table {table} at {target} has version {v}, newer than this newsfold writes ({TABLE_VERSION})"
            )
        }
        Some(v) => {
            if let Some(sql) = migrate_statements(table, v, Dialect::Postgres) {
                client
                    .batch_execute(&format!("BEGIN; {sql} COMMIT;"))
                    .await
                    .with_context(|| format!("cannot migrate table {table} at {target}"))?;
            }
        }
    }
    client
        .batch_execute(&index_statements(table))
        .await
        .with_context(|| format!("cannot index table {table} at {target}"))?;
    Ok(())
}

/// One batch in one transaction.
async fn write(client: &mut Client, table: &str, items: &[Item<'_>], target: &str) -> anyhow::Result<()> {
    let placeholders: Vec<String> = (1..=COLUMNS.len()).map(|i| format!("${i}")).collect();
    let insert_sql = format!(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING",
        table,
        COLUMNS.join(", "),
        placeholders.join(", ")
    );
    let update_sql = change_statements(table, Dialect::Postgres);
    let tx = client
        .transaction()
        .await
        .with_context(|| format!("cannot write to {target}"))?;
    let insert = tx.prepare(&insert_sql).await?;
    let mut updates = Vec::with_capacity(update_sql.len());
    for sql in &update_sql {
        updates.push(tx.prepare(sql).await?);
    }
    for item in items {
        match item {
            Item::Record(r) => {
                let lang = r.lang.map(|l| l.code());
                let alternates = serde_json::to_string(&r.alternates)?;
                tx.execute(
                    &insert,
                    &[
                        &r.id,
                        &r.story_id,
                        &r.event_id,
                        &r.relation.as_str(),
                        &r.duplicate_of,
                        &r.source,
                        &r.location,
                        &r.original_url,
                        &lang,
                        &r.title,
                        &r.body,
                        &r.published_at,
                        &r.authors,
                        &r.content_hash,
                        &r.ingested_at,
                        &r.canonical_url,
                        &r.updated_at,
                        &alternates,
                        &r.lang_confidence,
                    ],
                )
                .await
                .with_context(|| format!("cannot insert record {} at {target}", r.id))?;
            }
            Item::Update(u) => {
                for c in changes(u) {
                    let (k, values) = c.statement();
                    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = values
                        .iter()
                        .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
                        .collect();
                    tx.execute(&updates[k], &params)
                        .await
                        .with_context(|| format!("cannot apply a {} at {target}", u.kind()))?;
                }
            }
        }
    }
    tx.commit().await.with_context(|| format!("cannot write to {target}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_read_and_taken_out() {
        let (url, tls, root) =
            split_tls("postgres://u:pw@h/db?sslmode=verify-ca&application_name=x&sslrootcert=%2Fetc%2Fca.pem").unwrap();
        assert_eq!(url, "postgres://u:pw@h/db?application_name=x");
        assert_eq!(tls, Tls::VerifyCa);
        assert_eq!(root.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(split_tls("postgres://h/db?sslmode=require").unwrap().1, Tls::VerifyFull);
        assert_eq!(
            split_tls("postgres://h/db").unwrap(),
            ("postgres://h/db".into(), Tls::Disable, None)
        );
        let e = split_tls("postgres://h/db?sslmode=sometimes").unwrap_err();
        assert!(e.contains("sslmode=\"sometimes\""), "{e}");
    }
}
