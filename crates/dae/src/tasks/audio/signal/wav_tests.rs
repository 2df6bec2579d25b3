use super::*;

/// The fields of a `fmt ` chunk, written as given so that tests can build inconsistent ones.
#[derive(Clone, Copy)]
struct Fmt {
    tag: u16,
    channels: u16,
    rate: u32,
    block_align: u16,
    bits: u16,
    /// `Some((valid_bits, sub_tag))` writes a 40-byte `WAVE_FORMAT_EXTENSIBLE` chunk.
    extensible: Option<(u16, u16)>,
}

impl Fmt {
    fn plain(tag: u16, channels: u16, rate: u32, bits: u16) -> Fmt {
        Fmt {
            tag,
            channels,
            rate,
            block_align: channels * bits / 8,
            bits,
            extensible: None,
        }
    }
}

/// A RIFF/WAVE file: the `fmt ` chunk of `f`, a data chunk header declaring `declared` bytes,
/// then `data` (which may be shorter or longer than declared).
fn wav_file(f: Fmt, declared: u32, data: &[u8]) -> Vec<u8> {
    let mut fmt = Vec::new();
    let tag = if f.extensible.is_some() {
        0xfffe
    } else {
        f.tag
    };
    fmt.extend_from_slice(&tag.to_le_bytes());
    fmt.extend_from_slice(&f.channels.to_le_bytes());
    fmt.extend_from_slice(&f.rate.to_le_bytes());
    fmt.extend_from_slice(&(u32::from(f.block_align) * f.rate).to_le_bytes());
    fmt.extend_from_slice(&f.block_align.to_le_bytes());
    fmt.extend_from_slice(&f.bits.to_le_bytes());
    if let Some((valid, sub)) = f.extensible {
        fmt.extend_from_slice(&22u16.to_le_bytes());
        fmt.extend_from_slice(&valid.to_le_bytes());
        fmt.extend_from_slice(&0u32.to_le_bytes());
        fmt.extend_from_slice(&sub.to_le_bytes());
        fmt.extend_from_slice(&[
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
        ]);
    }
    let mut out = b"RIFF".to_vec();
    let riff_len = 4 + 8 + fmt.len() as u32 + 8 + data.len() as u32;
    out.extend_from_slice(&riff_len.to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(&fmt);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&declared.to_le_bytes());
    out.extend_from_slice(data);
    out
}

fn pcm16(channels: u16, rate: u32, samples: &[i16]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    wav_file(Fmt::plain(1, channels, rate, 16), data.len() as u32, &data)
}

fn read(bytes: &[u8]) -> Result<Wav> {
    read_wav_bytes(bytes, Path::new("t.wav"))
}

