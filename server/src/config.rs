//! Configuration from command-line flags and the environment (every flag has an env name).

use clap::{CommandFactory, FromArgMatches, Parser};
use ipnet::IpNet;
use std::{net::IpAddr, path::PathBuf, time::Duration};

/// How the server is started. `--help` lists every option with its environment variable.
#[derive(Parser, Clone, Debug)]
#[command(name = "server", version, about = "MiseOS Live: REST API, notifications and pages on one port")]
pub struct Config {
    /// Interface to listen on.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port to listen on; 0 picks a free one.
    #[arg(long, env = "PORT", default_value_t = 5001)]
    pub port: u16,

    /// Where the default SQLite database and the generated development secret are kept.
    #[arg(long, env = "MISEOS_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// `postgres://…` or `sqlite://…`; defaults to `sqlite://<data-dir>/miseos.db`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// HS256 signing secret for session tokens, at least 32 bytes. When unset (and no
    /// secret file is given), one is generated and kept in the data directory (development
    /// only).
    #[arg(long, env = "MISEOS_JWT_SECRET", hide_env_values = true, conflicts_with = "jwt_secret_file")]
    pub jwt_secret: Option<String>,

    /// A file holding the signing secret (surrounding whitespace ignored): keeps it out of
    /// the environment, e.g. a systemd credential or a container secret.
    #[arg(long, env = "MISEOS_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,

    /// How long a session token is valid, in minutes (default: one 12-hour shift).
    #[arg(long, env = "MISEOS_TOKEN_TTL_MINUTES", default_value_t = 720)]
    pub token_ttl_minutes: u32,

    /// The kitchen's time zone (IANA name) for every timestamp the API shows.
    #[arg(long, env = "MISEOS_TIMEZONE", default_value = "UTC")]
    pub timezone: chrono_tz::Tz,

    /// Minutes a pending item waits before the dashboard shows its waiting time in amber: the
    /// setting of every kitchen that has none of its own, and of every new kitchen.
    #[arg(long, env = "MISEOS_WAITING_AMBER_MINUTES", default_value_t = 10)]
    pub waiting_amber_minutes: u32,

    /// Minutes a pending item waits before the dashboard shows its waiting time in red
    /// (at least the amber threshold).
    #[arg(long, env = "MISEOS_WAITING_RED_MINUTES", default_value_t = 20)]
    pub waiting_red_minutes: u32,

    /// Minutes a pending item waits before it is escalated (0: never); like the waiting
    /// colours, the default of kitchens without their own setting.
    #[arg(long, env = "MISEOS_ESCALATE_AFTER_MINUTES", default_value_t = 15)]
    pub escalate_after_minutes: u32,

    /// Origins whose pages may open the notification socket with the session cookie,
    /// comma-separated (e.g. `https://kitchen.example`). When unset, only an Origin equal to
    /// the request's own Host is accepted.
    #[arg(long, env = "MISEOS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Mark the session cookie `Secure` (sent over HTTPS only) and send HSTS. Default: on,
    /// unless the server listens on a loopback address (development). Set `false` only when
    /// users reach the server over plain HTTP on a trusted network.
    #[arg(long, env = "MISEOS_SECURE_COOKIE", action = clap::ArgAction::Set)]
    pub secure_cookie: Option<bool>,

    /// Development mode: seed the demo users (shared, published password) into an empty
    /// database and list them on the sign-in page. Never in production.
    #[arg(long, env = "MISEOS_DEMO", default_value_t = false, action = clap::ArgAction::Set)]
    pub demo: bool,

    /// Minutes a session may go unused (no REST request, no refresh) before it ends.
    /// Fractions are allowed (tests use seconds).
    #[arg(long, env = "MISEOS_SESSION_IDLE_MINUTES", default_value_t = 720.0)]
    pub session_idle_minutes: f64,

    /// Reverse proxies (addresses or networks, comma-separated) whose `X-Forwarded-For`
    /// names the client for sign-in throttling. Requests from anyone else are counted by
    /// their own address.
    #[arg(long, env = "MISEOS_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,

