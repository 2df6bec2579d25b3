use super::*;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn recording(speaker: &str, name: &str, len: usize) -> Recording {
    Recording {
        speaker: speaker.into(),
        name: name.into(),
        samples: vec![0.5; len],
    }
}

#[test]
fn speakers_come_from_folders_then_fsdd_names_then_files() {
    assert_eq!(speaker_of("alice/take1.wav"), "alice");
    assert_eq!(speaker_of("7_theo_31.wav"), "theo");
    assert_eq!(speaker_of("street noise.wav"), "street noise");
    assert_eq!(speaker_of("a_b.wav"), "a_b");
}

#[test]
fn default_split_holds_out_the_last_speakers_and_named_ones_win() {
    let all = names(&["a", "b", "c", "d"]);
    let split = split_speakers(&all, &[], &[]).unwrap();
    assert_eq!(split.test, names(&["d"]));
    assert_eq!(split.val, names(&["c"]));
    assert_eq!(split.train, names(&["a", "b"]));
    let split = split_speakers(&all, &names(&["a"]), &names(&["b"])).unwrap();
    assert_eq!((split.val, split.test), (names(&["a"]), names(&["b"])));
    assert_eq!(split.train, names(&["c", "d"]));
    let split = split_speakers(&all, &[], &names(&["d", "a"])).unwrap();
    assert_eq!(split.val, names(&["c"]));
    assert_eq!(split.train, names(&["b"]));
    for (val, test, says) in [
        (vec![], vec!["zed"], "speaker `zed` is not in the data"),
        (vec!["a"], vec!["a"], "both validation and test"),
        (vec!["a", "b"], vec!["c", "d"], "at least three"),
    ] {
        let e = split_speakers(&all, &names(&val), &names(&test)).unwrap_err();
        assert!(e.to_string().contains(says), "{e}");
    }
    let e = split_speakers(&names(&["a", "b"]), &[], &[]).unwrap_err();
    assert!(e.to_string().contains("the data has 2: a, b"), "{e}");
}

#[test]
fn clips_join_recordings_of_one_speaker_and_keep_every_sample() {
    let recs = [
        recording("a", "1", 30),
        recording("a", "2", 30),
        recording("a", "3", 30),
        recording("a", "4", 10),
        recording("b", "1", 20),
    ];
    let refs: Vec<&Recording> = recs.iter().collect();
    let lens: Vec<usize> = joined_clips(&refs, 50).iter().map(Vec::len).collect();
    // a: 30+30 reaches 50; the remaining 30+10 is short and joins that clip. b's only
    // recording is short but is a clip of its own (never joined across speakers).
    assert_eq!(lens, vec![100, 20]);
    assert_eq!(concatenate(&refs).len(), 120);
}

#[test]
fn the_embedded_subset_has_six_speakers_at_8_khz() {
    let data = load(None, None).unwrap();
    assert_eq!(data.sample_rate, 8000);
    assert_eq!(data.recordings.len(), 470);
    let speakers = data.speakers();
    assert_eq!(speakers.len(), 6);
    let split = split_speakers(&speakers, &[], &[]).unwrap();
    assert_eq!(split.test, names(&["yweweler"]));
    assert_eq!(split.val, names(&["theo"]));
    assert!(data
        .recordings
        .iter()
        .all(|r| r.samples.iter().all(|v| v.abs() <= 1.0)));
}

#[test]
fn folders_refuse_mixed_rates_unless_told_to_resample() {
    let dir = tempfile::tempdir().unwrap();
    let tone: Vec<f32> = (0..1600).map(|i| (i as f32 * 0.3).sin() * 0.5).collect();
    super::super::signal::wav::write_wav(&dir.path().join("0_a_0.wav"), 8000, &tone).unwrap();
    super::super::signal::wav::write_wav(&dir.path().join("0_b_0.wav"), 16000, &tone).unwrap();
    let e = load(Some(dir.path()), None).unwrap_err().to_string();
    assert!(
        e.contains("8000 Hz") && e.contains("16000 Hz") && e.contains("--sample-rate"),
        "{e}"
    );
    let data = load(Some(dir.path()), Some(8000)).unwrap();
    assert_eq!(data.recordings[1].samples.len(), 800);
    let empty = tempfile::tempdir().unwrap();
    let e = load(Some(empty.path()), None).unwrap_err().to_string();
    assert!(e.contains("holds no WAV files"), "{e}");
}

#[test]
fn tar_entries_refuse_a_truncated_archive() {
    let entries = tar_entries(FSDD_SUBSET).unwrap();
    assert_eq!(entries.len(), 470);
    let cut = &FSDD_SUBSET[..600];
    assert!(tar_entries(cut)
        .unwrap_err()
        .to_string()
        .contains("runs past the end"));
}
