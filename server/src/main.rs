//! `presence-server` binary: a local PubNub-compatible presence server for development.
//!
//! ```text
//! cargo run -p presence-server -- [--listen 127.0.0.1:8090] [--secret-key KEY]
//!     [--publish-key KEY] [--presence-timeout SECS] [--long-poll-timeout SECS]
//!     [--announce-max N] [--presence-interval SECS] [--max-held-polls N] [--no-dashboard]
//!     [--faults FILE] [--dev-endpoints | --no-dev-endpoints] [--request-log N] [--verbose]
//! ```
//!
//! Logs one line per request at debug level (`--verbose` or `RUST_LOG=debug`); stops cleanly on Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use presence_server::{DEFAULT_BINARY_LISTEN, FLUSH_INTERVAL, FaultSet, PresenceServer, ServerConfig, Snapshot};
use tracing::Level;

const USAGE: &str = "\
presence-server: local PubNub-compatible presence server (development/test only; single node)

USAGE:
    presence-server [OPTIONS]

OPTIONS:
    --listen ADDR             address to listen on [default: 127.0.0.1:8090]
    --secret-key KEY          require signed requests (signature v2) using KEY
    --publish-key KEY         publish key clients include when signing [default: empty]
    --presence-timeout SECS   default presence timeout [default: 300]
    --long-poll-timeout SECS  how long a subscribe poll is held with nothing to send [default: 280]
    --announce-max N          above N occupants a channel sends interval events [default: 20]
    --presence-interval SECS  period of interval events [default: 10]
    --max-held-polls N        subscribe polls held at once before answering 429 [default: 50000]
    --no-dashboard            do not serve the live dashboard page at /
    --faults FILE             fault rules in force from the start (JSON, see README, \"Fault injection\"):
                              {\"seed\":7,\"rules\":[{\"endpoint\":\"subscribe\",\"rate\":0.3,\"effect\":{\"status\":503}}]}
    --dev-endpoints           serve /dev/faults and /dev/requests on any listen address
                              [default: only when listening on a loopback address]
    --no-dev-endpoints        never serve /dev/* (/metrics is always served)
    --request-log N           requests kept for GET /dev/requests [default: 1000; 0 keeps none]
    --data-dir DIR            keep channel groups, states and presence in DIR across restarts
                              [default: in memory, nothing written to disk]
    --import FILE             load a snapshot (the JSON of GET /dev/snapshot) at start
    --export-on-exit FILE     write a snapshot to FILE when stopped with Ctrl-C
    -v, --verbose             log every request (same as RUST_LOG=debug)
    -h, --help                print this help
";

struct Args {
    config: ServerConfig,
    level: Level,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut config = ServerConfig::default()
        .with_listen(DEFAULT_BINARY_LISTEN.parse().map_err(|e| format!("bad default listen address: {e}"))?);
    let mut level = match std::env::var("RUST_LOG").ok().as_deref().map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("trace") => Level::TRACE,
        Some(v) if v.eq_ignore_ascii_case("debug") => Level::DEBUG,
        Some(v) if v.eq_ignore_ascii_case("warn") => Level::WARN,
        Some(v) if v.eq_ignore_ascii_case("error") => Level::ERROR,
        _ => Level::INFO,
    };
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{what} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "-v" | "--verbose" => level = Level::DEBUG,
            "--no-dashboard" => config = config.with_dashboard(false),
            "--dev-endpoints" => config = config.with_dev_endpoints(true),
            "--no-dev-endpoints" => config = config.with_dev_endpoints(false),
            "--faults" => {
                let path = value("--faults")?;
                let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read --faults {path:?}: {e}"))?;
                let faults = FaultSet::from_json(&text).map_err(|e| format!("--faults {path:?}: {e}"))?;
                config = config.with_faults(faults);
            }
            "--request-log" => {
                let n = number(&value("--request-log")?, "--request-log")?;
                config =
                    config.with_request_log(usize::try_from(n).map_err(|_| "--request-log is too large".to_owned())?);
            }
            "--data-dir" => config = config.with_data_dir(value("--data-dir")?),
            "--import" => {
                let path = value("--import")?;
                let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read --import {path:?}: {e}"))?;
                let snapshot = Snapshot::from_json(&text).map_err(|e| format!("--import {path:?}: {e}"))?;
                config = config.with_import(snapshot);
            }
            "--export-on-exit" => config = config.with_export_on_exit(value("--export-on-exit")?),
            "--listen" => {
                let v = value("--listen")?;
                let addr: SocketAddr = v.parse().map_err(|e| format!("invalid --listen address {v:?}: {e}"))?;
                config = config.with_listen(addr);
            }
            "--secret-key" => config = config.with_secret_key(value("--secret-key")?),
            "--publish-key" => config = config.with_publish_key(value("--publish-key")?),
            "--presence-timeout" => {
                let secs = number(&value("--presence-timeout")?, "--presence-timeout")?;
                config = config.with_presence_timeout(Duration::from_secs(secs));
            }
            "--long-poll-timeout" => {
                let secs = number(&value("--long-poll-timeout")?, "--long-poll-timeout")?;
                config = config.with_long_poll_timeout(Duration::from_secs(secs));
            }
            "--announce-max" => {
                let n = number(&value("--announce-max")?, "--announce-max")?;
                config.announce_max = usize::try_from(n).map_err(|_| "--announce-max is too large".to_owned())?;
            }
            "--presence-interval" => {
                let secs = number(&value("--presence-interval")?, "--presence-interval")?;
                if secs == 0 {
                    return Err("--presence-interval must be at least 1".to_owned());
                }
                config.presence_interval = Duration::from_secs(secs);
            }
            "--max-held-polls" => {
                let n = number(&value("--max-held-polls")?, "--max-held-polls")?;
                config.max_held_polls = usize::try_from(n).map_err(|_| "--max-held-polls is too large".to_owned())?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(Args { config, level }))
}

fn number(text: &str, flag: &str) -> Result<u64, String> {
    text.parse().map_err(|_| format!("invalid {flag} {text:?}: expected a whole number"))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt().with_max_level(args.level).with_target(false).init();

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Listen for Ctrl-C before binding, so an early interrupt is not lost.
        let ctrl_c = tokio::spawn(tokio::signal::ctrl_c());
        tokio::task::yield_now().await;
        let signed = args.config.secret_key.is_some();
        let dashboard = args.config.dashboard;
        let dev_endpoints = args.config.dev_endpoints_enabled();
        let faults = args.config.faults.len();
        let imported = args.config.import.as_ref().map(Snapshot::counts);
        let server = match PresenceServer::start(args.config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot start: {e}");
                return ExitCode::FAILURE;
            }
        };
        let data = match server.data_file() {
            Some(file) => format!(
                "data kept in {} (group and state changes on disk before they are answered, presence within {} s)",
                file.display(),
                FLUSH_INTERVAL.as_secs()
            ),
            None => "data in memory (nothing written to disk; --data-dir keeps it)".to_owned(),
        };
        tracing::info!(
            "presence server listening on {} (origin {}{}) - development/test server, {data}; Ctrl-C to stop",
            server.url(),
            server.origin(),
            if signed { ", signed requests required" } else { "" }
        );
        if let Some((members, groups)) = imported {
            tracing::info!("imported a snapshot: {members} presence record(s), {groups} group(s)");
        }
        if dashboard {
            tracing::info!("dashboard: {}/ (who is online, live; --no-dashboard turns it off)", server.url());
        }
        if dev_endpoints {
            tracing::info!("dev endpoints: {0}/dev/faults, {0}/dev/requests; metrics: {0}/metrics", server.url());
        }
        if faults > 0 {
            tracing::info!("{faults} fault rule(s) in force from --faults");
        }
        match ctrl_c.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("error: cannot wait for Ctrl-C: {e}"),
            Err(e) => eprintln!("error: Ctrl-C listener failed: {e}"),
        }
        tracing::info!("shutting down");
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}
