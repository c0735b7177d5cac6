//! A PostgreSQL cluster of the test's own, on its own port and data folder,
//! that a fault drill may kill and restart without touching the server the
//! rest of the suite shares.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A private cluster: `initdb`, `pg_ctl start`, and the faults.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// The superuser connection string (trust authentication on loopback).
    pub url: String,
}

/// The newest PostgreSQL server installed from Debian's packages.
fn server_binaries() -> Option<PathBuf> {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    let bin = PathBuf::from(format!("/usr/lib/postgresql/{}/bin", versions.pop()?));
    bin.join("initdb").exists().then_some(bin)
}

/// `initdb` and the server refuse to run as root: as root, run them as the
/// `postgres` account the package created.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

impl Cluster {
    /// A fresh cluster, started; `None` when no PostgreSQL server is
    /// installed (under `CI` that is a failure: `tests/run` installs one).
    pub fn start() -> Option<Cluster> {
        let Some(bin) = server_binaries() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "no PostgreSQL server under /usr/lib/postgresql (tests/run installs it)"
            );
            eprintln!("skipped: no PostgreSQL server under /usr/lib/postgresql");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let data = std::env::temp_dir().join(format!("lianxi-cluster-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&data).expect("create the cluster folder");
        if is_root() {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&data)
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster folder to postgres");
        }
        let out = as_server_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Cluster {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin,
            data,
            port,
        };
        cluster.start_again();
        Some(cluster)
    }

    fn pg_ctl(&self) -> Command {
        let mut c = as_server_user(&self.bin.join("pg_ctl"));
        c.arg("-D").arg(&self.data);
        c
    }

    /// Starts the server (again), waiting until it accepts connections. A
    /// server just killed may leave backends that take a moment to notice.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100",
            self.port,
            self.data.display()
        );
        for _ in 0..50 {
            let out = self
                .pg_ctl()
                .args(["-w", "-t", "30", "-l"])
                .arg(self.data.join("server.log"))
                .args(["-o", &options, "start"])
                .output()
                .expect("run pg_ctl start");
            if out.status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "the cluster did not start: {}",
            std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
        );
    }

    /// `pg_ctl stop -m immediate`: every process quits at once, without a
    /// checkpoint, as after a crash; the next start recovers from the WAL.
    pub fn stop_immediately(&self) {
        let out = self
            .pg_ctl()
            .args(["-m", "immediate", "stop"])
            .output()
            .expect("run pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// SIGKILL to the postmaster: no shutdown code runs at all.
    pub fn kill(&self) {
        let pid = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .expect("postmaster.pid")
            .lines()
            .next()
            .expect("the postmaster's pid")
            .trim()
            .to_owned();
        let status = Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "SIGKILL the postmaster {pid}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl().args(["-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
