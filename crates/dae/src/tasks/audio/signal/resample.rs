//! Band-limited sample-rate conversion: each output sample is the input convolved with a
//! Kaiser-windowed sinc low-pass centred on the output instant, the classical "bandlimited
//! interpolation" of Smith and Gossett (1984), the method of `resampy` and (with another window)
//! `torchaudio.functional.resample`.
//!
//! The cutoff sits just under the lower of the two Nyquist frequencies ([`ROLLOFF`] of it), so
//! downsampling removes what the new rate cannot hold instead of folding it back as aliases,
//! and upsampling adds nothing above the old Nyquist frequency.

/// Zero crossings of the sinc kept on each side of the centre: the filter's length, and with
/// it the sharpness of the cutoff (about 32 crossings gives a transition band of a few percent
/// of the Nyquist frequency).
pub const ZERO_CROSSINGS: usize = 32;

/// The cutoff as a fraction of the lower Nyquist frequency: the transition band ends near
/// Nyquist instead of starting there, trading the top 3 % of the band for little aliasing.
pub const ROLLOFF: f64 = 0.97;

/// The Kaiser window's shape parameter: about 80 dB of stopband attenuation.
pub const KAISER_BETA: f64 = 8.0;

/// The most filter phases precomputed as a table (`to / gcd(from, to)` of them); rates with
/// more (16000 to 44101 Hz, say) compute each output's taps as they go, slower but the same.
const MAX_TABLE_PHASES: u64 = 4096;

/// `x` sampled at `from` Hz, converted to `to` Hz: `round(len * to / from)` samples, output
/// sample `m` taken at input instant `m * from / to` (samples outside `x` count as zero). The
/// same slice when the rates are equal, empty when either rate is 0 (callers refuse those
/// rates: nothing here does). The output length follows the rates, so a caller converting
/// untrusted audio checks the length it implies first.
pub fn resample(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to {
        return x.to_vec();
    }
    if from == 0 || to == 0 || x.is_empty() {
        return Vec::new();
    }
    let g = gcd(u64::from(from), u64::from(to));
    // Output m sits at input position m * step / phases: an integer part and phase / phases.
    let (step, phases) = (u64::from(from) / g, u64::from(to) / g);
    let out_len =
        ((x.len() as u128 * u128::from(to) + u128::from(from) / 2) / u128::from(from)) as usize;
    // The filter's cutoff in cycles per input sample, doubled (1 = the input's Nyquist).
    let ratio = (f64::from(to) / f64::from(from)).min(1.0) * ROLLOFF;
    let half_width = ZERO_CROSSINGS as f64 / ratio;
    // Taps n0 - K + 1 ..= n0 + K around the integer part n0 cover every |t - n| <= half_width.
    let k = half_width.ceil() as usize;
    let taps = 2 * k;
    let kernel = Kernel::new(ratio, half_width);
    let coefficients = |phase: u64, out: &mut [f64]| {
        let frac = phase as f64 / phases as f64;
        for (j, c) in out.iter_mut().enumerate() {
            // Tap j is input n0 - K + 1 + j, at distance t - n = frac + K - 1 - j.
            *c = kernel.at(frac + (k as f64 - 1.0) - j as f64);
        }
    };
    let table: Option<Vec<f64>> = (phases <= MAX_TABLE_PHASES).then(|| {
        let mut t = vec![0.0; phases as usize * taps];
        for (p, row) in t.chunks_mut(taps).enumerate() {
            coefficients(p as u64, row);
        }
        t
    });
    let mut scratch = vec![0.0; taps];
    let mut y = Vec::with_capacity(out_len);
    for m in 0..out_len as u64 {
        // In u128: m * step reaches len * to / gcd, past u64 for long inputs at odd rates.
        let position = u128::from(m) * u128::from(step);
        let phase = (position % u128::from(phases)) as u64;
        let n0 = (position / u128::from(phases)) as i64;
        let row: &[f64] = match &table {
            Some(t) => &t[phase as usize * taps..(phase as usize + 1) * taps],
            None => {
                coefficients(phase, &mut scratch);
                &scratch
            }
        };
        let first = n0 - k as i64 + 1;
        // Only the taps that land inside x contribute (the rest multiply zeros).
        let lo = (-first).max(0) as usize;
        let hi = ((x.len() as i64 - first).max(0) as usize).min(taps);
        let mut acc = 0.0f64;
        for j in lo..hi {
            acc += row[j] * f64::from(x[(first + j as i64) as usize]);
        }
        y.push(acc as f32);
    }
    y
}

/// The windowed-sinc impulse response at a distance in input samples.
struct Kernel {
    ratio: f64,
    half_width: f64,
    i0_beta: f64,
}

impl Kernel {
    fn new(ratio: f64, half_width: f64) -> Kernel {
        Kernel {
            ratio,
            half_width,
            i0_beta: bessel_i0(KAISER_BETA),
        }
    }

    /// `ratio * sinc(ratio * tau) * kaiser(tau / half_width)`: the ideal low-pass at the cutoff,
    /// scaled so its DC gain is 1, tapered to zero at `half_width`.
    fn at(&self, tau: f64) -> f64 {
        let r = tau / self.half_width;
        if r.abs() >= 1.0 {
            return 0.0;
        }
        let window = bessel_i0(KAISER_BETA * (1.0 - r * r).sqrt()) / self.i0_beta;
        let arg = std::f64::consts::PI * self.ratio * tau;
        let sinc = if arg.abs() < 1e-12 {
            1.0
        } else {
            arg.sin() / arg
        };
        self.ratio * sinc * window
    }
}

/// The modified Bessel function of the first kind, order 0, by its power series (which
/// converges quickly for the arguments a Kaiser window uses, at most beta).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, q) = (1.0f64, 1.0f64, x * x / 4.0);
    for k in 1..200 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < 1e-16 * sum {
            break;
        }
    }
    sum
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
#[path = "resample_tests.rs"]
mod tests;
