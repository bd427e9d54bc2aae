//! CODEOWNERS in both dialects: the 30 edge cases of the research notes
//! (`shared/research/review.md` (b)), hmarr/codeowners' GitHub pattern table, the API the
//! engine calls, and the lint.

use rules::codeowners::{
    dialect_diff, lint, CodeOwners, Diagnostic, DiagnosticCode, Dialect, DialectSetting,
    DifferenceKind, Owner, ParseError, Requirement, Role, Section, MAX_FILE_BYTES,
};

fn parse(text: impl AsRef<[u8]>, dialect: Dialect) -> (CodeOwners, Vec<Diagnostic>) {
    CodeOwners::parse(text, dialect).expect("a small file parses")
}

fn gh(text: impl AsRef<[u8]>) -> CodeOwners {
    parse(text, Dialect::Github).0
}

fn gl(text: impl AsRef<[u8]>) -> CodeOwners {
    parse(text, Dialect::Gitlab).0
}

/// Who must approve a change to `path`, as written (GitLab: the union over sections);
/// `None` when no owner approval is needed.
fn owners(co: &CodeOwners, path: impl AsRef<[u8]>) -> Option<Vec<String>> {
    let mut out: Vec<String> = match co.owners_of(path) {
        Requirement::Unowned { .. } => return None,
        Requirement::AnyOf { owners, .. } => owners.iter().map(|o| o.to_string()).collect(),
        Requirement::Sections(s) if s.is_empty() => return None,
        Requirement::Sections(s) => s
            .iter()
            .flat_map(|n| n.owners.iter().map(|o| o.to_string()))
            .collect(),
    };
    out.sort();
    out.dedup();
    Some(out)
}

fn some(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|s| s.to_string()).collect())
}

/// (line, column, code) of each diagnostic.
fn codes(diags: &[Diagnostic]) -> Vec<(u32, u32, DiagnosticCode)> {
    diags.iter().map(|d| (d.line, d.column, d.code)).collect()
}

fn diff_kinds(text: &str) -> Vec<(u32, DifferenceKind)> {
    dialect_diff(text, Vec::<&str>::new())
        .expect("small file")
        .lines
        .iter()
        .map(|l| (l.line, l.kind))
        .collect()
}

/// The research notes' edge cases, each in both dialects.
mod edge_cases {
    use super::*;

    #[test]
    fn case01_last_match_wins() {
        let text = "* @a\n*.js @b\n";
        assert_eq!(owners(&gh(text), "x/y.js"), some(&["@b"]));
        assert_eq!(owners(&gl(text), "x/y.js"), some(&["@b"]));
    }

    #[test]
    fn case02_empty_owners() {
        let text = "/apps/ @a\n/apps/github\n";
        let github = gh(text);
        assert_eq!(
            github.owners_of("apps/github/x"),
            Requirement::Unowned { line: Some(2) }
        );
        let (gitlab, diags) = parse(text, Dialect::Gitlab);
        assert_eq!(owners(&gitlab, "apps/github/x"), some(&["@a"]));
        // The ownerless entry matches only the exact path, and nobody can approve it.
        assert_eq!(owners(&gitlab, "apps/github"), some(&[]));
        assert_eq!(codes(&diags), vec![(2, 1, DiagnosticCode::MissingOwner)]);
    }

    #[test]
    fn case03_unanchored_single_segment() {
        let text = "foo @a\n";
        let (github, gitlab) = (gh(text), gl(text));
        for p in ["foo", "a/foo", "a/foo/b"] {
            assert_eq!(owners(&github, p), some(&["@a"]), "github {p}");
        }
        for p in ["foo", "a/foo"] {
            assert_eq!(owners(&gitlab, p), some(&["@a"]), "gitlab {p}");
        }
        assert_eq!(owners(&gitlab, "a/foo/b"), None);
        assert_eq!(owners(&github, "foo.txt"), None);
        assert_eq!(owners(&gitlab, "foo.txt"), None);
    }

