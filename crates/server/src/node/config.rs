//! A node's settings, merged from a TOML file, `TOCSIN_...` environment variables and flags (each
//! overriding the one before), with defaults for whatever none of them sets.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The parts a node can play (DESIGN.md, "Users").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Issues orders and referrals.
    Authority,
    /// Hosts content and acts on orders.
    Platform,
    /// Runs DNS resolvers and applies blocklists.
    Operator,
    /// Reviews orders, blocks and the log.
    Oversight,
}

impl Role {
    /// The role's name, as flags, files and peers write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authority => "authority",
            Self::Platform => "platform",
            Self::Operator => "operator",
            Self::Oversight => "oversight",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "authority" => Ok(Self::Authority),
            "platform" => Ok(Self::Platform),
            "operator" => Ok(Self::Operator),
            "oversight" => Ok(Self::Oversight),
            other => Err(format!("unknown role {other:?}: use authority, platform, operator or oversight")),
        }
    }
}

/// Settings as one source gives them: anything may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Partial {
    /// Where the node keeps its key and database.
    pub data: Option<PathBuf>,
    /// Address to listen on.
    pub listen: Option<SocketAddr>,
    /// Database URL (`sqlite:...` or `postgres://...`).
    pub database_url: Option<String>,
    /// The node's display name.
    pub name: Option<String>,
    /// The URL peers reach the node at.
    pub public_url: Option<String>,
    /// The parts the node plays.
    pub role: Option<Vec<Role>>,
    /// Seconds between pulls of the banks this node subscribes to.
    pub bank_pull_seconds: Option<u64>,
    /// Scans that may wait for a hashing thread before more are refused with 503.
    pub scan_queue: Option<usize>,
    /// The most pixels a scanned image may have (what fits the node's memory when unset).
    pub scan_max_pixels: Option<u64>,
    /// The largest video `/v1/scan` takes, in bytes (256 MiB when unset).
    pub scan_video_max_bytes: Option<usize>,
    /// The longest video `/v1/scan` hashes, in seconds (an hour when unset).
    pub scan_video_max_seconds: Option<u64>,
    /// Video scans at once, decoding or waiting, before more are refused with 503 (one a core
    /// when unset), so that long videos cannot hold every place images need.
    pub scan_video_queue: Option<usize>,
    /// The host resolvers send blocked domains to (the stop page); NXDOMAIN when unset.
    pub stop_host: Option<String>,
    /// The RPZ's zone name, for zone transfers (`rpz.tocsin` when unset).
    pub rpz_zone: Option<String>,
    /// Connections open at once, HTTP and zone transfers each (512 when unset).
    pub max_connections: Option<usize>,
    /// Seconds a request head (or a zone transfer request) may take to arrive (10 when unset).
    pub header_timeout_seconds: Option<u64>,
    /// A platform's settings (`[platform]` in the file).
    pub platform: Option<PlatformPartial>,
}

/// A platform node's settings as one source gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PlatformPartial {
    /// The hosts this platform serves (orders for others are refused as a manifest error).
    pub serves: Option<Vec<String>>,
    /// Where the platform's content can be fetched from, to preserve it.
    pub origin: Option<String>,
    /// Called once per URL the platform blocks, so its own systems can act (signed, retried).
    pub action_webhook: Option<String>,
    /// Called when a removal order has 30 and 10 minutes left, and when it is overdue.
    pub escalation_webhook: Option<String>,
    /// Whether the origin serves `/V/1.JPG` as `/v/1.jpg` (IIS, macOS, some object stores): the
    /// gate then compares paths without case.
    pub case_insensitive_paths: Option<bool>,
    /// Asked, for each URL preserved, for the related data the platform's own systems hold
    /// (upload time, account): kept with the content (TCO Art. 6(1)).
    pub preservation_webhook: Option<String>,
    /// Answers production requests (e-Evidence Regulation) from the platform's own systems: the
    /// node POSTs the identifiers and categories there and seals what it answers.
    pub data_provider: Option<String>,
}

