//! `tocsin serve`: run this party's node until told to stop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tocsin_server::node::config::Partial;
use tocsin_server::{Config, Identity, Role, State};

/// Arguments of `tocsin serve`. Each may also come from the environment (`TOCSIN_...`) or from
/// the settings file; flags win over the environment, which wins over the file.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Settings file (TOML) [default: tocsin.toml in the data folder, if there is one].
    #[arg(long, env = "TOCSIN_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// Where the node keeps its key and database [default: ./tocsin-data].
    #[arg(long, env = "TOCSIN_DATA", value_name = "DIR")]
    data: Option<PathBuf>,

    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "TOCSIN_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,

    /// Database URL [default: a SQLite file in the data folder].
    #[arg(long, env = "TOCSIN_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,

    /// The node's name, as peers and people see it [default: tocsin].
    #[arg(long, env = "TOCSIN_NAME")]
    name: Option<String>,

    /// The URL peers reach this node at.
    #[arg(long, env = "TOCSIN_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,

    /// A part this node plays: authority, platform, operator or oversight (repeatable; the
    /// environment takes a comma-separated list).
    #[arg(long = "role", env = "TOCSIN_ROLE", value_delimiter = ',')]
    roles: Vec<Role>,

    /// A host this platform serves (repeatable; its subdomains too). Orders for other hosts are
    /// answered as a manifest error.
    #[arg(long = "serves", env = "TOCSIN_SERVES", value_delimiter = ',', value_name = "HOST")]
    serves: Vec<String>,

    /// Where this platform's content can be fetched, to preserve it.
    #[arg(long, env = "TOCSIN_ORIGIN", value_name = "URL")]
    origin: Option<String>,

    /// Called (POST, signed, retried) once for each URL this platform blocks.
    #[arg(long, env = "TOCSIN_ACTION_WEBHOOK", value_name = "URL")]
    action_webhook: Option<String>,

    /// Called (POST, signed, retried) when a removal order has 30 and 10 minutes left, and when
    /// it is overdue.
    #[arg(long, env = "TOCSIN_ESCALATION_WEBHOOK", value_name = "URL")]
    escalation_webhook: Option<String>,

    /// Asked (POST, signed) for the related data the platform's own systems hold on each URL
    /// preserved (upload time, account), which is kept with the content (TCO Art. 6(1)).
    #[arg(long, env = "TOCSIN_PRESERVATION_WEBHOOK", value_name = "URL")]
    preservation_webhook: Option<String>,

    /// On a platform: answer production requests of investigations (e-Evidence Regulation)
    /// from your own systems: the node POSTs each request's identifiers and categories to this
    /// URL and seals the files it answers with, encrypted to the authority.
    #[arg(long, env = "TOCSIN_DATA_PROVIDER", value_name = "URL")]
    data_provider: Option<String>,

    /// This platform's origin serves paths whatever their case (`/V/1.JPG` is `/v/1.jpg`, as on
    /// IIS or macOS): the gate then blocks every case of a blocked path.
    #[arg(long, env = "TOCSIN_CASE_INSENSITIVE_PATHS")]
    case_insensitive_paths: bool,

    /// Seconds between pulls of the banks this node subscribes to [default: 60].
    #[arg(long, env = "TOCSIN_BANK_PULL_SECONDS", value_name = "SECONDS")]
    bank_pull_seconds: Option<u64>,

    /// Scans that may wait for a hashing thread; more are refused with 503 and Retry-After
    /// [default: 64].
    #[arg(long, env = "TOCSIN_SCAN_QUEUE", value_name = "N")]
    scan_queue: Option<usize>,

    /// The most pixels an image sent to /v1/scan may have; larger ones are refused before they
    /// are decoded [default: Pillow's 178,956,970, or fewer so that every hashing thread
    /// decoding at once fits in half the node's memory].
    #[arg(long, env = "TOCSIN_SCAN_MAX_PIXELS", value_name = "N")]
    scan_max_pixels: Option<u64>,

    /// The largest video /v1/scan takes, in bytes; larger ones are refused with 413
    /// [default: 268,435,456].
    #[arg(long, env = "TOCSIN_SCAN_VIDEO_MAX_BYTES", value_name = "BYTES")]
    scan_video_max_bytes: Option<usize>,

    /// The longest video /v1/scan hashes, in seconds; longer ones are refused with 422
    /// [default: 3600].
    #[arg(long, env = "TOCSIN_SCAN_VIDEO_MAX_SECONDS", value_name = "SECONDS")]
    scan_video_max_seconds: Option<u64>,

    /// Video scans at once, decoding or waiting; more are refused with 503 and Retry-After, so
    /// that long videos never hold every place image scans need [default: one a core].
    #[arg(long, env = "TOCSIN_SCAN_VIDEO_QUEUE", value_name = "N")]
    scan_video_queue: Option<usize>,

    /// On an authority: the host ISPs' resolvers send blocked domains to, which serves the stop
    /// page [default: none, blocked domains do not resolve].
    #[arg(long, env = "TOCSIN_STOP_HOST", value_name = "HOST")]
    stop_host: Option<String>,

    /// On an authority: also serve the blocklist's RPZ by zone transfer (AXFR over TCP) here.
    #[arg(long, env = "TOCSIN_AXFR_LISTEN", value_name = "ADDR")]
    axfr_listen: Option<SocketAddr>,

    /// Connections open at once, HTTP and zone transfers each; past it new ones are closed at
    /// once [default: 512].
    #[arg(long, env = "TOCSIN_MAX_CONNECTIONS", value_name = "N")]
    max_connections: Option<usize>,

    /// Seconds a request head (or a zone transfer request) may take to arrive; an idle
    /// connection is closed after as long [default: 10].
    #[arg(long, env = "TOCSIN_HEADER_TIMEOUT_SECONDS", value_name = "SECONDS")]
    header_timeout_seconds: Option<u64>,

    /// The RPZ's zone name for zone transfers [default: rpz.tocsin]; no entry may block it.
    #[arg(long, env = "TOCSIN_RPZ_ZONE", value_name = "NAME")]
    rpz_zone: Option<String>,

    /// Answer only zone transfers signed with this TSIG key (HMAC-SHA256), given as
    /// NAME:BASE64-SECRET as `dig -y hmac-sha256:NAME:SECRET` takes it.
    #[arg(long, env = "TOCSIN_AXFR_TSIG", value_name = "NAME:SECRET", hide_env_values = true)]
    axfr_tsig: Option<String>,

    /// Start a new, empty log under the node's existing key, on an empty database. Only when the
    /// old database is lost for good: peers and reviewers holding the node's earlier tree heads
    /// will see its history start again, and the new log says so in its first entries.
    #[arg(long)]
    new_log: bool,
}