    #[test]
    fn case04_middle_slash() {
        let text = "docs/* @a\n";
        assert_eq!(owners(&gh(text), "docs/a"), some(&["@a"]));
        assert_eq!(owners(&gh(text), "x/docs/a"), None);
        assert_eq!(owners(&gl(text), "docs/a"), some(&["@a"]));
        assert_eq!(owners(&gl(text), "x/docs/a"), some(&["@a"]));
        assert_eq!(diff_kinds(text), vec![(1, DifferenceKind::Anchoring)]);
    }

    #[test]
    fn case05_no_trailing_slash() {
        let text = "/docs @a\n";
        assert_eq!(owners(&gh(text), "docs/a"), some(&["@a"]));
        assert_eq!(owners(&gl(text), "docs/a"), None);
        assert_eq!(owners(&gh(text), "docs"), some(&["@a"]));
        assert_eq!(owners(&gl(text), "docs"), some(&["@a"]));
        assert_eq!(diff_kinds(text), vec![(1, DifferenceKind::Descendants)]);
    }

    #[test]
    fn case06_trailing_slash_is_not_a_file() {
        let text = "foo/ @a\n";
        for co in [gh(text), gl(text)] {
            assert_eq!(owners(&co, "foo"), None, "{:?}", co.dialect());
            assert_eq!(owners(&co, "foo/x"), some(&["@a"]), "{:?}", co.dialect());
        }
    }

    #[test]
    fn case07_star_does_not_cross_directories() {
        let text = "docs/* @a\n";
        for co in [gh(text), gl(text)] {
            assert_eq!(owners(&co, "docs/a/b"), None, "{:?}", co.dialect());
        }
    }

    #[test]
    fn case08_double_star() {
        let text = "**/logs @a\n";
        for p in ["logs/x", "a/b/logs/x"] {
            assert_eq!(owners(&gh(text), p), some(&["@a"]), "github {p}");
            assert_eq!(owners(&gl(text), p), None, "gitlab {p}");
            assert_eq!(
                owners(&gl("**/logs/ @a\n"), p),
                some(&["@a"]),
                "gitlab `**/logs/` {p}"
            );
        }
        let text = "foo/**/bar @a\n";
        assert_eq!(owners(&gh(text), "foo/bar"), some(&["@a"]));
        assert_eq!(owners(&gl(text), "foo/bar"), some(&["@a"]));
    }

    #[test]
    fn case09_dotfiles() {
        for co in [gh("* @a\n"), gl("* @a\n")] {
            assert_eq!(
                owners(&co, ".github/x"),
                some(&["@a"]),
                "{:?}",
                co.dialect()
            );
        }
        for co in [gh("*.rb @a\n"), gl("*.rb @a\n")] {
            assert_eq!(owners(&co, "a/.b.rb"), some(&["@a"]), "{:?}", co.dialect());
        }
    }

    #[test]
    fn case10_question_mark() {
        for co in [gh("f?o @a\n"), gl("f?o @a\n")] {
            assert_eq!(owners(&co, "foo"), some(&["@a"]), "{:?}", co.dialect());
            assert_eq!(owners(&co, "fo"), None, "{:?}", co.dialect());
            assert_eq!(owners(&co, "f/o"), None, "{:?}", co.dialect());
        }
    }

    #[test]
    fn case11_escaped_space() {
        let text = "my\\ dir/ @a\n";
        for co in [gh(text), gl(text)] {
            assert_eq!(owners(&co, "my dir/x"), some(&["@a"]), "{:?}", co.dialect());
        }
        // Unescaped: GitLab reads `dir/` as a malformed owner and drops it; GitHub ignores the line.
        let text = "my dir/ @a\n";
        let (gitlab, diags) = parse(text, Dialect::Gitlab);
        assert_eq!(codes(&diags), vec![(1, 4, DiagnosticCode::DroppedOwner)]);
        assert_eq!(owners(&gitlab, "my"), some(&["@a"]));
        assert_eq!(owners(&gitlab, "my dir/x"), None);
        let (github, diags) = parse(text, Dialect::Github);
        assert_eq!(codes(&diags), vec![(1, 4, DiagnosticCode::InvalidOwner)]);
        assert_eq!(owners(&github, "my"), None);
    }

