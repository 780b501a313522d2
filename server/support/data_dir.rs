//! `BENCH_DATA_DIR=DIR`: a bench's server keeps its data under DIR (as
//! `--data-dir` does), to compare with the default, in memory.

use std::sync::atomic::{AtomicUsize, Ordering};

use presence_server::ServerConfig;

/// The default configuration, with a data directory of its own under
/// `BENCH_DATA_DIR` when that is set (a fresh one per server: a bench that
/// starts several servers must not find the previous one's users).
pub fn server_config() -> ServerConfig {
    static SERVERS: AtomicUsize = AtomicUsize::new(0);
    match std::env::var_os("BENCH_DATA_DIR") {
        Some(dir) => {
            let dir = std::path::Path::new(&dir).join(format!("server-{}", SERVERS.fetch_add(1, Ordering::SeqCst)));
            let _ = std::fs::remove_dir_all(&dir);
            ServerConfig::default().with_data_dir(dir)
        }
        None => ServerConfig::default(),
    }
}
