//! Crash-safe file writes: temp file in the same directory, fsync, rename, fsync the directory.
//! A crash at any point leaves the old file or the new one, never a mix; a leftover temp file
//! (named `.fdtmp*`) is harmless and `frontdesk check --fix` removes it.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use crate::disk::fault;
use crate::error::{Error, IoContext, Result};

pub const TEMP_PREFIX: &str = ".fdtmp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The file must not exist yet; if it does, nothing is written (no-clobber).
    CreateNew,
    /// Replace the file if it exists, create it if not.
    Replace,
}

/// Writes `bytes` to `path` atomically with mode 0600, creating parent directories (0700).
pub fn write(path: &Path, bytes: &[u8], mode: Mode) -> Result<()> {
    // The old version stays reachable until the new one is durable, so a failure after the
    // rename can put it back. A crash leaves it as a temp file for `check --fix`.
    let backup = match mode {
        Mode::Replace if path.is_file() => Some(keep_old(path)?),
        _ => None,
    };
    let dir = match place(path, bytes, mode) {
        Ok(dir) => dir,
        Err(e) => {
            if let Some(old) = &backup {
                let _ = fs::remove_file(old);
            }
            return Err(e);
        }
    };
    if let Err(e) = fault::check("dirsync").and_then(|_| sync_dir(dir)) {
        // The rename may not survive a power loss: undo it, so the error means "not written"
        // and a retry cannot make a second record.
        let undone = match &backup {
            Some(old) => fs::rename(old, path),
            None => fs::remove_file(path),
        };
        let _ = sync_dir(dir);
        let err = Error::io(dir, "flush directory", e);
        return Err(match undone {
            Ok(()) => err.hint("nothing was written; the disk may be failing"),
            Err(_) => err.hint(format!(
                "{} may hold the new version; run `frontdesk check`",
                path.display()
            )),
        });
    }
    if let Some(old) = backup {
        let _ = fs::remove_file(old);
    }
    Ok(())
}

/// Hard-links the current version of `path` to a temp name beside it.
fn keep_old(path: &Path) -> Result<std::path::PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!("{TEMP_PREFIX}old-{}-{nanos}", std::process::id());
    let old = path.with_file_name(name);
    fs::hard_link(path, &old).at_path(path, "keep the old version of")?;
    Ok(old)
}

/// Everything `write` does except flushing the directory, which a batch does once per
/// directory (`sync_dir`) after placing all its files. Returns that directory.
pub fn place<'p>(path: &'p Path, bytes: &[u8], mode: Mode) -> Result<&'p Path> {
    let dir = parent_of(path)?;
    create_dirs(dir)?;
    if mode == Mode::CreateNew && path.exists() {
        return Err(
            Error::conflict(format!("{} already exists", path.display()))
                .hint("nothing was written"),
        );
    }
    let tmp = flushed_temp(dir, path, bytes)?;
    fault::check("rename").at_path(path, "rename into place")?;
    persist(tmp, path, mode)?;
    Ok(dir)
}

/// `bytes` written to a temp file in `dir` and flushed to disk, ready to be renamed to `path`.
fn flushed_temp(dir: &Path, path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let mut tmp = temp_in(dir)?;
    fault::check("write")
        .and_then(|_| tmp.write_all(bytes))
        .at_path(path, "write")?;
    fault::check("fsync")
        .and_then(|_| tmp.as_file().sync_all())
        .at_path(path, "flush to disk")?;
    Ok(tmp)
}

/// Writes new files that belong together (a statement run's record, table and statements):
/// every file's temp copy is written and flushed first, then they are renamed into place one
/// after the other (no-clobber), in the order given, and their folders flushed. A failure
/// before the renames leaves nothing; a failure at a rename removes those already renamed, so
/// an error means nothing was written. Only a crash between two renames (a few system calls)
/// can leave the first files without the last: give the file that points at the others last.
pub fn write_together(files: &[(&Path, &[u8])]) -> Result<()> {
    let mut temps = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let dir = parent_of(path)?;
        create_dirs(dir)?;
        if path.exists() {
            return Err(
                Error::conflict(format!("{} already exists", path.display()))
                    .hint("nothing was written"),
            );
        }
        temps.push(flushed_temp(dir, path, bytes)?);
    }
    let mut placed: Vec<&Path> = Vec::with_capacity(files.len());
    for ((path, _), tmp) in files.iter().zip(temps) {
        let renamed = fault::check("rename")
            .at_path(path, "rename into place")
            .and_then(|_| persist(tmp, path, Mode::CreateNew));
        if let Err(e) = renamed {
            for done in &placed {
                let _ = fs::remove_file(done);
            }
            return Err(e);
        }
        placed.push(path);
    }
    let mut dirs: Vec<&Path> = Vec::new();
    for (path, _) in files {
        let dir = parent_of(path)?;
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    for dir in dirs {
        if let Err(e) = fault::check("dirsync").and_then(|_| sync_dir(dir)) {
            // As in `write`: the renames may not survive a power loss, so undo them.
            for done in &placed {
                let _ = fs::remove_file(done);
            }
            return Err(Error::io(dir, "flush directory", e)
                .hint("nothing was written; the disk may be failing"));
        }
    }
    Ok(())
}