    #[test]
    fn case12_brackets() {
        let text = "/apps/[id]/f.ts @a\n";
        assert_eq!(owners(&gh(text), "apps/[id]/f.ts"), some(&["@a"]));
        assert_eq!(owners(&gh(text), "apps/i/f.ts"), None);
        assert_eq!(owners(&gl(text), "apps/i/f.ts"), some(&["@a"]));
        assert_eq!(owners(&gl(text), "apps/[id]/f.ts"), None);
        assert_eq!(diff_kinds(text), vec![(1, DifferenceKind::Brackets)]);
        // A line starting `[` is a GitLab section header.
        let text = "[id].md @a\n";
        assert_eq!(owners(&gh(text), "[id].md"), some(&["@a"]));
        let (gitlab, diags) = parse(text, Dialect::Gitlab);
        assert_eq!(owners(&gitlab, "[id].md"), None);
        assert_eq!(
            gitlab.sections()[1].name.as_deref(),
            Some("id"),
            "a section named `id`"
        );
        assert_eq!(
            codes(&diags),
            vec![(1, 5, DiagnosticCode::IgnoredHeaderText)]
        );
        assert_eq!(diff_kinds(text), vec![(1, DifferenceKind::SectionHeader)]);
    }

    #[test]
    fn case13_escaped_hash() {
        let text = "\\#f @a\n";
        assert_eq!(owners(&gl(text), "#f"), some(&["@a"]));
        let (github, diags) = parse(text, Dialect::Github);
        assert_eq!(owners(&github, "#f"), None);
        assert_eq!(codes(&diags), vec![(1, 1, DiagnosticCode::EscapedHash)]);
        assert!(diff_kinds(text).contains(&(1, DifferenceKind::EscapedHash)));
    }

    #[test]
    fn case14_inline_comment() {
        let text = "*.js @a # @b\n";
        assert_eq!(owners(&gh(text), "x.js"), some(&["@a"]));
        assert_eq!(owners(&gl(text), "x.js"), some(&["@a", "@b"]));
        assert_eq!(diff_kinds(text), vec![(1, DifferenceKind::InlineComment)]);
    }

    #[test]
    fn case15_exclusion() {
        let text = "* @a\n!pom.xml\n[Build] @b\n*.xml\n";
        let (github, diags) = parse(text, Dialect::Github);
        assert_eq!(codes(&diags), vec![(2, 1, DiagnosticCode::Negation)]);
        assert_eq!(
            github.owners_of("pom.xml"),
            Requirement::Unowned { line: Some(4) }
        );
        // GitLab: excluded from the section it is in, not from `[Build]`.
        let gitlab = gl(text);
        assert_eq!(owners(&gitlab, "pom.xml"), some(&["@b"]));
        assert_eq!(owners(&gitlab, "a.txt"), some(&["@a"]));
        assert!(diff_kinds(text).contains(&(2, DifferenceKind::Exclusion)));
    }

    #[test]
    fn case16_exclusion_ignores_order() {
        let text = "!*.rb\n/special/*.rb @x\n";
        assert_eq!(
            gl(text).owners_of("special/a.rb"),
            Requirement::Sections(vec![])
        );
        assert_eq!(owners(&gh(text), "special/a.rb"), some(&["@x"]));
        assert_eq!(diff_kinds(text), vec![(1, DifferenceKind::Exclusion)]);
    }

    #[test]
    fn case17_exclusion_is_per_section() {
        let text = "[Ruby] @r\n*.rb\n!/config/**/*.rb\n[Config]\n/config/ @ops\n";
        let gitlab = gl(text);
        assert_eq!(owners(&gitlab, "config/a.rb"), some(&["@ops"]));
        assert_eq!(owners(&gitlab, "lib/a.rb"), some(&["@r"]));
        assert_eq!(owners(&gh(text), "config/a.rb"), some(&["@ops"]));
    }