/// The reason of a format error (panics on success or on another error kind).
fn reason(bytes: &[u8]) -> String {
    match read(bytes) {
        Err(Error::Format { path, reason }) => {
            assert_eq!(path, Path::new("t.wav"));
            reason
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn sixteen_bit_mono_is_scaled_by_two_to_the_fifteen() {
    let w = read(&pcm16(1, 8000, &[0, 16384, -32768, 32767])).unwrap();
    assert_eq!((w.sample_rate, w.channels), (8000, 1));
    assert_eq!(w.samples, vec![0.0, 0.5, -1.0, 32767.0 / 32768.0]);
}

#[test]
fn stereo_is_averaged_to_mono() {
    let w = read(&pcm16(2, 16000, &[16384, 0, -16384, -16384, 8192, 24576])).unwrap();
    assert_eq!(w.channels, 2);
    assert_eq!(w.samples, vec![0.25, -0.5, 0.5]);
}

#[test]
fn eight_24_and_32_bit_integers_and_32_bit_floats_are_read() {
    // 8-bit WAV is unsigned: 128 is silence, 0 is -1.
    let w = read(&wav_file(Fmt::plain(1, 1, 8000, 8), 3, &[128, 0, 192])).unwrap();
    assert_eq!(w.samples, vec![0.0, -1.0, 0.5]);
    let data = [0x00, 0x00, 0x40, 0x00, 0x00, 0x80]; // 2^22 and -2^23, little-endian 24-bit
    let w = read(&wav_file(Fmt::plain(1, 1, 8000, 24), 6, &data)).unwrap();
    assert_eq!(w.samples, vec![0.5, -1.0]);
    let data: Vec<u8> = [1i32 << 29, i32::MIN]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let w = read(&wav_file(Fmt::plain(1, 1, 8000, 32), 8, &data)).unwrap();
    assert_eq!(w.samples, vec![0.25, -1.0]);
    let data: Vec<u8> = [0.75f32, -1.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let w = read(&wav_file(Fmt::plain(3, 1, 8000, 32), 8, &data)).unwrap();
    assert_eq!(w.samples, vec![0.75, -1.5], "floats are kept as stored");
    // The same floats behind an extensible header.
    let mut f = Fmt::plain(3, 1, 8000, 32);
    f.extensible = Some((32, 3));
    assert_eq!(
        read(&wav_file(f, 8, &data)).unwrap().samples,
        vec![0.75, -1.5]
    );
}

#[test]
fn garbage_and_truncated_headers_are_refused() {
    assert!(reason(b"").contains("not a WAV file"));
    assert!(reason(b"ID3\x04 definitely an mp3 file").contains("not a WAV file"));
    let good = pcm16(1, 8000, &[1, 2, 3]);
    for cut in [12, 20, 36, 40] {
        let r = reason(&good[..cut]);
        assert!(r.starts_with("truncated header"), "{cut} bytes: {r}");
    }
}

#[test]
fn zero_channels_and_zero_hertz_are_refused() {
    let mut f = Fmt::plain(1, 1, 8000, 16);
    f.channels = 0;
    assert_eq!(
        reason(&wav_file(f, 2, &[0, 0])),
        "the header declares 0 channels"
    );
    let r = reason(&wav_file(Fmt::plain(1, 1, 0, 16), 2, &[0, 0]));
    assert_eq!(r, "the header declares a sample rate of 0 Hz");
}

#[test]
fn sixty_four_bit_floats_are_refused_by_name() {
    let data = 0.5f64.to_le_bytes();
    assert_eq!(
        reason(&wav_file(Fmt::plain(3, 1, 8000, 64), 8, &data)),
        FLOAT64
    );
    let mut f = Fmt::plain(3, 1, 8000, 64);
    f.extensible = Some((64, 3));
    assert_eq!(reason(&wav_file(f, 8, &data)), FLOAT64);
}

#[test]
fn other_encodings_are_refused_by_name() {
    // mu-law (tag 7): hound reads no compressed formats.
    let r = reason(&wav_file(Fmt::plain(7, 1, 8000, 8), 2, &[1, 2]));
    assert!(
        r.starts_with("unsupported encoding (format tag 0x0007)"),
        "{r}"
    );
    // 12 valid bits in a 2-byte container: a layout hound cannot decode.
    let mut f = Fmt::plain(1, 1, 8000, 16);
    f.extensible = Some((12, 1));
    let r = reason(&wav_file(f, 4, &[0, 0, 0, 0]));
    assert!(r.starts_with("12-bit integer WAV is not supported"), "{r}");
    // 16 bits in a 4-byte container (block align 4, mono).
    let mut f = Fmt::plain(1, 1, 8000, 16);
    f.block_align = 4;
    let r = reason(&wav_file(f, 8, &[0; 8]));
    assert!(
        r.starts_with("unsupported sample layout: 16-bit samples stored in 4-byte"),
        "{r}"
    );
}

#[test]
fn a_truncated_data_chunk_names_the_declared_and_found_counts() {
    // Stereo 16-bit: 4 bytes a frame; 1000 frames declared, 10 frames and 2 bytes present.
    let r = reason(&wav_file(Fmt::plain(1, 2, 8000, 16), 4000, &[0; 42]));
    assert_eq!(
        r,
        "truncated data chunk: the header declares 1000 samples per channel (4000 bytes) but \
         the file holds 10 (42 bytes)"
    );
    // A length far beyond the file (100 million samples, under the sample limit) is refused
    // from the header, before anything of that size is reserved.
    let r = reason(&wav_file(Fmt::plain(1, 1, 8000, 16), 200_000_000, &[0; 8]));
    assert!(
        r.starts_with("truncated data chunk: the header declares 100000000"),
        "{r}"
    );
    assert!(r.ends_with("holds 4 (8 bytes)"), "{r}");
    // The length a streaming writer leaves (0xFFFFFFFF) is not a whole number of 16-bit samples.
    let r = reason(&wav_file(Fmt::plain(1, 1, 8000, 16), u32::MAX, &[0; 8]));
    assert!(r.starts_with("malformed header: "), "{r}");
}

#[test]
fn a_huge_declared_length_in_a_small_file_is_refused_before_reading() {
    // 8-bit mono declaring 200 million samples (above the default 2^27) in a tiny file: the
    // truncation is what is wrong with it, and nothing is allocated for the declared length.
    let r = reason(&wav_file(Fmt::plain(1, 1, 8000, 8), 200_000_000, &[128; 4]));
    assert!(
        r.contains("the header declares 200000000 samples per channel"),
        "{r}"
    );
}

#[test]
fn empty_audio_and_non_finite_samples_are_refused() {
    assert_eq!(
        reason(&pcm16(1, 8000, &[])),
        "no audio: the data chunk holds 0 samples"
    );
    let data: Vec<u8> = [0.5f32, f32::NAN]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let r = reason(&wav_file(Fmt::plain(3, 1, 8000, 32), 8, &data));
    assert_eq!(r, "sample 1 is not a finite number (NaN)");
}

#[test]
fn trailing_chunks_after_the_data_are_ignored() {
    let mut bytes = pcm16(1, 8000, &[16384]);
    bytes.extend_from_slice(b"LIST\x04\x00\x00\x00abcd");
    assert_eq!(read(&bytes).unwrap().samples, vec![0.5]);
}

#[test]
fn no_prefix_or_single_byte_corruption_panics() {
    // Every prefix and every header byte set to a few extreme values: each must return, either
    // way, without a panic (the fuzz target explores far more; this keeps the quick suite honest).
    let good = pcm16(2, 8000, &[1, -1, 300, -300, 32767, -32768]);
    for cut in 0..good.len() {
        let _ = read(&good[..cut]);
    }
    for at in 0..44 {
        for v in [0u8, 1, 2, 3, 4, 0x7f, 0x80, 0xfe, 0xff] {
            let mut bytes = good.clone();
            bytes[at] = v;
            if let Ok(w) = read(&bytes) {
                assert!(!w.samples.is_empty() && w.sample_rate > 0 && w.channels > 0);
            }
        }
    }
}

#[test]
fn written_files_read_back_clipped_and_rounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    let x = [
        0.0f32,
        0.5,
        -0.25,
        2.0,
        -3.0,
        1.0 / 32768.0,
        0.4 / 32768.0,
        f32::NAN,
    ];
    write_wav(&path, 16000, &x).unwrap();
    let w = read_wav(&path).unwrap();
    assert_eq!((w.sample_rate, w.channels), (16000, 1));
    let max = 32767.0 / 32768.0;
    assert_eq!(
        w.samples,
        vec![0.0, 0.5, -0.25, max, -1.0, 1.0 / 32768.0, 0.0, 0.0]
    );
    // Atomic: no temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.wav")]);
    let e = write_wav(&path, 0, &x).unwrap_err().to_string();
    assert!(e.contains("0 Hz"), "{e}");
}

#[test]
fn a_missing_file_is_an_io_error() {
    let e = read_wav(Path::new("/nonexistent/x.wav")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
}
