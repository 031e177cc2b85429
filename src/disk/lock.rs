//! The write lock: an OS lock on `.frontdesk/lock`, which dies with its process (so there is
//! never a stale lock), holding the PID and start of its holder for `frontdesk check`.

use std::fs::{self, File};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

/// Opens (creating it, private) a file whose OS lock serialises commands; its content is never
/// truncated here.
pub fn open_lock_file(path: &Path) -> Result<File> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .at_path(path, "open the lock file")
}

/// True when a process with this ID exists (a dead one cannot hold anything).
pub fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e != rustix::io::Errno::SRCH,
    }
}

/// How long a command waits for another's lock: `FRONTDESK_LOCK_TIMEOUT` seconds (default 30).
pub fn lock_timeout() -> Duration {
    let wait: f64 = std::env::var("FRONTDESK_LOCK_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30.0);
    Duration::from_secs_f64(wait.max(0.0))
}

/// Takes the exclusive lock on `file` (at `path`, for the error), waiting at most `wait`;
/// false when another process still held it then.
pub fn lock_waiting(file: &File, path: &Path, wait: Duration) -> Result<bool> {
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(true),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(fs::TryLockError::WouldBlock) => return Ok(false),
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(path, "lock", e)),
        }
    }
}

/// Who holds the write lock, written into the lock file so `frontdesk check` can name a stuck
/// holder. The lock itself is the OS lock on the file, released when the process ends.
pub struct LockHolder {
    pub pid: u32,
    pub since: std::time::SystemTime,
}

impl LockHolder {
    pub(crate) fn write(mut file: &File) {
        use std::io::Write;
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // Only a diagnostic: a failure here must not stop the write.
        let _ = file
            .set_len(0)
            .and_then(|_| file.write_all(format!("{} {secs}\n", std::process::id()).as_bytes()));
    }

    pub fn parse(text: &str) -> Option<LockHolder> {
        let mut it = text.split_whitespace();
        let pid = it.next()?.parse().ok()?;
        let secs = it.next()?.parse().ok()?;
        Some(LockHolder {
            pid,
            since: std::time::UNIX_EPOCH + Duration::from_secs(secs),
        })
    }
}
