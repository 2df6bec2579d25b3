//! Claiming a run directory for training: a new run appears in one step, and one process at a time
//! writes to a run.
//!
//! A new run is assembled in a hidden staging folder beside its destination
//! (`.NAME.PID.tmp`), with its lock, its config and its first files, and renamed into place:
//! a run directory either does not exist or holds a complete start, and of two processes starting
//! a run at the same destination one succeeds and the other is told so. While it trains, the
//! writer holds `.lock` (its process id inside); a second writer is refused, and the lock of a
//! process that died (no such process any more) is taken over.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::RunDir;
use crate::fsio::{parent_of, process_alive, sync_dir};
use crate::{Error, Result};

/// The lock file of a run directory.
const LOCK_FILE: &str = ".lock";

/// The lock of the one process writing a run; removed when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Best effort: a lock left behind names a dead process, which the next writer detects.
        let _ = std::fs::remove_file(&self.path);
    }
}

impl RunLock {
    /// Takes the lock of the run directory `root` (which must exist), taking over a lock whose
    /// process is gone; errors if a live process holds it.
    pub fn acquire(root: &Path) -> Result<RunLock> {
        let path = root.join(LOCK_FILE);
        // Twice at most: the second try follows the removal of a dead process's lock.
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    let lock = RunLock { path: path.clone() };
                    write!(file, "{}", std::process::id())
                        .and_then(|()| file.sync_all())
                        .map_err(|e| Error::io(&path, e))?;
                    return Ok(lock);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse::<u32>().ok());
                    match holder {
                        Some(pid) if pid == std::process::id() || process_alive(pid) => {
                            return Err(Error::Config(format!(
                                "{} is being written by process {pid} (its lock file {}); wait \
                                 for it to finish or stop it",
                                root.display(),
                                path.display()
                            )))
                        }
                        // A dead holder, or a lock its writer died before filling in.
                        _ => match std::fs::remove_file(&path) {
                            Ok(()) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                            Err(e) => return Err(Error::io(&path, e)),
                        },
                    }
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Err(Error::Config(format!(
            "{}: another process took the lock at the same time",
            path.display()
        )))
    }
}

impl RunDir {
    /// Creates this run directory holding what `fill` writes into it (at least `config.json`),
    /// locked for the caller: assembled in a staging folder and renamed into place. Refuses a
    /// destination that holds a run, or anything else: only a missing or empty folder becomes a
    /// run. Nothing is left behind on an error.
    pub fn create_new(&self, fill: impl FnOnce(&RunDir) -> Result<()>) -> Result<RunLock> {
        self.check_free()?;
        let name = self.root.file_name().ok_or_else(|| {
            Error::Config(format!(
                "{}: not a folder name for a run",
                self.root.display()
            ))
        })?;
        let parent = parent_of(&self.root);
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        remove_dead_staging(parent, &name.to_string_lossy())?;
        let mut staging_name = std::ffi::OsString::from(".");
        staging_name.push(name);
        staging_name.push(format!(".{}.tmp", std::process::id()));
        let staging = RunDir::new(parent.join(staging_name));
        let built = std::fs::create_dir(&staging.root)
            .map_err(|e| Error::io(&staging.root, e))
            .and_then(|()| {
                let lock = RunLock::acquire(&staging.root)?;
                fill(&staging)?;
                sync_dir(&staging.root)?;
                std::fs::rename(&staging.root, &self.root).map_err(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::DirectoryNotEmpty => {
                        Error::Config(format!(
                            "{} was filled by another process while this run was being set up; \
                             choose another --out",
                            self.root.display()
                        ))
                    }
                    _ => Error::io(&self.root, e),
                })?;
                Ok(lock)
            });
        match built {
            Ok(mut lock) => {
                lock.path = self.root.join(LOCK_FILE);
                sync_dir(parent)?;
                Ok(lock)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging.root);
                Err(e)
            }
        }
    }

    /// Locks an existing run for the caller and clears the temporary files that killed writers
    /// left in it.
    pub fn lock(&self) -> Result<RunLock> {
        let lock = RunLock::acquire(&self.root)?;
        crate::fsio::remove_stale_temporaries(&self.root)?;
        crate::fsio::remove_stale_temporaries(&self.checkpoint_dir())?;
        Ok(lock)
    }

    /// Errors unless the run's folder is missing or empty, saying what is there instead.
    fn check_free(&self) -> Result<()> {
        let root = &self.root;
        let mut entries = match std::fs::read_dir(root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) if root.exists() && !root.is_dir() => {
                return Err(Error::Config(format!(
                    "{} exists and is not a folder; choose another --out",
                    root.display()
                )))
            }
            Err(e) => return Err(Error::io(root, e)),
        };
        if entries.next().is_none() {
            return Ok(());
        }
        Err(Error::Config(if self.config().exists() {
            format!(
                "{} already holds a run; use --resume to continue it or choose another --out",
                root.display()
            )
        } else {
            format!(
                "{} is not empty and holds no dae run; a new run needs a new or empty folder \
                 (choose another --out)",
                root.display()
            )
        }))
    }
}

/// Removes the staging folders of runs named `name` in `parent` whose process is gone.
fn remove_dead_staging(parent: &Path, name: &str) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(());
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(text) = file_name.to_str() else {
            continue;
        };
        // `.NAME.PID.tmp` exactly: the pid must be all that follows the name.
        let dead = text
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp")?.parse::<u32>().ok())
            .is_some_and(|pid| !process_alive(pid));
        if dead && entry.path().is_dir() {
            let path = entry.path();
            std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "claim_tests.rs"]
mod tests;
