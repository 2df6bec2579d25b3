//! The PNG folder reader (`dae::tasks::image::data::image_folder::load_image_folder`), which
//! only takes a directory: the input is written as `a.png` in a fresh scratch folder and, when
//! its last byte is odd, also as `b.png` (the second-image path: same size, appended). A folder
//! that loads must hold `len · height · width` values in [0, 1].

#![no_main]

use dae::tasks::image::data::image_folder::load_image_folder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The folder holds only these two names, so overwriting `a.png` and writing or removing
    // `b.png` gives each input a folder of its own files without recreating the folder.
    let dir = dae_fuzz::scratch_dir().join("png");
    std::fs::create_dir_all(&dir).expect("creating the scratch folder");
    std::fs::write(dir.join("a.png"), data).expect("writing to the scratch folder");
    let twice = data.last().is_some_and(|b| b & 1 == 1);
    if twice {
        std::fs::write(dir.join("b.png"), data).expect("writing to the scratch folder");
    } else {
        let _ = std::fs::remove_file(dir.join("b.png"));
    }
    let Ok(set) = load_image_folder(&dir) else {
        return;
    };
    assert_eq!(set.len(), if twice { 2 } else { 1 });
    assert_eq!(set.images.len(), set.len() * set.height * set.width);
    assert!(set.images.iter().all(|v| (0.0..=1.0).contains(v)));
});