    /// Sockets one user may hold open (per process); beyond it the oldest is closed with
    /// 4008. 0 lifts the limit.
    #[arg(long, env = "MISEOS_MAX_SOCKETS_PER_USER", default_value_t = 20)]
    pub max_sockets_per_user: u32,

    /// New items (requests and suggestions together) one user may create per minute; beyond
    /// it 429. 0 lifts the limit.
    #[arg(long, env = "MISEOS_MAX_NEW_ITEMS_PER_MINUTE", default_value_t = 30)]
    pub max_new_items_per_minute: u32,

    /// PENDING items one user may have at once; beyond it 429. 0 lifts the limit.
    #[arg(long, env = "MISEOS_MAX_PENDING_PER_USER", default_value_t = 100)]
    pub max_pending_per_user: u32,

    /// Connections held at once (sockets included); one more is closed at once. Keep it
    /// below the process's open-file limit. 0 lifts the limit.
    #[arg(long, env = "MISEOS_MAX_CONNECTIONS", default_value_t = 16_000)]
    pub max_connections: u32,

    /// Connections one client (an IPv4 address, an IPv6 /64) may hold at once; trusted
    /// proxies are exempt. One more is closed at once. 0 lifts the limit.
    #[arg(long, env = "MISEOS_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 500)]
    pub max_connections_per_address: u32,

    /// New sockets one user may open per minute (per process); beyond it the upgrade answers
    /// 429 before anything is written. 0 lifts the limit.
    #[arg(long, env = "MISEOS_MAX_SOCKET_OPENS_PER_MINUTE", default_value_t = 60)]
    pub max_socket_opens_per_minute: u32,

    /// Seconds every request's headers have to arrive, from their first byte (a new
    /// connection's first request: from the connect). 0: no limit.
    #[arg(long, env = "MISEOS_HEADER_TIMEOUT_SECONDS", default_value_t = 10.0)]
    pub header_timeout_seconds: f64,

    /// Seconds a kept-alive connection may wait for its next request. 0: no limit.
    #[arg(long, env = "MISEOS_IDLE_TIMEOUT_SECONDS", default_value_t = 60.0)]
    pub idle_timeout_seconds: f64,

    /// Seconds a REST request may take before it is answered 503. 0: no limit.
    #[arg(long, env = "MISEOS_REQUEST_TIMEOUT_SECONDS", default_value_t = 15.0)]
    pub request_timeout_seconds: f64,

    /// Largest accepted REST request body, in bytes.
    #[arg(long, env = "MISEOS_MAX_BODY_BYTES", default_value_t = 16 * 1024)]
    pub max_body_bytes: usize,

    /// Seconds between pings on an idle notification socket; a peer that has not answered
    /// by the next ping is dropped.
    #[arg(long, env = "MISEOS_WS_PING_SECONDS", default_value_t = 30.0)]
    pub ws_ping_seconds: f64,

    /// Messages a notification session may have waiting before it counts as too slow and is
    /// closed with 1013.
    #[arg(long, env = "MISEOS_WS_QUEUE", default_value_t = 256)]
    pub ws_queue_capacity: usize,

    /// The contact push services are given in every push's VAPID JWT (`sub`): a `mailto:` or
    /// `https:` URL where the operator can be reached. Default: the first of
    /// `MISEOS_ALLOWED_ORIGINS`, else `mailto:operator@localhost` (with a warning).
    #[arg(long, env = "MISEOS_PUSH_SUBJECT", value_parser = parse_push_subject)]
    pub push_subject: Option<String>,

    /// Origins push subscriptions may point at besides public `https://` ones, comma-separated
    /// (e.g. `http://127.0.0.1:9900`): for tests and private push services.
    #[arg(long, env = "MISEOS_PUSH_EXTRA_ORIGINS", value_delimiter = ',')]
    pub push_extra_origins: Vec<String>,

    /// Origins webhooks may point at besides public `https://` ones, comma-separated (e.g.
    /// `http://127.0.0.1:9901`): for tests and a purchasing system inside the network.
    #[arg(long, env = "MISEOS_WEBHOOK_EXTRA_ORIGINS", value_delimiter = ',')]
    pub webhook_extra_origins: Vec<String>,

