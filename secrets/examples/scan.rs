//! Scan files with the built-in rules and print each finding (rule, line, severity, redacted
//! secret): a quick way to see what the engine makes of a file.
//!
//!     cargo run -p pushguard-secrets --example scan -- FILE... [--as PATH]
//!
//! `--as PATH` scans the (single) file as if it were at PATH in a repository (path-scoped rules
//! such as `.pgpass` or `.env` ones depend on the name).

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let as_path = match args.iter().position(|a| a == "--as") {
        Some(i) if i + 1 < args.len() => {
            let p = args.remove(i + 1);
            args.remove(i);
            Some(p)
        }
        _ => None,
    };
    let scanner = match secrets::Scanner::new(&secrets::RuleSet::builtin()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("built-in rules: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    for file in &args {
        let data = match std::fs::read(file) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{file}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        let path = as_path.as_deref().unwrap_or(file);
        for f in scanner
            .scan(path, &data)
            .into_iter()
            .chain(scanner.scan_path(path))
        {
            println!(
                "{path}:{}: {} [{}] {} ({})",
                f.line,
                f.rule_id,
                f.severity.name(),
                f.redacted,
                f.redacted_match
            );
        }
    }
    std::process::ExitCode::SUCCESS
}