impl Partial {
    /// Values of `self`, with `lower`'s where `self` has none.
    pub fn over(self, lower: Partial) -> Partial {
        Partial {
            data: self.data.or(lower.data),
            listen: self.listen.or(lower.listen),
            database_url: self.database_url.or(lower.database_url),
            name: self.name.or(lower.name),
            public_url: self.public_url.or(lower.public_url),
            role: self.role.or(lower.role),
            bank_pull_seconds: self.bank_pull_seconds.or(lower.bank_pull_seconds),
            scan_queue: self.scan_queue.or(lower.scan_queue),
            scan_max_pixels: self.scan_max_pixels.or(lower.scan_max_pixels),
            scan_video_max_bytes: self.scan_video_max_bytes.or(lower.scan_video_max_bytes),
            scan_video_max_seconds: self.scan_video_max_seconds.or(lower.scan_video_max_seconds),
            scan_video_queue: self.scan_video_queue.or(lower.scan_video_queue),
            stop_host: self.stop_host.or(lower.stop_host),
            rpz_zone: self.rpz_zone.or(lower.rpz_zone),
            max_connections: self.max_connections.or(lower.max_connections),
            header_timeout_seconds: self.header_timeout_seconds.or(lower.header_timeout_seconds),
            platform: match (self.platform, lower.platform) {
                (Some(high), Some(low)) => Some(PlatformPartial {
                    serves: high.serves.or(low.serves),
                    origin: high.origin.or(low.origin),
                    action_webhook: high.action_webhook.or(low.action_webhook),
                    escalation_webhook: high.escalation_webhook.or(low.escalation_webhook),
                    case_insensitive_paths: high.case_insensitive_paths.or(low.case_insensitive_paths),
                    preservation_webhook: high.preservation_webhook.or(low.preservation_webhook),
                    data_provider: high.data_provider.or(low.data_provider),
                }),
                (high, low) => high.or(low),
            },
        }
    }

    /// Reads a TOML settings file.
    pub fn from_toml_file(path: &Path) -> Result<Partial, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml_from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn toml_from_str(text: &str) -> Result<Partial, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

/// A node's settings, complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the node keeps its key and database.
    pub data: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Database URL.
    pub database_url: String,
    /// The node's display name.
    pub name: String,
    /// The URL peers reach the node at, if it has one.
    pub public_url: Option<String>,
    /// The parts the node plays.
    pub roles: Vec<Role>,
    /// Time between pulls of subscribed banks (60 s by default).
    pub bank_pull: std::time::Duration,
    /// Scans that may wait for a hashing thread (64 by default); past them, 503.
    pub scan_queue: usize,
    /// The most pixels a scanned image may have; `None`: what fits the node's memory.
    pub scan_max_pixels: Option<u64>,
    /// The largest video a scan takes, in bytes.
    pub scan_video_max_bytes: usize,
    /// The longest video a scan hashes, in seconds.
    pub scan_video_max_seconds: u64,
    /// Video scans at once, decoding or waiting; past them, 503.
    pub scan_video_queue: usize,
    /// The host resolvers send blocked domains to (the stop page), if any.
    pub stop_host: Option<String>,
    /// The RPZ's zone name, lower case without the final dot.
    pub rpz_zone: String,
    /// Bounds on connections.
    pub limits: crate::node::listen::Limits,
    /// The hosts this platform serves, lowercase (a served host's subdomains are served too).
    pub serves: Vec<String>,
    /// Where the platform's content can be fetched from.
    pub origin: Option<String>,
    /// The platform's action webhook, if any.
    pub action_webhook: Option<String>,
    /// The platform's escalation webhook, if any.
    pub escalation_webhook: Option<String>,
    /// Whether the gate compares paths without case (the origin serves them so).
    pub case_insensitive_paths: bool,
    /// Where the preserver asks for the related data of each URL it preserves, if anywhere.
    pub preservation_webhook: Option<String>,
    /// Where production requests are answered from automatically, if anywhere.
    pub data_provider: Option<String>,
}

impl Config {
    /// Whether `host` (canonical, lowercase) is one this platform serves, or below one.
    pub fn serves_host(&self, host: &str) -> bool {
        self.serves.iter().any(|s| host == s || host.strip_suffix(s.as_str()).is_some_and(|rest| rest.ends_with('.')))
    }
}