    #[test]
    fn case18_section_names_merge_case_insensitively() {
        let text = "[Docs] @d\ndocs/\n[DOCS]\n*.md @m\n";
        let gitlab = gl(text);
        let Requirement::Sections(needs) = gitlab.owners_of("docs/a.md") else {
            panic!("gitlab answers per section");
        };
        assert_eq!(needs.len(), 1);
        assert_eq!(
            needs[0].section.name.as_deref(),
            Some("Docs"),
            "first spelling"
        );
        assert_eq!(needs[0].owners, vec![Owner::User("m".into())]);
        assert_eq!(owners(&gitlab, "docs/x.txt"), some(&["@d"]));
        // GitHub: `[Docs]` is a literal pattern and `docs/` an ownerless line.
        assert_eq!(
            gh(text).owners_of("docs/x.txt"),
            Requirement::Unowned { line: Some(2) }
        );
    }

    #[test]
    fn case19_optional_only_if_every_header_says_so() {
        let both = gl("^[Go] @g\n*.go\n[Go]\n/cmd/ @c\n");
        assert!(!both.sections()[1].optional);
        let only = gl("^[Go] @g\n*.go\n");
        assert!(only.sections()[1].optional);
        assert_eq!(owners(&only, "a.go"), some(&["@g"]));
        assert_eq!(
            gh("^[Go] @g\n*.go\n").owners_of("a.go"),
            Requirement::Unowned { line: Some(2) }
        );
    }

    #[test]
    fn case20_approval_counts() {
        let two = gl("[S][2] @a @b @c\n*\n");
        let need = two.requirements(["x"]).needs;
        assert_eq!(need.len(), 1);
        assert_eq!(need[0].approvals, 2);
        assert_eq!(need[0].owners.len(), 3);
        assert_eq!(
            gl("[S][0] @a\n*\n").sections()[1].approvals,
            1,
            "[0] means 1"
        );
        assert_eq!(
            gl("[S][] @a\n*\n").sections()[1].approvals,
            1,
            "empty means 1"
        );
        let (bad, diags) = parse("^[S][2] @a\n*\n", Dialect::Gitlab);
        assert_eq!(
            codes(&diags),
            vec![(1, 1, DiagnosticCode::InvalidApprovalRequirement)]
        );
        assert!(bad.sections()[1].optional);
        // GitHub: `[S][2]` is a literal pattern; `*` an ownerless line.
        assert_eq!(
            gh("[S][2] @a @b @c\n*\n").owners_of("x"),
            Requirement::Unowned { line: Some(2) }
        );
    }

    #[test]
    fn case21_section_default_owners() {
        let text = "[Docs] @d\ndocs/\ndocs/x.md @x\n";
        let gitlab = gl(text);
        assert_eq!(owners(&gitlab, "docs/y"), some(&["@d"]));
        assert_eq!(owners(&gitlab, "docs/x.md"), some(&["@x"]));
        let github = gh(text);
        assert_eq!(
            github.owners_of("docs/y"),
            Requirement::Unowned { line: Some(2) }
        );
        assert_eq!(owners(&github, "docs/x.md"), some(&["@x"]));
    }

    #[test]
    fn case22_sections_layer() {
        let text = "* @g\n[Docs] @d\ndocs/\n*.txt\n[DB] @db\nmodel/db/\n";
        let gitlab = gl(text);
        let Requirement::Sections(needs) = gitlab.owners_of("model/db/CHANGELOG.txt") else {
            panic!("gitlab answers per section");
        };
        assert_eq!(needs.len(), 3);
        assert_eq!(
            owners(&gitlab, "model/db/CHANGELOG.txt"),
            some(&["@d", "@db", "@g"])
        );
        assert_eq!(
            gh(text).owners_of("model/db/CHANGELOG.txt"),
            Requirement::Unowned { line: Some(6) }
        );
    }

    #[test]
    fn case23_duplicate_pattern() {
        let text = "*.rb @a\n/app/x.rb @b\n*.rb @c\n";
        assert_eq!(owners(&gh(text), "app/x.rb"), some(&["@c"]));
        assert_eq!(owners(&gl(text), "app/x.rb"), some(&["@b"]));
        assert_eq!(owners(&gl(text), "lib/y.rb"), some(&["@c"]), "last owners");
        assert!(diff_kinds(text).contains(&(3, DifferenceKind::DuplicatePattern)));
    }