/// A file's folder ("." for a bare name).
fn parent_of(path: &Path) -> Result<&Path> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::internal(format!("{}: no parent directory", path.display())))?;
    Ok(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
}

/// Writes a new file atomically (temp file, then rename; no-clobber for `CreateNew`) but
/// without any fsync: for the demo generator and the disposable index, which sync once at the
/// end or can be rebuilt, never for records written by the interactive commands. The parent
/// directory must already exist.
pub fn write_unsynced(path: &Path, bytes: &[u8], mode: Mode) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::internal(format!("{}: no parent directory", path.display())))?;
    let mut tmp = temp_in(dir)?;
    tmp.write_all(bytes).at_path(path, "write")?;
    persist(tmp, path, mode)
}

/// [`write_unsynced`] for many files written into one folder at once (statements): a file that
/// does not exist yet is written unnamed (`O_TMPFILE`) and then linked under its name, so the
/// slow part of creating it (finding a free inode) happens outside the folder's lock and
/// parallel writers do not queue behind each other. The name never shows a partial file. An
/// existing file, or a file system or sandbox without `O_TMPFILE` or `/proc`, goes the usual way.
pub fn write_unsynced_linked(path: &Path, bytes: &[u8], mode: Mode) -> Result<()> {
    if link_unnamed(path, bytes).is_ok() {
        return Ok(());
    }
    write_unsynced(path, bytes, mode)
}

/// Writes `bytes` to an unnamed 0600 file in `path`'s folder and links it as `path` (never
/// over an existing file).
fn link_unnamed(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use rustix::fs::{AtFlags, CWD, Mode as FsMode, OFlags};
    use std::os::fd::AsRawFd;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let flags = OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC;
    let mut file = File::from(rustix::fs::open(dir, flags, FsMode::from_raw_mode(0o600))?);
    file.write_all(bytes)?;
    let unnamed = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(CWD, unnamed.as_str(), CWD, path, AtFlags::SYMLINK_FOLLOW)?;
    Ok(())
}

/// A private (0600) temp file in `dir`, to be renamed over the target.
fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    // The writer's PID in the name lets the next writer tell a dead process's leftover from a
    // live one's work in progress (see `journal`).
    tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .at_path(dir, "create a temporary file in")
}

/// Renames the temp file into place: no-clobber for a new record.
fn persist(tmp: tempfile::NamedTempFile, path: &Path, mode: Mode) -> Result<()> {
    match mode {
        Mode::CreateNew => tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::conflict(format!("{} already exists", path.display()))
                    .hint("nothing was written")
            } else {
                Error::io(path, "create", e.error)
            }
        })?,
        Mode::Replace => tmp
            .persist(path)
            .map_err(|e| Error::io(path, "replace", e.error))?,
    };
    Ok(())
}

/// Creates `dir` and its missing parents with mode 0700, fsyncing each parent so that the new
/// directory entry itself survives a crash.
pub fn create_dirs(dir: &Path) -> Result<()> {
    // A relative path's last parent is "", the current directory.
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent)?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(Error::io(dir, "create directory", e)),
    }
    // The umask can only remove bits from 0700, but be explicit for inherited ACLs.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .at_path(dir, "set permissions on")?;
    if let Some(parent) = dir.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        sync_dir(parent).at_path(parent, "flush directory")?;
    }
    Ok(())
}

pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn writes_private_files_and_dirs() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("a/b/c.toml");
        write(&p, b"x = 1\n", Mode::CreateNew).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"x = 1\n");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        assert_eq!(
            fs::metadata(t.path().join("a/b")).unwrap().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn create_new_never_clobbers() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("c.toml");
        write(&p, b"old", Mode::CreateNew).unwrap();
        let err = write(&p, b"new", Mode::CreateNew).unwrap_err();
        assert!(err.message.contains("already exists"));
        assert_eq!(fs::read(&p).unwrap(), b"old");
        write(&p, b"new", Mode::Replace).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        let leftovers: Vec<_> = fs::read_dir(t.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(TEMP_PREFIX)
            })
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn files_written_together_are_all_there_or_none_is() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("d/L1.html");
        let b = t.path().join("d/L1.toml");
        write_together(&[(&a, b"bytes"), (&b, b"record")]).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"bytes");
        assert_eq!(fs::read(&b).unwrap(), b"record");
        assert_eq!(fs::metadata(&b).unwrap().mode() & 0o777, 0o600);
        // One that exists already: nothing is written, the others neither.
        let c = t.path().join("d/L2.html");
        let err = write_together(&[(&c, b"new"), (&b, b"again")]).unwrap_err();
        assert!(err.message.contains("already exists"), "{}", err.message);
        assert!(!c.exists());
        assert_eq!(fs::read(&b).unwrap(), b"record");
        let names: Vec<_> = fs::read_dir(t.path().join("d"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(TEMP_PREFIX))
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }

    #[test]
    fn a_linked_write_creates_or_replaces_whole_private_files_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("P1.txt");
        write_unsynced_linked(&path, b"first", Mode::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write_unsynced_linked(&path, b"second, longer", Mode::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        let err = write_unsynced_linked(&path, b"third", Mode::CreateNew).unwrap_err();
        assert!(err.message.contains("already exists"), "{}", err.message);
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("P1.txt")]);
    }
}