/// Runs the node until SIGINT or SIGTERM, then stops taking requests and finishes those under way.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let given = Partial {
        data: args.data,
        listen: args.listen,
        database_url: args.database_url,
        name: args.name,
        public_url: args.public_url,
        role: (!args.roles.is_empty()).then_some(args.roles),
        bank_pull_seconds: args.bank_pull_seconds,
        scan_queue: args.scan_queue,
        scan_max_pixels: args.scan_max_pixels,
        scan_video_max_bytes: args.scan_video_max_bytes,
        scan_video_max_seconds: args.scan_video_max_seconds,
        scan_video_queue: args.scan_video_queue,
        stop_host: args.stop_host,
        rpz_zone: args.rpz_zone,
        max_connections: args.max_connections,
        header_timeout_seconds: args.header_timeout_seconds,
        platform: (!args.serves.is_empty()
            || args.origin.is_some()
            || args.action_webhook.is_some()
            || args.escalation_webhook.is_some()
            || args.preservation_webhook.is_some()
            || args.data_provider.is_some()
            || args.case_insensitive_paths)
            .then(|| tocsin_server::node::config::PlatformPartial {
                serves: (!args.serves.is_empty()).then_some(args.serves),
                origin: args.origin,
                action_webhook: args.action_webhook,
                escalation_webhook: args.escalation_webhook,
                case_insensitive_paths: args.case_insensitive_paths.then_some(true),
                preservation_webhook: args.preservation_webhook,
                data_provider: args.data_provider,
            }),
    };
    let file = match &args.config {
        Some(path) => Partial::from_toml_file(path).map_err(anyhow::Error::msg)?,
        None => {
            let default = given.data.clone().unwrap_or_else(|| PathBuf::from("tocsin-data")).join("tocsin.toml");
            if default.exists() { Partial::from_toml_file(&default).map_err(anyhow::Error::msg)? } else { Partial::default() }
        }
    };
    let config = Config::from_partial(given.over(file));
    // A platform must preserve what it removes (TCO Art. 6(1)), and it preserves from its origin:
    // without one, nothing would be kept and nothing would say so.
    if config.roles.contains(&tocsin_server::node::config::Role::Platform) && config.origin.is_none() {
        anyhow::bail!(
            "a platform node keeps the content it removes for six months (Regulation (EU) 2021/784, Art. 6) and fetches it \
             from its origin: give --origin URL (or [platform] origin in the configuration file)"
        );
    }
    if let Some(host) = &config.stop_host {
        host.parse::<tocsin_model::DomainName>().map_err(|e| anyhow::anyhow!("--stop-host: {e}"))?;
    }
    // Structured logs on standard error; `TOCSIN_LOG` (e.g. `debug`, `tocsin_server=debug`) sets
    // the level, `info` by default.
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOCSIN_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    let key = args
        .axfr_tsig
        .as_deref()
        .map(str::parse::<tocsin_server::blocklist::axfr::TsigKey>)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--axfr-tsig: {e}"))?;
    let zone = config.rpz_zone.parse::<tocsin_model::DomainName>().map_err(|e| anyhow::anyhow!("--rpz-zone: {e}"))?.to_string();
    let axfr = args.axfr_listen.map(|addr| (addr, zone, key));
    runtime.block_on(serve(config, axfr, args.new_log))?;
    Ok(ExitCode::SUCCESS)
}

