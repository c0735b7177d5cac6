//! The one TLS crypto provider of the binary.
//!
//! Every outgoing HTTPS connection (webhooks, the S3 object store, trace
//! export, the auditor's witness) goes through rustls with *ring*, the
//! provider the SQL driver already brings; no second provider is compiled.
//! rustls needs it installed as the process default before the first client
//! is built, which [`install_crypto_provider`] does once, from any thread:
//! `main` calls it first thing (before trace export or an S3 store is set
//! up), and the webhook and witness clients call it again, harmlessly, so
//! that no caller of theirs can forget.

/// Makes *ring* the process's rustls provider; later calls do nothing.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means a provider is installed already, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn after_installing_a_client_can_be_built_and_the_provider_is_ring() {
        super::install_crypto_provider();
        super::install_crypto_provider();
        let provider = rustls::crypto::CryptoProvider::get_default().expect("installed");
        assert!(!provider.cipher_suites.is_empty());
        reqwest::Client::builder()
            .build()
            .expect("a client with the installed provider");
    }
}
