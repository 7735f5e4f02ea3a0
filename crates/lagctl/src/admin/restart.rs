//! `lagctl restart-daemon`: restarts lagd keeping every aggregation (an upgrade): lagd hands
//! its aggregations to a new image of itself, read from disk again (lagd's `handover.rs`); the
//! members stay taken over, the aggregates keep their addresses, routes and neighbours, no
//! frame is lost and the partner notices nothing. It is SIGUSR2 to lagd, followed until the
//! new image answers.

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use lagd_control::client::Client;

use super::cli::RestartArgs;
use super::error::AdminError;
use super::verbs::connect;

/// How long the new image may take to answer.
const LIMIT: Duration = Duration::from_secs(30);

/// Runs `restart-daemon`.
pub fn run(a: &RestartArgs) -> Result<(), AdminError> {
    let path = &a.conn.socket;
    let (_, pid) = connect(&a.conn)?.ping()?;
    // The socket file's identity: a new file may get the inode number of the one just
    // removed (ext4 and tmpfs reuse them at once), so its change time counts too.
    let identity = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| (m.ino(), m.ctime(), m.ctime_nsec()))
            .ok()
    };
    let inode = identity(path);
    lagd_dataplane::process::send(pid, lagd_dataplane::process::Signal::Usr2)
        .map_err(|e| AdminError::Input(format!("signalling lagd (pid {pid}): {e}")))?;
    let start = Instant::now();
    loop {
        // The new image binds a new socket (another file) once it runs.
        let fresh = identity(path);
        if fresh.is_some() && fresh != inode {
            let answer = Client::connect(path).ok().and_then(|mut c| c.ping().ok());
            if let Some((version, now_pid)) = answer {
                if now_pid != pid {
                    return Err(AdminError::Input(format!(
                        "lagd answers as pid {now_pid}, not {pid}: the restart failed and another lagd started (its log says why)"
                    )));
                }
                println!("lagd restarted (pid {pid}, version {version}): every aggregation kept");
                return Ok(());
            }
        }
        if start.elapsed() > LIMIT {
            return Err(AdminError::Input(format!(
                "lagd (pid {pid}) did not answer within {} s of SIGUSR2: see its log (a restart refused, e.g. with Distributed Trunking, leaves it running)",
                LIMIT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