    /// Largest number of database connections.
    #[arg(long, env = "MISEOS_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Networks (addresses or CIDR, comma-separated) that may read `/metrics`, besides
    /// loopback. Everyone else gets 404.
    #[arg(long, env = "MISEOS_METRICS_ALLOW", value_delimiter = ',', value_parser = parse_network)]
    pub metrics_allow: Vec<IpNet>,

    /// Serve `/metrics` on this port (same allow rule) instead of the main one, like soketi:
    /// a scrape then never competes with users for the main port, and no proxy in front of
    /// the main port can reach it.
    #[arg(long, env = "MISEOS_METRICS_PORT")]
    pub metrics_port: Option<u16>,

    /// The interface of `MISEOS_METRICS_PORT` (default: `HOST`), e.g. a private address a
    /// Prometheus on another host can reach while `HOST` stays on loopback behind the proxy.
    #[arg(long, env = "MISEOS_METRICS_HOST")]
    pub metrics_host: Option<IpAddr>,

    /// `text` (readable) or `json` (one JSON object per line, for log collectors).
    #[arg(long, env = "MISEOS_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// On SIGTERM, how long `/readyz` answers 503 while everything else is still served,
    /// before sockets close and the listener stops: a load balancer that checks readiness
    /// every few seconds stops sending new clients first.
    #[arg(long, env = "MISEOS_SHUTDOWN_GRACE_SECONDS", default_value_t = 5)]
    pub shutdown_grace_seconds: u64,

    /// Once listening, write the bound port (digits and a newline) to this file, and remove
    /// it on shutdown: how scripts and tests learn the port the server picked for `PORT=0`.
    #[arg(long, env = "MISEOS_PORT_FILE")]
    pub port_file: Option<PathBuf>,
}

impl Config {
    /// The dashboard's waiting-time colours; a red threshold below the amber one is read as
    /// the amber one (straight to red).
    pub fn waiting_thresholds(&self) -> app::data::WaitingThresholds {
        let amber_minutes = i64::from(self.waiting_amber_minutes);
        app::data::WaitingThresholds {
            amber_minutes,
            red_minutes: i64::from(self.waiting_red_minutes).max(amber_minutes),
        }
    }

    /// Most connections held at once, if limited.
    pub fn max_connections(&self) -> Option<usize> {
        (self.max_connections > 0).then(|| usize::try_from(self.max_connections).unwrap_or(usize::MAX))
    }

    /// Most connections one client may hold at once, if limited.
    pub fn max_connections_per_address(&self) -> Option<usize> {
        (self.max_connections_per_address > 0)
            .then(|| usize::try_from(self.max_connections_per_address).unwrap_or(usize::MAX))
    }

    /// How long a request's headers may take to arrive, if limited.
    pub fn header_timeout(&self) -> Option<Duration> {
        seconds(self.header_timeout_seconds)
    }

    /// How long a kept-alive connection may wait for its next request, if limited.
    pub fn idle_timeout(&self) -> Option<Duration> {
        seconds(self.idle_timeout_seconds)
    }

    /// How long a REST request may take, if limited.
    pub fn request_timeout(&self) -> Option<Duration> {
        seconds(self.request_timeout_seconds)
    }

    /// Whether the session cookie is `Secure`: as configured, else unless on loopback.
    pub fn cookie_is_secure(&self) -> bool {
        self.secure_cookie.unwrap_or(!self.host.is_loopback())
    }

    /// The ping period as a duration.
    pub fn ws_ping_interval(&self) -> Duration {
        Duration::from_secs_f64(self.ws_ping_seconds.max(0.01))
    }

    /// How long a session may go unused.
    pub fn session_idle(&self) -> Duration {
        Duration::from_secs_f64((self.session_idle_minutes * 60.0).clamp(1.0, 10.0 * 365.0 * 86_400.0))
    }