impl Config {
    /// Fills in defaults: `./tocsin-data`, `127.0.0.1:8080`, a SQLite file in the data folder,
    /// the name `tocsin`, no roles.
    pub fn from_partial(p: Partial) -> Config {
        let data = p.data.unwrap_or_else(|| PathBuf::from("tocsin-data"));
        let database_url = p.database_url.unwrap_or_else(|| format!("sqlite://{}", data.join("tocsin.db").display()));
        Config {
            listen: p.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            database_url,
            name: p.name.unwrap_or_else(|| "tocsin".to_owned()),
            public_url: p.public_url,
            roles: p.role.unwrap_or_default(),
            bank_pull: std::time::Duration::from_secs(p.bank_pull_seconds.unwrap_or(60).max(1)),
            scan_queue: p.scan_queue.unwrap_or(64),
            scan_max_pixels: p.scan_max_pixels.filter(|&n| n > 0),
            scan_video_max_bytes: p.scan_video_max_bytes.filter(|&n| n > 0).unwrap_or(256 << 20),
            scan_video_max_seconds: p.scan_video_max_seconds.filter(|&n| n > 0).unwrap_or(3600),
            scan_video_queue: p
                .scan_video_queue
                .filter(|&n| n > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
            stop_host: p.stop_host.map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase()).filter(|h| !h.is_empty()),
            rpz_zone: p
                .rpz_zone
                .map(|z| z.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|z| !z.is_empty())
                .unwrap_or_else(|| "rpz.tocsin".to_owned()),
            limits: crate::node::listen::Limits {
                max_connections: p.max_connections.unwrap_or(crate::node::listen::Limits::default().max_connections).max(1),
                header_timeout: p
                    .header_timeout_seconds
                    .map_or(crate::node::listen::Limits::default().header_timeout, |s| std::time::Duration::from_secs(s.max(1))),
            },
            serves: p
                .platform
                .as_ref()
                .and_then(|pl| pl.serves.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            origin: p.platform.as_ref().and_then(|pl| pl.origin.clone()),
            preservation_webhook: p.platform.as_ref().and_then(|pl| pl.preservation_webhook.clone()),
            data_provider: p.platform.as_ref().and_then(|pl| pl.data_provider.clone()),
            action_webhook: p.platform.as_ref().and_then(|pl| pl.action_webhook.clone()),
            escalation_webhook: p.platform.as_ref().and_then(|pl| pl.escalation_webhook.clone()),
            case_insensitive_paths: p.platform.and_then(|pl| pl.case_insensitive_paths).unwrap_or(false),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_environment_which_overrides_the_file() {
        let file = toml_from_str("name = \"from-file\"\nlisten = \"127.0.0.1:9000\"\nrole = [\"platform\"]\n").expect("valid");
        let env = Partial { name: Some("from-env".into()), ..Partial::default() };
        let flags = Partial { listen: Some("127.0.0.1:9100".parse().expect("addr")), ..Partial::default() };
        let config = Config::from_partial(flags.over(env.over(file)));
        assert_eq!(config.name, "from-env");
        assert_eq!(config.listen.port(), 9100);
        assert_eq!(config.roles, vec![Role::Platform]);
        assert_eq!(config.data, PathBuf::from("tocsin-data"), "the default where nothing says");
        assert!(config.database_url.starts_with("sqlite://") && config.database_url.ends_with("tocsin.db"));
    }

    #[test]
    fn a_platform_serves_its_hosts_and_their_subdomains_only() {
        let file = toml_from_str("[platform]\nserves = [\"VideoHost.example.\", \"cdn.example\"]\norigin = \"http://127.0.0.1:9\"\n")
            .expect("valid");
        let config = Config::from_partial(file);
        assert_eq!(config.serves, ["videohost.example", "cdn.example"]);
        assert_eq!(config.origin.as_deref(), Some("http://127.0.0.1:9"));
        assert!(config.serves_host("videohost.example") && config.serves_host("media.videohost.example"));
        assert!(!config.serves_host("evilvideohost.example") && !config.serves_host("example"));
        let flags = Partial {
            platform: Some(PlatformPartial {
                serves: Some(vec!["other.example".into()]),
                origin: None,
                action_webhook: None,
                escalation_webhook: None,
                case_insensitive_paths: None,
                preservation_webhook: None,
                data_provider: None,
            }),
            ..Partial::default()
        };
        let merged = Config::from_partial(flags.over(toml_from_str("[platform]\norigin = \"http://o\"\n").expect("valid")));
        assert_eq!((merged.serves, merged.origin.as_deref()), (vec!["other.example".to_owned()], Some("http://o")));
    }

    #[test]
    fn unknown_settings_and_roles_are_refused() {
        assert!(toml_from_str("nmae = \"typo\"").is_err());
        assert!(toml_from_str("role = [\"police\"]").is_err());
        assert!("police".parse::<Role>().expect_err("unknown").contains("authority"));
    }
}
