//! Performance facts of the process: the CPU thread count and peak memory.

use crate::{Error, Result};

/// Sets the number of CPU threads the tensor kernels use, for the rest of the process.
///
/// Burn's `flex` backend and its GEMM run on rayon's global pool, so this must be called before
/// the first tensor operation; a second call fails.
pub fn set_threads(threads: usize) -> Result<()> {
    if threads == 0 {
        return Err(Error::Config("--threads must be at least 1".into()));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| Error::Config(format!("cannot set --threads {threads}: {e}")))
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
    fn vm_hwm_is_parsed_in_bytes() {
        let status = "Name:\tdae\nVmPeak:\t  200 kB\nVmHWM:\t   1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(1234 * 1024));
        assert_eq!(parse_vm_hwm("Name:\tdae\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM:\t12 MB\n"), None);
    }
}
