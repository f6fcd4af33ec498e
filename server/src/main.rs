//! Starts MiseOS Live: parse the configuration, build the application, serve until SIGTERM
//! or Ctrl-C. With a subcommand (`server user …`), runs that against the database instead.

use clap::{parser::ValueSource, CommandFactory, FromArgMatches, Parser};
use server::{cli, config::Config, Application};
use tracing_subscriber::EnvFilter;

/// mimalloc packs the many small per-session allocations tighter than glibc malloc (see
/// docs/PERFORMANCE.md, RSS per idle socket).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The command line: every setting of [`Config`], and optionally a subcommand.
#[derive(Parser)]
#[command(name = "server", version, about = "MiseOS Live: REST API, notifications and pages on one port")]
struct CommandLine {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<cli::Command>,
}

/// A release directory (scripts/release.sh) holds `hash.txt` and `site/` beside the binary.
/// Started by hand with no LEPTOS_* variable, the binary serves that site under its hashed
/// names, as production (no development reload), wherever it is started from; a variable
/// that is set wins. Both must be there: a `hash.txt` alone (an older cargo-leptos build in
/// target/release) names files that target/site does not hold.
fn adopt_release_directory(mut options: leptos::config::LeptosOptions) -> leptos::config::LeptosOptions {
    let Some(directory) = std::env::current_exe().ok().and_then(|binary| binary.parent().map(ToOwned::to_owned)) else {
        return options;
    };
    let site = directory.join("site");
    if !site.is_dir() || !directory.join(&*options.hash_file).is_file() {
        return options;
    }
    let unset = |name: &str| std::env::var_os(name).is_none();
    if unset("LEPTOS_HASH_FILES") {
        options.hash_files = true;
        if unset("LEPTOS_ENV") {
            options.env = leptos::config::Env::PROD;
        }
    }
    if unset("LEPTOS_SITE_ROOT") {
        options.site_root = site.to_string_lossy().into();
    }
    options
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let matches = CommandLine::command().get_matches();
    let CommandLine { mut config, command } = match CommandLine::from_arg_matches(&matches) {
        Ok(command_line) => command_line,
        Err(error) => error.exit(),
    };
    // `cargo leptos watch` and Leptos' own conventions name the address in LEPTOS_SITE_ADDR;
    // HOST and PORT (or their flags), when given, win. Said in the log below, once it runs.
    let defaulted = |id: &str| matches.value_source(id) == Some(ValueSource::DefaultValue);
    let site_addr = std::env::var("LEPTOS_SITE_ADDR").ok().filter(|_| defaulted("host") && defaulted("port"));
    let site_addr = site_addr.map(|text| (text.parse::<std::net::SocketAddr>(), text));
    if let Some((Ok(address), _)) = &site_addr {
        config.host = address.ip();
        config.port = address.port();
    }
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")));
    if config.log_format == "json" {
        logs.json().init();
    } else {
        logs.init();
    }
    if let Some(command) = command {
        return match cli::run(&config, command, &mut std::io::stdout()).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match site_addr {
        Some((Ok(address), _)) => {
            tracing::info!(%address, "listening where LEPTOS_SITE_ADDR says (HOST and PORT are unset)")
        }
        Some((Err(error), text)) => {
            tracing::warn!(%error, value = text, "LEPTOS_SITE_ADDR is not an address: listening on HOST and PORT's defaults");
        }
        None => {}
    }
    let leptos_options = match leptos::config::get_configuration(None) {
        Ok(configuration) => adopt_release_directory(configuration.leptos_options),
        Err(error) => {
            tracing::error!(%error, "cannot read the Leptos configuration (run from the workspace or set LEPTOS_* variables)");
            return std::process::ExitCode::FAILURE;
        }
    };
    let application = match Application::build(config, leptos_options).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!("MiseOS Live listening on http://{}", application.address());
    match application.run_until_stopped(server::shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}
