//! Tests of the spec parser: round trips and every error case.

use super::*;

fn err(spec: &str) -> String {
    match parse(spec) {
        Ok(c) => panic!("`{spec}` parsed as {}", c.spec()),
        Err(e @ Error::NoiseSpec { .. }) => e.to_string(),
        Err(other) => panic!("`{spec}`: wrong error kind {other}"),
    }
}

#[test]
fn canonical_specs_round_trip() {
    let cases = [
        ("none", "none"),
        ("identity", "none"),
        ("gaussian:sigma=0.3", "gaussian:sigma=0.3,clamp=true"),
        (
            "gaussian:sigma=0.05..0.3,clamp=false",
            "gaussian:sigma=0.05..0.3,clamp=false",
        ),
        ("mask", "mask:keep=0.8"),
        ("mask:keep=0.5..0.9", "mask:keep=0.5..0.9"),
        ("saltpepper", "saltpepper:p=0.1,salt=0.5"),
        ("dropout", "dropout:p=0.2"),
        ("dropout:p=0.1..0.5", "dropout:p=0.1..0.5"),
        ("erase", "erase:frac=0.25,value=0"),
        (
            "erase:frac=0.1..0.4,value=RANDOM",
            "erase:frac=0.1..0.4,value=random",
        ),
        ("erase:value=0.2..0.8", "erase:frac=0.25,value=0.2..0.8"),
        ("patch", "patch:size=7,ratio=0.5"),
        ("patch:size=4..8,ratio=0.75", "patch:size=4..8,ratio=0.75"),
        (
            "gaussian:sigma=0.3+mask:keep=0.8",
            "gaussian:sigma=0.3,clamp=true+mask:keep=0.8",
        ),
        (
            "0.7*gaussian:sigma=0.3+0.3*patch:size=7,ratio=0.5",
            "0.7*gaussian:sigma=0.3,clamp=true+0.3*patch:size=7,ratio=0.5",
        ),
        ("2*none+1*erase", "2*none+1*erase:frac=0.25,value=0"),
    ];
    for (input, canonical) in cases {
        let c = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(c.spec(), canonical, "{input}");
        let again = parse(&c.spec()).unwrap_or_else(|e| panic!("{canonical}: {e}"));
        assert_eq!(again.spec(), canonical);
    }
}

#[test]
fn whitespace_and_case_are_tolerated() {
    let c = parse("  Gaussian : SIGMA = 0.2 , Clamp = FALSE  +  0.5 * MASK ").unwrap_err();
    // Mixed weighted/unweighted components are an error, not silently weight 1.
    assert!(c.to_string().contains("every mixture component"), "{c}");
    let c = parse("  Gaussian : SIGMA = 0.2 , Clamp = FALSE  +  MASK : keep = 0.5 ").unwrap();
    assert_eq!(c.spec(), "gaussian:sigma=0.2,clamp=false+mask:keep=0.5");
    let c = parse(" 0.5 * Patch : Size = 4 ").unwrap();
    assert_eq!(c.spec(), "patch:size=4,ratio=0.5");
    assert_eq!(
        parse("gaussian:sigma=1e-1").unwrap().spec(),
        "gaussian:sigma=0.1,clamp=true"
    );
    assert_eq!(
        parse("gaussian:sigma=1e+0+none").unwrap().spec(),
        "gaussian:sigma=1,clamp=true+none"
    );
}

#[test]
fn errors_name_the_bad_part() {
    let cases: &[(&str, &[&str])] = &[
        ("", &["empty spec"]),
        ("   ", &["empty spec"]),
        (
            "gausian:sigma=0.3",
            &["unknown noise `gausian`", "gaussian, mask"],
        ),
        (
            "gaussian:sigma=0.3,foo=1",
            &["no key `foo`", "sigma, clamp"],
        ),
        ("none:x=1", &["no key `x`", "no keys"]),
        ("gaussian", &["requires `sigma`"]),
        ("gaussian:", &["no key=value"]),
        ("gaussian:sigma", &["`sigma` is not key=value"]),
        ("gaussian:sigma=abc", &["sigma", "`abc`"]),
        ("gaussian:sigma=nan", &["sigma", "finite"]),
        ("gaussian:sigma=-0.1", &["sigma must be >= 0, got -0.1"]),
        ("gaussian:sigma=0.3,clamp=maybe", &["clamp", "`maybe`"]),
        ("gaussian:sigma=0.1,sigma=0.2", &["`sigma` is given twice"]),
        ("mask:keep=1.5", &["keep must be in [0, 1], got 1.5"]),
        (
            "mask:keep=0.5..1.5",
            &["keep must be in [0, 1], got 0.5..1.5"],
        ),
        (
            "gaussian:sigma=0.3..0.05",
            &["sigma range 0.3..0.05 must have lo <= hi"],
        ),
        ("gaussian:sigma=0.1..x", &["sigma", "`0.1..x`"]),
        ("saltpepper:p=2", &["p must be in [0, 1], got 2"]),
        ("saltpepper:salt=-1", &["salt must be in [0, 1], got -1"]),
        ("dropout:p=1", &["p must be in [0, 1), got 1"]),
        ("erase:frac=0", &["frac must be in (0, 1], got 0"]),
        ("erase:value=blue", &["value", "`blue`"]),
        ("patch:size=0", &["size must be an integer >= 1, got 0"]),
        ("patch:size=2.5", &["size must be an integer >= 1, got 2.5"]),
        ("patch:ratio=1.1", &["ratio must be in [0, 1], got 1.1"]),
        (
            "0*gaussian:sigma=0.3+1*none",
            &["weight must be > 0, got 0"],
        ),
        (
            "-1*gaussian:sigma=0.3+1*none",
            &["weight must be > 0, got -1"],
        ),
        (
            "x*gaussian:sigma=0.3+1*none",
            &["weight must be a number, got `x`"],
        ),
        ("gaussian:sigma=0.3+", &["empty component"]),
        ("+mask", &["empty component"]),
        ("0.5*mask+none", &["every mixture component"]),
    ];
    for (spec, needles) in cases {
        let message = err(spec);
        assert!(
            message.contains(&format!("`{}`", spec.trim())),
            "{spec}: {message}"
        );
        for needle in *needles {
            assert!(
                message.contains(needle),
                "`{spec}`: `{message}` lacks `{needle}`"
            );
        }
    }
}

#[test]
fn every_known_name_parses_with_defaults_or_a_sigma() {
    for name in known_names() {
        let spec = if name == "gaussian" {
            "gaussian:sigma=0.1"
        } else {
            name
        };
        let c = parse(spec).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.spec().starts_with(name));
    }
}