    #[test]
    fn case24_case_sensitive() {
        for co in [gh("/Docs/ @a\n"), gl("/Docs/ @a\n")] {
            assert_eq!(owners(&co, "docs/a"), None, "{:?}", co.dialect());
            assert_eq!(owners(&co, "Docs/a"), some(&["@a"]), "{:?}", co.dialect());
        }
    }

    #[test]
    fn case25_owner_kinds() {
        let text =
            "/a @org/team\n/b @g/s/t\n/c a@b.org\n/d @@maintainers\n/e @@developer\n/f user @u\n";
        let (gitlab, diags) = parse(text, Dialect::Gitlab);
        let o = |p| {
            gitlab
                .entries()
                .into_iter()
                .find(|e| e.pattern == p)
                .map(|e| e.owners)
        };
        assert_eq!(o("/a"), Some(vec![Owner::Team("org/team".into())]));
        assert_eq!(o("/b"), Some(vec![Owner::Team("g/s/t".into())]));
        assert_eq!(o("/c"), Some(vec![Owner::Email("a@b.org".into())]));
        assert_eq!(o("/d"), Some(vec![Owner::Role(Role::Maintainer)]));
        assert_eq!(o("/e"), Some(vec![Owner::Role(Role::Developer)]));
        assert_eq!(
            o("/f"),
            Some(vec![Owner::User("u".into())]),
            "bare `user` dropped"
        );
        assert_eq!(codes(&diags), vec![(6, 4, DiagnosticCode::DroppedOwner)]);
        let (github, diags) = parse(text, Dialect::Github);
        let kept: Vec<String> = github.entries().into_iter().map(|e| e.pattern).collect();
        assert_eq!(
            kept,
            ["/a", "/c"],
            "GitHub ignores lines with owners it rejects"
        );
        assert_eq!(
            codes(&diags),
            vec![
                (2, 4, DiagnosticCode::InvalidOwner),
                (4, 4, DiagnosticCode::InvalidOwner),
                (5, 4, DiagnosticCode::InvalidOwner),
                (6, 4, DiagnosticCode::InvalidOwner),
            ]
        );
    }

