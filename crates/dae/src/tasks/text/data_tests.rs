use super::*;
use crate::tasks::text::tokenizer::TokenizerKind;

#[test]
fn embedded_bible_splits_by_book() {
    let s = load_default_text().unwrap();
    assert_eq!(s.train.len(), KJV_TRAIN_LINES);
    assert_eq!(s.val.len(), 31_102 - KJV_TRAIN_LINES);
    assert!(s.train[0].starts_with("In the beginning God created"));
    // Acts 28:31 closes the training part; Romans 1:1 opens the held-out part.
    assert!(s.train.last().unwrap().contains("Lord Jesus Christ"));
    assert!(s.val[0].starts_with("Paul, a servant of Jesus Christ"));
}

#[test]
fn reads_files_dirs_and_gzip_and_rejects_bad_text() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("b.txt"), "two\n\n  \nthree  \n").unwrap();
    std::fs::create_dir(p("sub")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, b"one\n").unwrap();
    std::fs::write(p("sub/c.txt.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(p(".hidden"), [0xff]).unwrap();
    assert_eq!(read_lines(dir.path()).unwrap(), ["two", "three", "one"]);
    let s = load_text(dir.path()).unwrap();
    assert_eq!((s.train.len(), s.val,), (2, vec!["one".to_string()]));

    std::fs::write(p("bad.txt"), b"ok\n\xc3\x28oops").unwrap();
    let e = read_lines(&p("bad.txt")).unwrap_err().to_string();
    assert!(
        e.contains("bad.txt") && e.contains("not UTF-8") && e.contains("offset 3"),
        "{e}"
    );
    std::fs::write(p("empty.txt"), " \n\n").unwrap();
    let e = read_lines(&p("empty.txt")).unwrap_err().to_string();
    assert!(e.contains("empty corpus"), "{e}");
    std::fs::write(p("one.txt"), "just one line\n").unwrap();
    assert!(load_text(&p("one.txt"))
        .unwrap_err()
        .to_string()
        .contains("at least 2"));
}

#[test]
#[cfg(unix)]
fn a_symlink_loop_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("a.txt"), "alpha\nbeta\n").unwrap();
    // sub/loop -> .. and sub/self -> . : without the check the walk never ends.
    std::os::unix::fs::symlink(dir.path(), sub.join("loop")).unwrap();
    std::os::unix::fs::symlink(&sub, sub.join("self")).unwrap();
    assert_eq!(read_lines(dir.path()).unwrap(), ["alpha", "beta"]);
    // A device is not a regular file: skipped, not read forever.
    std::os::unix::fs::symlink("/dev/zero", sub.join("zero.txt")).unwrap();
    assert_eq!(read_lines(dir.path()).unwrap(), ["alpha", "beta"]);
}

#[test]
fn reading_stops_one_byte_past_the_limit() {
    let text = b"0123456789".repeat(10);
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, &text).unwrap();
        e.finish().unwrap()
    };
    for bytes in [&text[..], &gz[..]] {
        let p = Path::new("t");
        assert_eq!(read_bounded(bytes, p, 100).unwrap().unwrap(), text);
        assert_eq!(read_bounded(bytes, p, 99).unwrap(), None);
    }
    // An endless source is read only to the limit.
    assert_eq!(
        read_bounded(std::io::repeat(b'x'), Path::new("t"), 1 << 20).unwrap(),
        None
    );
    let e = too_much(Path::new("corpus")).to_string();
    assert!(
        e.contains("corpus") && e.contains("DAE_MAX_INPUT_BYTES"),
        "{e}"
    );
}

#[test]
fn sequences_are_cut_from_the_joined_stream() {
    let lines = vec!["abc".to_string(), "de".to_string()];
    let tok = Tokenizer::fit(TokenizerKind::Char, &lines, 0).unwrap();
    // a b c \n d e: 6 tokens -> two sequences of 3, or one of 4 with the tail dropped.
    let s = sequences(&tok, &lines, 3, "x").unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(tok.decode(s.get(1)), "\nde");
    assert_eq!(sequences(&tok, &lines, 4, "x").unwrap().len(), 1);
    let e = sequences(&tok, &lines, 7, "held-out text")
        .unwrap_err()
        .to_string();
    assert!(e.contains("held-out text has 6 tokens"), "{e}");
    let short = eval_sequences(&tok, &lines, 10);
    assert_eq!((short.len(), short.seq_len), (1, 6));
    assert_eq!(eval_sequences(&tok, &lines, 4).len(), 1);
    let counts = token_counts(&s, tok.vocab_size());
    assert_eq!(counts.iter().sum::<u64>(), 6);
}
