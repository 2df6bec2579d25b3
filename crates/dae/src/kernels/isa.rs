//! Which instruction set dae's kernels run on, chosen once per process at run time.
//!
//! The kernels ship three paths for every vectorized loop and every GEMM: AVX-512 (16 lanes),
//! AVX2 with FMA (8 lanes) and a portable one. The widest path the processor supports is used,
//! unless the environment variable [`ISA_ENV`] (`DAE_ISA`) names a narrower one: that is how an
//! AVX-512 machine measures what an AVX2-only machine (Zen 2/3, most cloud VMs) gets, and how
//! the tests reach every path the machine has. Asking for a wider path than the processor has
//! is an error, never a crash: [`check_env`] says so before any work starts.
//!
//! The override covers dae's own kernels (the convolutions, the fused linear layers, pooling,
//! SiLU, the graph loss, the Transformer's linear layers and its attention without dropout).
//! Burn's own matrix products (what a model runs outside dae's kernels) pick their path inside
//! the `gemm` crate, by the processor alone.

use std::fmt;
use std::sync::OnceLock;

/// The environment variable that forces a narrower instruction set: `avx512`, `avx2` or
/// `portable` (case-insensitive). Unset or empty: the widest the processor supports.
pub const ISA_ENV: &str = "DAE_ISA";

/// An instruction-set path of the kernels, ordered from narrowest to widest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Plain Rust loops (the compiler's baseline vectorization, SSE2 on x86-64).
    Portable,
    /// 256-bit AVX2 with fused multiply-add (x86-64-v3).
    Avx2,
    /// 512-bit AVX-512F (x86-64-v4).
    Avx512,
}

/// A `DAE_ISA` value that names no path, or one this processor lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsaError {
    /// Not one of the names.
    #[error("{ISA_ENV}={value:?} is not an instruction set; use avx512, avx2 or portable")]
    Unknown {
        /// The value given.
        value: String,
    },
    /// A path wider than the processor supports.
    #[error("{ISA_ENV}={requested} asks for more than this processor has (it supports up to {supported})")]
    Unsupported {
        /// The path asked for.
        requested: Isa,
        /// The widest path the processor has.
        supported: Isa,
    },
}

impl Isa {
    /// Every path, narrowest first.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2, Isa::Avx512];

    /// The name `DAE_ISA` takes and `dae bench` prints.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Parses a `DAE_ISA` value.
    pub fn parse(value: &str) -> Result<Isa, IsaError> {
        Isa::ALL
            .into_iter()
            .find(|isa| isa.name().eq_ignore_ascii_case(value.trim()))
            .ok_or_else(|| IsaError::Unknown {
                value: value.to_string(),
            })
    }

    /// Vector lanes of `f32` per register on this path.
    pub fn f32_lanes(self) -> usize {
        match self {
            Isa::Portable => 1,
            Isa::Avx2 => 8,
            Isa::Avx512 => 16,
        }
    }

    /// The widest path the processor supports.
    pub fn detected() -> Isa {
        static DETECTED: OnceLock<Isa> = OnceLock::new();
        *DETECTED.get_or_init(Isa::probe)
    }

    /// Asks the processor (what [`Isa::detected`] caches).
    fn probe() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// The paths this processor can run, narrowest first (what the tests sweep).
    pub fn supported() -> Vec<Isa> {
        let widest = Isa::detected();
        Isa::ALL.into_iter().filter(|isa| *isa <= widest).collect()
    }

    /// The path in use: [`ISA_ENV`]'s choice, or the widest the processor has when it is unset.
    /// A bad value falls back to the widest path here; [`check_env`], which the binary calls
    /// first, turns it into an error instead.
    pub fn active() -> Isa {
        static ACTIVE: OnceLock<Isa> = OnceLock::new();
        *ACTIVE.get_or_init(|| check_env().unwrap_or_else(|_| Isa::detected()))
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The path [`ISA_ENV`] asks for, checked against the processor. The binary calls this first, so
/// that a bad value is a clear error at start-up.
pub fn check_env() -> Result<Isa, IsaError> {
    let supported = Isa::detected();
    match std::env::var(ISA_ENV) {
        Ok(value) if !value.trim().is_empty() => {
            let requested = Isa::parse(&value)?;
            if requested > supported {
                Err(IsaError::Unsupported {
                    requested,
                    supported,
                })
            } else {
                Ok(requested)
            }
        }
        _ => Ok(supported),
    }
}

/// Defines `fn NAME(isa: Isa, args..) -> R` that runs the `#[inline(always)]` function `BODY`
/// compiled for the instruction set `isa` (capped at what the processor has): the same source
/// loop, vectorized by the compiler 16, 8 or 4 lanes wide. Every path does the same IEEE
/// operations in the same order (Rust never contracts `a * b + c` into an FMA unasked), so all
/// paths give the same bits.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $body:path) => {
        $(#[$meta])*
        $vis fn $name(isa: $crate::kernels::isa::Isa, $($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                match isa.min($crate::kernels::isa::Isa::detected()) {
                    // SAFETY: the processor has AVX-512F (the cap just above).
                    $crate::kernels::isa::Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: the processor has AVX2 and FMA (the cap just above).
                    $crate::kernels::isa::Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::kernels::isa::Isa::Portable => {}
                }
            }
            let _ = isa;
            $body($($arg),*)
        }
    };
}
pub(crate) use multiversion;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_whatever_the_case() {
        for isa in Isa::ALL {
            assert_eq!(Isa::parse(isa.name()), Ok(isa));
            assert_eq!(Isa::parse(&isa.name().to_uppercase()), Ok(isa));
        }
        assert!(matches!(Isa::parse("sse9"), Err(IsaError::Unknown { .. })));
    }

    #[test]
    fn paths_are_ordered_by_width_and_the_supported_ones_end_at_the_detected_one() {
        assert!(Isa::Portable < Isa::Avx2 && Isa::Avx2 < Isa::Avx512);
        let supported = Isa::supported();
        assert_eq!(supported.first(), Some(&Isa::Portable));
        assert_eq!(supported.last(), Some(&Isa::detected()));
        assert!(Isa::active() <= Isa::detected());
    }

    #[test]
    fn an_unsupported_request_names_both_paths() {
        let err = IsaError::Unsupported {
            requested: Isa::Avx512,
            supported: Isa::Avx2,
        };
        let text = err.to_string();
        assert!(
            text.contains("DAE_ISA=avx512") && text.contains("up to avx2"),
            "{text}"
        );
    }
}
