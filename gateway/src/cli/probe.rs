//! `lianxi probe`: the container health check, one HTTP/1.0 GET to a
//! `lianxi serve` on this machine, without opening the store.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::error::CliError;

/// The options of `lianxi probe`.
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// The address `serve` listens on; 0.0.0.0 and [::] mean this machine.
    #[arg(long, env = "LIANXI_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// `/readyz` (store reachable, migrations applied) or `/healthz`.
    #[arg(long, default_value = "/readyz")]
    pub path: String,
}

/// One GET of `args.path`; `Ok` (and the status line on stdout) on a 2xx
/// answer.
pub async fn run(args: &ProbeArgs) -> Result<(), CliError> {
    let ProbeArgs { listen, path } = args;
    // A wildcard address is where serve listens, not one to connect to.
    let address = match listen.rsplit_once(':') {
        Some(("0.0.0.0", port)) => format!("127.0.0.1:{port}"),
        Some(("[::]", port)) => format!("[::1]:{port}"),
        _ => listen.to_owned(),
    };
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(&address).await?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let target = || format!("{address}{path}");
    let answer = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| CliError::ProbeTimeout { target: target() })?
        .map_err(|source| CliError::ProbeUnreachable {
            target: target(),
            source,
        })?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code.starts_with('2') {
        println!("{path}: {status}");
        Ok(())
    } else {
        Err(CliError::NotReady {
            path: path.clone(),
            status: status.to_owned(),
        })
    }
}