    #[test]
    fn case26_triple_star_and_unclosed_header() {
        let (github, diags) = parse("*** @a\n", Dialect::Github);
        assert_eq!(codes(&diags), vec![(1, 1, DiagnosticCode::TripleStar)]);
        assert!(github.entries().is_empty());
        let (_, diags) = parse("*** @a\n", Dialect::Gitlab);
        assert_eq!(codes(&diags), vec![(1, 1, DiagnosticCode::TripleStar)]);
        // GitLab: `[Section name` is entry `[Section` with owner token `name` (a bare word,
        // dropped as in case 25).
        let (gitlab, diags) = parse("[Section name\n", Dialect::Gitlab);
        let entries = gitlab.entries();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].pattern, "[Section");
        assert_eq!(entries[0].section, None);
        assert_eq!(
            codes(&diags),
            vec![
                (1, 1, DiagnosticCode::InvalidSectionFormat),
                (1, 10, DiagnosticCode::DroppedOwner),
                (1, 1, DiagnosticCode::MissingOwner),
            ]
        );
        assert_eq!(gitlab.sections().len(), 1, "no section was opened");
    }

    #[test]
    fn case27_crlf_and_bytes() {
        let text = "* @a\r\n/docs/ @b\r\n";
        for co in [gh(text), gl(text)] {
            assert_eq!(owners(&co, "docs/x"), some(&["@b"]), "{:?}", co.dialect());
        }
        // NFC `café` in the file owns the NFC path only; non-UTF-8 bytes match as bytes.
        let text = "/caf\u{e9}/ @a\n/bin/ @b\n";
        for co in [gh(text), gl(text)] {
            assert_eq!(
                owners(&co, "caf\u{e9}/x"),
                some(&["@a"]),
                "{:?}",
                co.dialect()
            );
            assert_eq!(owners(&co, "cafe\u{301}/x"), None, "{:?} NFD", co.dialect());
            assert_eq!(
                owners(&co, b"bin/\xff\xfe".as_slice()),
                some(&["@b"]),
                "{:?}",
                co.dialect()
            );
        }
        let latin1 = b"/caf\xe9/ @a\n".as_slice();
        for co in [gh(latin1), gl(latin1)] {
            assert_eq!(
                owners(&co, b"caf\xe9/x".as_slice()),
                some(&["@a"]),
                "{:?}",
                co.dialect()
            );
        }
    }

    #[test]
    fn case28_rename_out_of_owned_directory() {
        // The engine passes both sides of a rename; the old side keeps its owner.
        let text = "/old/ @a\n";
        for co in [gh(text), gl(text)] {
            let cov = co.requirements(["old/f.rs", "new/f.rs"]);
            assert_eq!(cov.needs.len(), 1, "{:?}", co.dialect());
            assert_eq!(cov.needs[0].owners, vec![Owner::User("a".into())]);
            assert_eq!(cov.needs[0].paths, vec![b"old/f.rs".to_vec()]);
            assert_eq!(cov.unowned, vec![b"new/f.rs".to_vec()]);
        }
    }

    #[test]
    fn case29_codeowners_is_judged_by_the_old_file_and_is_owned() {
        // The old file owns the CODEOWNERS file; the pushed one adds the pusher. The engine reads
        // the old file, so the new owner does not count.
        let old = "* @team-lead\n/.github/CODEOWNERS @security\n";
        let new = "* @team-lead\n/.github/CODEOWNERS @security @mallory\n";
        for dialect in [Dialect::Github, Dialect::Gitlab] {
            let co = parse(old, dialect).0;
            assert_eq!(
                owners(&co, ".github/CODEOWNERS"),
                some(&["@security"]),
                "{dialect:?}"
            );
            let pushed = parse(new, dialect).0;
            assert_ne!(
                owners(&pushed, ".github/CODEOWNERS"),
                owners(&co, ".github/CODEOWNERS")
            );
        }
    }

    #[test]
    fn case30_sole_owner_is_the_author() {
        // The requirement names exactly one owner; when that owner is the author the engine's
        // `pull_request` rule blocks with its own message (not decided here).
        for dialect in [Dialect::Github, Dialect::Gitlab] {
            let co = parse("/src/ @alice\n", dialect).0;
            let cov = co.requirements(["src/main.rs"]);
            assert_eq!(cov.needs.len(), 1);
            assert_eq!(
                cov.needs[0].owners,
                vec![Owner::User("alice".into())],
                "{dialect:?}"
            );
            assert_eq!(cov.needs[0].approvals, 1);
        }
    }
}

/// Every case of hmarr/codeowners `testdata/patterns.json`, GitHub dialect.
mod hmarr_patterns {
    use super::*;

