//! Findings and reports: positions, fingerprints that survive moves, no secret bytes in any
//! output, gitleaks JSON fields, SARIF 2.1.0 validated against the schema when available.

use secrets::report::{gitleaks_json, sarif, Record};
use secrets::validate::with_crc32_base62;
use secrets::{RuleSet, Scanner};

fn scanner() -> Scanner {
    Scanner::new(&RuleSet::builtin()).expect("built-in rules compile")
}

fn planted() -> (String, String) {
    let gh = with_crc32_base62("ghp_", "Zq8vL2mN4pR7tW1xYb3cD5eF6gH9jK");
    let pw = "Tr0ub4dor&3xK9pQ".to_string();
    (gh, pw)
}

#[test]
fn positions_redaction_fingerprint() {
    let s = scanner();
    let (gh, pw) = planted();
    let blob = format!(
        "# config\nuser = \"ci\"\n    token: {gh}\nurl: postgres://ci:{pw}@db.prod:5432/x\n"
    );
    let f = s.scan("deploy/ci.yaml", blob.as_bytes());
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(
        (
            f[0].rule_id.as_str(),
            f[0].line,
            f[0].column,
            f[0].end_line,
            f[0].end_column
        ),
        ("github-pat", 3, 12, 3, 51)
    );
    assert_eq!(f[0].redacted, "ghp_…");
    assert_eq!(f[1].rule_id, "database-url-password");
    assert_eq!(f[1].redacted, "Tr0u…");
    assert_eq!(f[0].fingerprint.len(), 20);
    // the same secret elsewhere (another file, another line) has the same fingerprint
    let moved = s.scan("other/file.env", format!("\n\n\n\nGH={gh}\n").as_bytes());
    assert_eq!(moved[0].fingerprint, f[0].fingerprint);
    assert_eq!(moved[0].secret_sha256, f[0].secret_sha256);
    assert_ne!(f[0].fingerprint, f[1].fingerprint);
    // nothing of the secret beyond the redaction is kept
    let dbg = format!("{f:?}");
    assert!(!dbg.contains(&gh) && !dbg.contains(&pw));
}

#[test]
fn multibyte_columns_and_crlf() {
    let s = scanner();
    let (gh, _) = planted();
    let blob = format!("ünïcode → \"{gh}\"\r\nnext\r\n");
    let f = s.scan("a.txt", blob.as_bytes());
    assert_eq!((f[0].line, f[0].column), (1, 12));
}

#[test]
fn binary_blobs_and_file_names() {
    let s = scanner();
    let (gh, _) = planted();
    let mut blob = vec![0u8, 1, 2, 3];
    blob.extend(gh.as_bytes());
    assert!(s.scan("a.bin", &blob).is_empty());
    assert_eq!(
        s.scan_path("home/u/.ssh/id_ed25519")[0].rule_id,
        "ssh-private-key-file"
    );
    assert!(s.scan_path("home/u/.ssh/id_ed25519.pub").is_empty());
    assert!(s.scan_path(".env.example").is_empty());
    // lockfiles are globally allowlisted
    assert!(s
        .scan(
            "web/package-lock.json",
            format!("\"token\": \"{gh}\"").as_bytes()
        )
        .is_empty());
}

#[test]
fn findings_are_bounded_on_hostile_input() {
    let s = scanner();
    let (gh, _) = planted();
    let blob = format!("t={gh}\n").repeat(5000);
    let f = s.scan("many.txt", blob.as_bytes());
    assert_eq!(f.len(), secrets::MAX_FINDINGS_PER_BLOB);
}

fn records<'a>(f: &'a [secrets::Finding], path: &'a str) -> Vec<Record<'a>> {
    f.iter()
        .map(|f| Record {
            finding: f,
            path,
            commit: Some("5477a7dd26384ed3c8b3814ee677f755ad27a597"),
        })
        .collect()
}

#[test]
fn gitleaks_json_report() {
    let s = scanner();
    let (gh, pw) = planted();
    let blob = format!("token: {gh}\npassword = \"{pw}\"\n");
    let f = s.scan("src/app.py", blob.as_bytes());
    let json = gitleaks_json(&records(&f, "src/app.py"));
    assert!(
        !json.contains(&gh) && !json.contains(&pw),
        "secret leaked into the report"
    );
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let first = &v[0];
    for key in [
        "RuleID",
        "Description",
        "File",
        "StartLine",
        "EndLine",
        "StartColumn",
        "EndColumn",
        "Commit",
        "Secret",
        "Match",
        "Fingerprint",
        "Tags",
        "Entropy",
    ] {
        assert!(first.get(key).is_some(), "missing {key}");
    }
    assert_eq!(first["RuleID"], "github-pat");
    assert_eq!(first["File"], "src/app.py");
    assert_eq!(first["Secret"], "ghp_…");
    assert_eq!(first["Match"], "ghp_…");
    assert_eq!(v[1]["Match"], "password = \"Tr0u…\"");
}

#[test]
fn sarif_report_is_valid() {
    let s = scanner();
    let (gh, pw) = planted();
    let blob = format!("token: {gh}\npassword = \"{pw}\"\n");
    let mut f = s.scan("src/my app.py", blob.as_bytes());
    f.extend(s.scan_path("keys/id_rsa"));
    let out = sarif(&records(&f, "src/my app.py"), "0.1.0");
    assert!(
        !out.contains(&gh) && !out.contains(&pw),
        "secret leaked into SARIF"
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["runs"][0]["results"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/my%20app.py"
    );

    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/corpus/.cache/sarif-2.1.0.json"
    );
    if !std::path::Path::new(schema).exists() {
        skip_or_fail!("skipped schema validation: {schema} not found; run secrets/corpus/fetch-test-inputs.sh");
        return;
    }
    let doc = std::env::temp_dir().join(format!("pushguard-sarif-{}.json", std::process::id()));
    std::fs::write(&doc, &out).expect("write temp SARIF");
    let py = "import json,sys,jsonschema\nschema=json.load(open(sys.argv[1]))\njsonschema.Draft7Validator(schema).validate(json.load(open(sys.argv[2])))\nprint('valid')";
    let res = std::process::Command::new("python3")
        .args(["-c", py, schema, &doc.to_string_lossy()])
        .output();
    let _ = std::fs::remove_file(&doc);
    match res {
        Ok(o) if o.status.success() => {
            assert!(String::from_utf8_lossy(&o.stdout).contains("valid"))
        }
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named") => {
            skip_or_fail!("skipped schema validation: python3 jsonschema not installed")
        }
        Ok(o) => panic!(
            "SARIF does not validate:\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => skip_or_fail!("skipped schema validation: python3 not runnable: {e}"),
    }
}
