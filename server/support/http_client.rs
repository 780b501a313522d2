//! The crypto provider a plain reqwest client needs in this workspace, in one
//! place for the server's benches and tests: in a workspace build reqwest is
//! compiled with `rustls-no-provider` (for the SDK), and building a client
//! without a provider would panic.

/// Installs the ring crypto provider, unless one is installed already.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