    #[test]
    fn every_case_matches() {
        let data = include_str!("data/hmarr-codeowners/patterns.json");
        let cases: serde_json::Value = serde_json::from_str(data).expect("valid JSON");
        let cases = cases.as_array().expect("an array of cases");
        let mut checked = 0;
        let mut failures = Vec::new();
        for case in cases {
            let name = case["name"].as_str().expect("name");
            let pattern = case["pattern"].as_str().expect("pattern");
            let (co, diags) = parse(format!("{pattern} @o\n"), Dialect::Github);
            assert!(diags.is_empty(), "{name}: {diags:?}");
            for (path, want) in case["paths"].as_object().expect("paths") {
                let got = co.owners_of(path).is_owned();
                if got != want.as_bool().expect("bool") {
                    failures.push(format!(
                        "{name}: `{pattern}` vs `{path}`: want {want}, got {got}"
                    ));
                }
                checked += 1;
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!((cases.len(), checked), (27, 145));
    }
}

/// What the engine calls.
mod api {
    use super::*;

    #[test]
    fn auto_detection() {
        assert_eq!(
            Dialect::detect(Some(".gitlab/CODEOWNERS"), "* @a"),
            Dialect::Gitlab
        );
        assert_eq!(
            Dialect::detect(Some("CODEOWNERS"), "[Docs]\n* @a"),
            Dialect::Gitlab
        );
        assert_eq!(Dialect::detect(None, "^[Docs]\n* @a"), Dialect::Gitlab);
        assert_eq!(Dialect::detect(None, "* @a\n!x"), Dialect::Gitlab);
        assert_eq!(Dialect::detect(None, "* @@maintainer"), Dialect::Gitlab);
        assert_eq!(
            Dialect::detect(Some(".github/CODEOWNERS"), "* @a\n# [not a header]\n"),
            Dialect::Github
        );
        let (co, _) = CodeOwners::parse_auto("[Docs]\n* @a\n", None).expect("small");
        assert_eq!(co.dialect(), Dialect::Gitlab);
        let auto: DialectSetting = "auto".parse().expect("known");
        assert_eq!(auto.resolve(Some("CODEOWNERS"), "* @a\n"), Dialect::Github);
        let forced: DialectSetting = "gitlab".parse().expect("known");
        assert_eq!(
            forced.resolve(Some("CODEOWNERS"), "* @a\n"),
            Dialect::Gitlab
        );
        assert!("GitHub".parse::<DialectSetting>().is_err());
    }

    #[test]
    fn files_of_three_megabytes_are_refused() {
        let big = "#".repeat(MAX_FILE_BYTES);
        assert_eq!(
            CodeOwners::parse(&big, Dialect::Github).err(),
            Some(ParseError::TooLarge {
                size: MAX_FILE_BYTES
            })
        );
        assert!(CodeOwners::parse(&big[1..], Dialect::Gitlab).is_ok());
        let lint = lint(&big);
        assert_eq!(lint.len(), 2);
        assert!(lint.iter().all(|d| d.code == DiagnosticCode::FileTooLarge));
    }

    #[test]
    fn requirements_group_each_distinct_need_once() {
        let text = "* @core\n/docs/ @writers @core\n/docs/api/ @core @writers\n/vendor/\n";
        let cov = gh(text).requirements(["a.rs", "docs/a.md", "docs/api/b.md", "vendor/x", "b.rs"]);
        assert_eq!(cov.unowned, vec![b"vendor/x".to_vec()]);
        assert_eq!(cov.needs.len(), 2);
        assert_eq!(cov.needs[0].paths, vec![b"a.rs".to_vec(), b"b.rs".to_vec()]);
        assert_eq!(cov.needs[0].lines, vec![1]);
        assert_eq!(cov.needs[1].paths.len(), 2, "same owner set, two lines");
        assert_eq!(cov.needs[1].lines, vec![2, 3]);
    }

    #[test]
    fn gitlab_sections_unite_owners_and_keep_ownerless_paths_apart() {
        let text = "[Docs][2]\n/docs/ @d1\n*.md @d2\n/docs/orphan.md\n";
        let (co, _) = parse(text, Dialect::Gitlab);
        let cov = co.requirements(["docs/a.txt", "x.md", "docs/orphan.md"]);
        let docs = Section {
            name: Some("Docs".into()),
            optional: false,
            approvals: 2,
        };
        assert_eq!(cov.needs.len(), 2);
        assert_eq!(cov.needs[0].section, Some(docs.clone()));
        assert_eq!(cov.needs[0].approvals, 2);
        assert_eq!(
            cov.needs[0].owners,
            vec![Owner::User("d1".into()), Owner::User("d2".into())]
        );
        assert_eq!(cov.needs[1].section, Some(docs));
        assert!(
            cov.needs[1].owners.is_empty(),
            "nobody can approve: the engine blocks"
        );
        assert_eq!(cov.needs[1].paths, vec![b"docs/orphan.md".to_vec()]);
    }

    #[test]
    fn diagnostics_render_with_their_place() {
        let (_, diags) = parse("/x @a\n  /y not-an-owner\n", Dialect::Github);
        assert_eq!(
            diags[0].to_string(),
            "CODEOWNERS:2:6: error (github): `not-an-owner` is not an owner (`@user`, `@org/team` or an email); GitHub ignores the whole line"
        );
    }
}

/// `pushguard codeowners lint [--dialect-diff]`.
mod lint_and_diff {
    use super::*;

    #[test]
    fn lint_reports_both_dialects() {
        let diags = lint("!x.txt\n*.rs @a\n");
        let got: Vec<(u32, Dialect, DiagnosticCode)> =
            diags.iter().map(|d| (d.line, d.dialect, d.code)).collect();
        assert_eq!(got, vec![(1, Dialect::Github, DiagnosticCode::Negation)]);
    }

    #[test]
    fn same_reading_means_no_difference() {
        let text = "* @a\n/docs/ @b\n*.md @c\n/src/**/*.rs @d\n**/build/ @e\n";
        let diff = dialect_diff(text, ["docs/a.md", "src/x/y.rs", "a/build/o"]).expect("small");
        assert_eq!(diff.lines, vec![]);
        assert_eq!(diff.paths, vec![]);
    }

    #[test]
    fn probes_show_paths_owned_differently() {
        let text = "* @a\ndocs/* @b\n";
        let diff = dialect_diff(text, ["docs/x", "y/docs/x"]).expect("small");
        assert_eq!(diff.paths.len(), 1);
        assert_eq!(diff.paths[0].path, b"y/docs/x".to_vec());
    }

    #[test]
    fn flags_edge_cases_4_5_12_to_16_and_23() {
        let text = [
            "docs/* @a",          // 4
            "/docs @a",           // 5
            "/apps/[id]/f.ts @a", // 12
            "\\#f @a",            // 13
            "*.js @a # @b",       // 14
            "!pom.xml",           // 15, 16
            "*.rb @a",
            "/app/x.rb @b",
            "*.rb @c", // 23
        ]
        .join("\n");
        let kinds = diff_kinds(&text);
        for want in [
            (1, DifferenceKind::Anchoring),
            (2, DifferenceKind::Descendants),
            (3, DifferenceKind::Brackets),
            (4, DifferenceKind::EscapedHash),
            (5, DifferenceKind::InlineComment),
            (6, DifferenceKind::Exclusion),
            (9, DifferenceKind::DuplicatePattern),
        ] {
            assert!(kinds.contains(&want), "missing {want:?} in {kinds:?}");
        }
        assert!(!kinds.iter().any(|(l, _)| *l == 7 || *l == 8), "{kinds:?}");
    }
}

/// What `pushguard codeowners lint --dialect-diff` prints for a file that mixes the dialects
/// (the transcript in `docs/codeowners.md`).
mod transcript {
    use super::*;

    #[test]
    fn lint_and_dialect_diff_of_a_mixed_file() {
        let text = "\
# Owners of the demo repository
* @acme/core
docs/* @writer
/vendor
*.js @web # @frontend-lead
!pom.xml
[Security][2] @sec-a @sec-b
/crypto/ @@maintainers
/keys/ keyholder
";
        let mut out = String::new();
        for d in lint(text) {
            out.push_str(&format!("{d}\n"));
        }
        let diff = dialect_diff(text, ["vendor/lib.c", "src/docs/a.md", "crypto/aes.rs"])
            .expect("small file");
        for l in &diff.lines {
            out.push_str(&format!("{l}\n"));
        }
        for p in &diff.paths {
            out.push_str(&format!(
                "{}:\n  github: {}\n  gitlab: {}\n",
                String::from_utf8_lossy(&p.path),
                p.github,
                p.gitlab
            ));
        }
        insta::assert_snapshot!(out);
    }
}

/// A file parsed again is taken from the memo: the same result, not parsed twice.
#[test]
fn parse_cached_gives_the_parse_once() {
    let text = b"* @a\n/db/ @b\n";
    let first = CodeOwners::parse_cached(text, Dialect::Github).expect("parses");
    let again = CodeOwners::parse_cached(text, Dialect::Github).expect("parses");
    assert!(std::sync::Arc::ptr_eq(&first, &again));
    let direct = CodeOwners::parse(text, Dialect::Github).expect("parses");
    assert_eq!(first.0.owners_of("db/x"), direct.0.owners_of("db/x"));
    let gitlab = CodeOwners::parse_cached(text, Dialect::Gitlab).expect("parses");
    assert!(!std::sync::Arc::ptr_eq(&first, &gitlab), "per dialect");
}
