//! `BENCH_DATA_DIR=DIR`: a bench's server keeps its data in DIR (as
//! `--data-dir` does), to compare with the default, in memory.

use presence_server::ServerConfig;

/// The default configuration, with `BENCH_DATA_DIR` as its data directory when set.
pub fn server_config() -> ServerConfig {
    match std::env::var_os("BENCH_DATA_DIR") {
        Some(dir) => ServerConfig::default().with_data_dir(dir),
        None => ServerConfig::default(),
    }
}
