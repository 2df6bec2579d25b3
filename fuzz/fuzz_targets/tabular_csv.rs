//! CSV tables (`dae::tasks::tabular::csv::RawTable::parse`) on hostile bytes: a table that
//! parses must write back to CSV that parses to the same header and fields, and the fitted
//! preprocessing (type detection, standardization, labels) must read every row and write every
//! value back without panicking.

#![no_main]

use dae::tasks::tabular::csv::RawTable;
use dae::tasks::tabular::preprocess::{Preprocess, TypeOverrides};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(table) = RawTable::parse(data) else {
        return;
    };
    assert!(table.rows.len() >= 2, "a table of fewer than 2 rows was accepted");
    assert!(table.rows.iter().all(|r| r.len() == table.header.len()), "a ragged row was kept");
    let again = RawTable::parse(table.to_csv().as_bytes()).expect("written CSV parses");
    assert_eq!((&again.header, &again.rows), (&table.header, &table.rows), "CSV round trip");
    let rows: Vec<usize> = (0..table.rows.len()).collect();
    let Ok(p) = Preprocess::fit(&table, &rows, None, &TypeOverrides::default()) else {
        return;
    };
    let cells = p.cells(&table, &rows);
    for (i, &v) in cells.values.iter().enumerate() {
        let text = p.columns[i % cells.cols].decode(v);
        assert!(!text.is_empty(), "an empty value was written back");
    }
});
