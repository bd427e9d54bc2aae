//! Scan throughput on a real tree: `cargo run --release -p pushguard-secrets --example throughput -- DIR|FILE... [--threads N] [--gitleaks FILE] [--top N] [--max-blob-mib N] [--disable RULE,…]`
//!
//! Files are read into memory first (blobs over 1 MiB are skipped, as the hook does by default),
//! then scanned (content and file name, as the hook does for each new blob); only the scan is timed. Prints files, MB, findings, seconds and MB/s.

use std::path::{Path, PathBuf};
use std::time::Instant;

use secrets::{RuleSet, Scanner};

fn walk(dir: &Path, max: u64, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p: PathBuf = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(&p, max, out);
        } else if ft.is_file() {
            if let Ok(md) = e.metadata() {
                if md.len() > max {
                    continue;
                }
            }
            if let Ok(b) = std::fs::read(&p) {
                out.push((p.to_string_lossy().into_owned(), b));
            }
        }
    }
}

/// CPU seconds (user + system) used by this process so far, from /proc (Linux), if available.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit(") ").next()?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut dirs = Vec::new();
    let mut threads = 1usize;
    let mut gitleaks: Option<String> = None;
    let mut top = 15usize;
    let mut max_blob: u64 = 1 << 20;
    let mut disable: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--threads" => {
                i += 1;
                threads = args.get(i).and_then(|s| s.parse().ok()).unwrap_or(1);
            }
            "--gitleaks" => {
                i += 1;
                gitleaks = args.get(i).cloned();
            }
            "--max-blob-mib" => {
                i += 1;
                max_blob = args.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(1) << 20;
            }
            "--disable" => {
                i += 1;
                disable.extend(
                    args.get(i)
                        .map(|s| s.split(',').map(str::to_string).collect::<Vec<_>>())
                        .unwrap_or_default(),
                );
            }
            "--top" => {
                i += 1;
                top = args.get(i).and_then(|s| s.parse().ok()).unwrap_or(15);
            }
            d => dirs.push(d.to_string()),
        }
        i += 1;
    }
    let mut rules = match &gitleaks {
        Some(f) => {
            let text = std::fs::read_to_string(f).expect("read gitleaks config");
            let (rs, warnings) =
                RuleSet::from_gitleaks_toml(&text, None).expect("gitleaks config imports");
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            rs
        }
        None => RuleSet::builtin(),
    };
    for missing in rules.disable(&disable) {
        eprintln!("--disable: no rule {missing}");
    }
    let t0 = Instant::now();
    let scanner = Scanner::new(&rules).expect("rules compile");
    eprintln!(
        "compiled {} rules in {:.1} ms",
        scanner.rule_count(),
        t0.elapsed().as_secs_f64() * 1e3
    );
    let mut blobs = Vec::new();
    for d in &dirs {
        if Path::new(d).is_file() {
            if let Ok(b) = std::fs::read(d) {
                blobs.push((d.clone(), b));
            }
        } else {
            walk(Path::new(d), max_blob, &mut blobs);
        }
    }
    let bytes: usize = blobs.iter().map(|(_, b)| b.len()).sum();
    let cpu0 = cpu_seconds();
    let t = Instant::now();
    let chunks: Vec<&[(String, Vec<u8>)]> = blobs
        .chunks(blobs.len().div_ceil(threads.max(1)).max(1))
        .collect();
    let results: Vec<Vec<(String, String)>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let scanner = &scanner;
                s.spawn(move || {
                    let mut v = Vec::new();
                    for (p, b) in chunk.iter() {
                        for f in scanner.scan(p, b).into_iter().chain(scanner.scan_path(p)) {
                            v.push((f.rule_id, format!("{p}:{}", f.line)));
                        }
                    }
                    v
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("scan thread"))
            .collect()
    });
    let secs = t.elapsed().as_secs_f64();
    let cpu = match (cpu0, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => secs,
    };
    let findings: Vec<(String, String)> = results.into_iter().flatten().collect();
    let mut per_rule: std::collections::BTreeMap<&str, usize> = Default::default();
    for (r, _) in &findings {
        *per_rule.entry(r.as_str()).or_default() += 1;
    }
    let mut pr: Vec<_> = per_rule.into_iter().collect();
    pr.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (r, n) in pr.iter().take(top) {
        eprintln!("{n:6} {r}");
    }
    if std::env::var_os("SHOW_FINDINGS").is_some() {
        for (r, loc) in &findings {
            eprintln!("{r} {loc}");
        }
    }
    println!(
        "files={} bytes={} MB={:.1} findings={} threads={} wall_secs={:.3} MB/s={:.1} cpu_secs={:.2} MB/s_per_core={:.1}",
        blobs.len(),
        bytes,
        bytes as f64 / 1e6,
        findings.len(),
        threads,
        secs,
        bytes as f64 / 1e6 / secs,
        cpu,
        bytes as f64 / 1e6 / cpu
    );
}
