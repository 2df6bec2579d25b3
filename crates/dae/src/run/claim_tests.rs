use super::*;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

fn write_config(run: &RunDir) -> Result<()> {
    run.write_config(&serde_json::json!({"epochs": 1}))
}

#[test]
fn a_new_run_appears_whole_and_locked_then_unlocked() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path().join("runs").join("a"));
    let lock = run.create_new(write_config).unwrap();
    assert_eq!(names(&run.root), [".lock", "config.json"]);
    assert_eq!(
        names(&dir.path().join("runs")),
        ["a"],
        "no staging folder left"
    );
    let e = run.lock().unwrap_err().to_string();
    assert!(e.contains(&std::process::id().to_string()), "{e}");
    drop(lock);
    assert_eq!(names(&run.root), ["config.json"]);
    drop(run.lock().unwrap());
}

#[test]
fn only_a_missing_or_empty_folder_becomes_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let empty = RunDir::new(dir.path().join("empty"));
    std::fs::create_dir(&empty.root).unwrap();
    drop(empty.create_new(write_config).unwrap());

    let e = empty.create_new(write_config).unwrap_err().to_string();
    assert!(
        e.contains("already holds a run") && e.contains("--resume"),
        "{e}"
    );

    let other = RunDir::new(dir.path().join("photos"));
    std::fs::create_dir(&other.root).unwrap();
    std::fs::write(other.root.join("cat.png"), b"x").unwrap();
    let e = other.create_new(write_config).unwrap_err().to_string();
    assert!(e.contains("not empty") && e.contains("photos"), "{e}");
    assert_eq!(names(&other.root), ["cat.png"], "left as it was");

    let file = RunDir::new(dir.path().join("file"));
    std::fs::write(&file.root, b"x").unwrap();
    let e = file.create_new(write_config).unwrap_err().to_string();
    assert!(e.contains("not a folder"), "{e}");
}

#[test]
fn a_failed_start_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path().join("a"));
    let e = run
        .create_new(|staging| {
            write_config(staging)?;
            Err(Error::Config("the data is bad".into()))
        })
        .unwrap_err();
    assert!(e.to_string().contains("the data is bad"));
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

#[test]
fn the_lock_of_a_dead_process_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    // Linux process ids stay below 2^22: this one names no process.
    for stale in [format!("{}", 1u32 << 30), "".into(), "garbage".into()] {
        std::fs::write(dir.path().join(LOCK_FILE), &stale).unwrap();
        let lock = RunLock::acquire(dir.path()).unwrap();
        let holder = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert_eq!(holder, std::process::id().to_string());
        drop(lock);
    }
}

#[test]
fn staging_folders_of_dead_processes_are_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let dead = format!(".a.{}.tmp", 1u32 << 30);
    std::fs::create_dir(dir.path().join(&dead)).unwrap();
    std::fs::create_dir(dir.path().join(".b.12.tmp")).unwrap();
    drop(
        RunDir::new(dir.path().join("a"))
            .create_new(write_config)
            .unwrap(),
    );
    assert_eq!(names(dir.path()), [".b.12.tmp", "a"]);
}
