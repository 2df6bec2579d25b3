//! Writes the seed corpora of the fuzz targets the shell cannot write by hand (binary formats
//! made by the library or its encoders: IDX, gzip, PNG, burnpack, vocab.json) into
//! `fuzz/corpus/<target>/`. The text seeds (specs, configs) are committed files. Usage, from
//! the repository root: `fuzz/target/x86_64-unknown-linux-gnu/release/seeds fuzz/corpus`.

use std::io::Write;
use std::path::PathBuf;

use dae::run::checkpoint::model_bytes;
use dae::tasks::text::tokenizer::{Tokenizer, TokenizerKind};
use image::{ExtendedColorType, ImageEncoder};
// Built by `cargo fuzz build` with the targets' coverage instrumentation, whose callbacks
// libFuzzer defines: link it although this program does not fuzz.
use libfuzzer_sys as _;

fn main() {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let put = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("creating the corpus folder");
        std::fs::write(dir.join(name), bytes).expect("writing a seed");
    };

    // IDX: the flag byte of idx_raw (even: images only; odd: a 2-byte cut, then images+labels).
    let images = idx(0x0803, &[2, 3, 4]);
    let labels = idx(0x0801, &[2]);
    put("idx_raw", "images", &[&[0u8][..], &images].concat());
    let cut = (images.len() as u16).to_le_bytes();
    put(
        "idx_raw",
        "pair",
        &[&[1u8][..], &cut, &images, &labels].concat(),
    );
    // idx_gz: mode 0 compresses the rest in the target; mode 1 takes a gzip stream after 1f 8b.
    put("idx_gz", "plain", &[&[0u8][..], &images].concat());
    put(
        "idx_gz",
        "stream",
        &[&[1u8][..], &gzip(&images)[2..]].concat(),
    );

    // PNG: 8-bit gray, 16-bit RGB, 8-bit RGBA; a trailing odd byte makes the target write a
    // second file.
    let gray = png(&[0, 64, 128, 255, 1, 2], 3, 2, ExtendedColorType::L8);
    put("png_folder", "gray8.png", &gray);
    put("png_folder", "gray8-twice.png", &[&gray[..], &[1]].concat());
    let rgb16: Vec<u8> = (0..2 * 2 * 3 * 2).map(|i| (i * 37) as u8).collect();
    put(
        "png_folder",
        "rgb16.png",
        &png(&rgb16, 2, 2, ExtendedColorType::Rgb16),
    );
    let rgba: Vec<u8> = (0..2 * 3 * 4).map(|i| (i * 11) as u8).collect();
    put(
        "png_folder",
        "rgba8.png",
        &png(&rgba, 2, 3, ExtendedColorType::Rgba8),
    );

    // Text: a few verses, raw and gzip.
    let text = "In the beginning God created the heaven and the earth.\n\
                And the earth was without form, and void.\n\n\
                And God said, Let there be light: and there was light.\n";
    put("text_corpus", "verses.txt", text.as_bytes());
    put("text_corpus", "verses.txt.gz", &gzip(text.as_bytes()));

    // vocab.json: a character and a BPE tokenizer fitted on those verses, as `Tokenizer::save`
    // writes them.
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let scratch = std::env::temp_dir().join(format!("dae-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("creating a temporary folder");
    for (kind, size, name) in [
        (TokenizerKind::Char, 0, "char.json"),
        (TokenizerKind::Bpe, 48, "bpe.json"),
    ] {
        let tok = Tokenizer::fit(kind, &lines, size).expect("fitting on the verses");
        let path = scratch.join(name);
        tok.save(&path).expect("saving the tokenizer");
        put(
            "vocab_json",
            name,
            &std::fs::read(&path).expect("reading it back"),
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);

    // burnpack: the tiny model the checkpoint target loads into.
    let model = dae_fuzz::Tiny::new(&dae_fuzz::cpu());
    put(
        "checkpoint",
        "tiny.bpk",
        &model_bytes(&model).expect("serializing"),
    );
    println!("seeds written under {}", root.display());
}

/// An IDX file of `u8` elements with `magic` and `dims`, the elements counting up.
fn idx(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    let n: u32 = dims.iter().product();
    v.extend((0..n).map(|i| (i % 256) as u8));
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).expect("writing to memory");
    e.finish().expect("writing to memory")
}

fn png(pixels: &[u8], w: u32, h: u32, color: ExtendedColorType) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(pixels, w, h, color)
        .expect("encoding a PNG");
    out
}