/// Where to serve zone transfers, the zone's name and the TSIG key, if asked.
type Axfr = Option<(SocketAddr, String, Option<tocsin_server::blocklist::axfr::TsigKey>)>;

async fn serve(config: Config, axfr: Axfr, new_log: bool) -> anyhow::Result<()> {
    // A node's SQLite file gone while its key is there: refused before SQLite makes an empty
    // one in its place (which the operator restoring the old file would then have to remove).
    let key_file = config.data.join(tocsin_server::node::identity::KEY_FILE);
    if let Some(file) = tocsin_store::sqlite_path(&config.database_url)
        && !new_log
        && std::fs::metadata(&file).map_or(true, |m| m.len() == 0)
        && let Some(identity) = Identity::load(&config.data)?
    {
        anyhow::bail!(
            "{} is missing or empty, but {} is the key of a node that has a log (fingerprint {}): restore the database from its \
             backup, or point --database-url at it. To start a new, empty log under this key on purpose (peers and reviewers \
             holding its earlier tree heads will see the history start again), start once with --new-log.",
            file.display(),
            key_file.display(),
            identity.jwk().thumbprint()
        );
    }
    let store = tocsin_store::Store::open(&config.database_url).await.context("opening the database")?;
    let identity = match identity_for(&config, &store, new_log).await {
        Ok(identity) => identity,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    first_start(&store).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let fingerprint = identity.jwk().thumbprint();
    // Scripts and tests read this line to learn the port when given port 0.
    tracing::info!(name = %config.name, %fingerprint, "listening on http://{addr} ");
    let state = Arc::new(State::new(config, identity, store.clone()));
    state.load_gate().await.context("loading the gate's blocks")?;
    // Every bank in memory before the first scan is answered.
    tocsin_server::banks::follow(&state).await.context("loading the banks")?;
    let workers = tocsin_server::workers(&state);
    let axfr = match axfr {
        Some((addr, zone, key)) => {
            let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("zone transfers on {addr}"))?;
            tracing::info!(zone = %zone, signed = key.is_some(), "zone transfers on {}", listener.local_addr().context("the address")?);
            Some(tokio::spawn(tocsin_server::blocklist::axfr::run_axfr(state.clone(), listener, zone, key)))
        }
        None => None,
    };
    let limits = state.config.limits;
    tocsin_server::node::listen::serve(listener, tocsin_server::app(state), limits, stop_signal()).await;
    for worker in workers {
        worker.abort();
    }
    if let Some(axfr) = axfr {
        axfr.abort();
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The node's key, checked against the key the database's log belongs to: a node refuses to
/// start with another key over its log, or with its key over an empty database that is not its
/// own (a lost database, a wrong URL), since either would give one key two histories.
async fn identity_for(config: &Config, store: &tocsin_store::Store, new_log: bool) -> anyhow::Result<Identity> {
    use tocsin_store::KeyBinding;
    let path = config.data.join(tocsin_server::node::identity::KEY_FILE);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let existing = Identity::load(&config.data)?;
    let binding = store.key_binding().await?;
    let identity = match (binding, existing) {
        (KeyBinding::Bound(bound), Some(identity)) => {
            let fingerprint = identity.jwk().thumbprint();
            anyhow::ensure!(
                fingerprint == bound,
                "{} holds key {fingerprint}, but this database's log is signed with key {bound}. Put the node's own key file back                  (from its backup): a node does not take over a log signed by another key.",
                path.display()
            );
            return Ok(identity);
        }
        (KeyBinding::Bound(bound), None) => anyhow::bail!(
            "{} is missing, but this database's log is signed with key {bound}. Restore the key file from its backup: a new key              would give the log a second signer.",
            path.display()
        ),
        (KeyBinding::Legacy, None) => anyhow::bail!(
            "{} is missing, but this database already holds a log, signed with the node's earlier key. Restore the key file from              its backup.",
            path.display()
        ),
        (KeyBinding::Legacy, Some(identity)) => identity,
        (KeyBinding::Unbound, Some(identity)) if !new_log => anyhow::bail!(
            "this database holds no log, but {} is the key of a node that has one (fingerprint {}): its database is missing,              empty or not the one configured. Point --database-url at the node's database, or restore it from its backup. To              start a new, empty log under this key on purpose (peers and reviewers holding its earlier tree heads will see the              history start again), start once with --new-log.",
            path.display(),
            identity.jwk().thumbprint()
        ),
        (KeyBinding::Unbound, Some(identity)) => {
            tracing::warn!("starting a new log under the existing key, as --new-log asks");
            store.bind_key(&identity.jwk().thumbprint(), now, true).await.context("recording the node's key in the database")?;
            return Ok(identity);
        }
        (KeyBinding::Unbound, None) => Identity::load_or_create(&config.data)?,
    };
    store.bind_key(&identity.jwk().thumbprint(), now, false).await.context("recording the node's key in the database")?;
    Ok(identity)
}

/// On a node without accounts, makes `admin` and prints its token on standard output, once
/// (standard error is the node's log, and secrets stay out of logs).
async fn first_start(store: &tocsin_store::Store) -> anyhow::Result<()> {
    if !store.accounts().await?.is_empty() {
        return Ok(());
    }
    match store.create_account("admin", &["admin"], None).await {
        Ok(_) => {}
        // Another process made it first.
        Err(tocsin_store::StoreError::Refused(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let token = store.create_token("admin", 90 * 86_400).await?;
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    writeln!(out, "First start: made the account \"admin\". Its API token, shown this once (valid 90 days):")?;
    writeln!(out, "{}", token.secret)?;
    out.flush()?;
    tracing::info!("first start: made the account \"admin\" and printed its token on standard output");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