    /// The token lifetime as a duration.
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.token_ttl_minutes) * 60)
    }

    /// The VAPID JWT's `sub`, and whether it is the fallback nobody chose.
    pub fn push_subject(&self) -> (String, bool) {
        match (&self.push_subject, self.allowed_origins.iter().find(|origin| origin.starts_with("https://"))) {
            (Some(subject), _) => (subject.clone(), false),
            (None, Some(origin)) => (origin.clone(), false),
            (None, None) => ("mailto:operator@localhost".into(), true),
        }
    }

    /// The database to open: the configured URL or the default SQLite file.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("miseos.db").display()),
        }
    }

    /// A configuration with every default, whatever the environment holds: for tests and
    /// tools that build one in code (a developer's `MISEOS_*` must not leak into them).
    pub fn defaults() -> Config {
        let matches = command_without_environment().get_matches_from(["server"]);
        // Every field has a default or is optional, so the bare command line always parses.
        Config::from_arg_matches(&matches).expect("the defaults form a configuration")
    }
}

/// Parses an address or a network (`10.0.0.0/8`): an entry of `MISEOS_TRUSTED_PROXIES` or
/// `MISEOS_METRICS_ALLOW`.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is neither an IP address nor a network such as 10.0.0.0/8"))
}

/// A VAPID contact: a `mailto:` or `https:` URL (RFC 8292).
fn parse_push_subject(text: &str) -> Result<String, String> {
    let text = text.trim();
    if (text.starts_with("mailto:") && text.len() > "mailto:".len()) || text.starts_with("https://") {
        Ok(text.to_string())
    } else {
        Err(format!("{text:?} is neither a mailto: nor an https: URL"))
    }
}

/// A duration of `value` seconds; `None` for 0 (no limit) or anything not positive.
fn seconds(value: f64) -> Option<Duration> {
    (value.is_finite() && value > 0.0).then(|| Duration::from_secs_f64(value.min(86_400.0 * 365.0)))
}

/// The command line with every setting's environment name removed: what
/// [`Config::defaults`] parses.
fn command_without_environment() -> clap::Command {
    Config::command().mut_args(|argument| argument.env(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Checked on the command itself rather than by setting a variable: changing the
    // environment while other test threads may read it is a data race.
    #[test]
    fn the_defaults_read_no_environment_variable() {
        assert!(Config::command().get_arguments().any(|argument| argument.get_env().is_some()));
        assert!(command_without_environment().get_arguments().all(|argument| argument.get_env().is_none()));
        let defaults = Config::defaults();
        assert_eq!((defaults.port, defaults.ws_queue_capacity, defaults.port_file), (5001, 256, None));
    }

    #[test]
    fn the_push_subject_is_a_contact_url() {
        assert!(parse_push_subject("mailto:chef@noma.dk").is_ok());
        assert!(parse_push_subject("https://noma.dk/contact").is_ok());
        assert!(parse_push_subject("chef@noma.dk").is_err());
        assert!(parse_push_subject("mailto:").is_err());
        let mut config = Config::defaults();
        assert_eq!(config.push_subject(), ("mailto:operator@localhost".to_string(), true));
        config.allowed_origins = vec!["https://kitchen.example".into()];
        assert_eq!(config.push_subject(), ("https://kitchen.example".to_string(), false));
        config.push_subject = Some("mailto:ops@kitchen.example".into());
        assert_eq!(config.push_subject().0, "mailto:ops@kitchen.example");
    }

    #[test]
    fn networks_are_addresses_or_networks() {
        assert!(parse_network("192.168.1.10").unwrap().contains(&"192.168.1.10".parse::<IpAddr>().unwrap()));
        assert!(parse_network("10.0.0.0/8").unwrap().contains(&"10.1.2.3".parse::<IpAddr>().unwrap()));
        assert!(parse_network("::1").is_ok());
        assert!(parse_network("not-an-ip").is_err());
    }

    #[test]
    fn the_cookie_is_secure_by_default_except_on_loopback() {
        let mut config = Config::defaults();
        assert!(!config.cookie_is_secure(), "127.0.0.1 is development");
        config.host = "0.0.0.0".parse().unwrap();
        assert!(config.cookie_is_secure());
        config.secure_cookie = Some(false);
        assert!(!config.cookie_is_secure());
        config.host = "::1".parse().unwrap();
        config.secure_cookie = Some(true);
        assert!(config.cookie_is_secure());
    }
}
