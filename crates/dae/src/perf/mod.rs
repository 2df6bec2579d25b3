//! Performance facts of the process: the CPU thread count and peak memory.

use crate::{Error, Result};

/// The most kernel threads [`set_threads`] accepts: each one reserves a stack, and beyond the
/// cores there are only switches to pay for; a huge `--threads` would abort on thread creation.
pub const MAX_THREADS: usize = 1024;

/// Sets the number of CPU threads the tensor kernels use, for the rest of the process.
///
/// Burn's `flex` backend and its GEMM run on rayon's global pool, so this must be called before
/// the first tensor operation; a second call fails.
pub fn set_threads(threads: usize) -> Result<()> {
    if threads == 0 {
        return Err(Error::Config("--threads must be at least 1".into()));
    }
    if threads > MAX_THREADS {
        return Err(Error::Config(format!(
            "--threads {threads} is more than the {MAX_THREADS} threads dae runs (this machine \
             has {} cores)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        )));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| Error::Config(format!("cannot set --threads {threads}: {e}")))
}

/// Runs `f` on a thread of the kernels' pool (rayon's global pool), waiting for it, and returns
/// what it returns; called from a pool thread, it runs `f` in place.
///
/// A parallel kernel called from a thread outside the pool hands all its blocks to the pool and
/// sleeps until they are done: for every operation a pool thread to wake, then the caller. A
/// training step runs dozens of them (each layer's forward, input and weight gradients, the
/// optimizer's update). On a pool thread the same kernel runs one block itself while idle pool
/// threads take the others, and nothing sleeps waiting for them. The MLP's epoch on two threads
/// took 10% less time this way (BENCHMARKS.md, issue 19, session 19).
pub fn on_kernel_threads<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

/// The number of threads the tensor kernels use now.
pub fn current_threads() -> usize {
    rayon::current_num_threads()
}

/// The process's peak resident memory in bytes (`VmHWM` of `/proc/self/status`), where the
/// operating system reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

/// The `VmHWM:` line of a `/proc/<pid>/status` text, in bytes.
fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut parts = line["VmHWM:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") => Some(value * 1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_counts_beyond_the_bound_are_refused_before_any_pool_is_built() {
        // Refused before rayon is asked, so the global pool stays unset for the other tests.
        for n in [0, MAX_THREADS + 1, usize::MAX] {
            let e = set_threads(n).unwrap_err().to_string();
            assert!(e.contains("--threads"), "{e}");
        }
    }

    #[test]
    fn vm_hwm_is_parsed_in_bytes() {
        let status = "Name:\tdae\nVmPeak:\t  200 kB\nVmHWM:\t   1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(1234 * 1024));
        assert_eq!(parse_vm_hwm("Name:\tdae\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM:\t12 MB\n"), None);
    }
}
