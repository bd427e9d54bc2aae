//! Offline validation of candidate secrets: entropy, checksums, structure, placeholder rejection.
//! The `with_*` / `*_encode` helpers build valid tokens for examples, corpora and tests.

use crate::rule::Validation;

/// Shannon entropy of `data` in bits per byte (0 for empty input).
pub fn shannon_entropy(data: &[u8]) -> f32 {
    shannon_entropy_f64(data) as f32
}

/// [`shannon_entropy`] in double precision (used for threshold comparisons).
pub fn shannon_entropy_f64(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let n = data.len() as f64;
    let mut h = 0.0f64;
    for &c in counts.iter().filter(|&&c| c > 0) {
        let p = f64::from(c) / n;
        h -= p * p.log2();
    }
    h
}

/// Does `secret` pass `v`? `key` is the text before the secret: the match plus the start of
/// the key name that precedes it on the line (e.g. `public_` before `key = "…"`).
pub(crate) fn check(v: Validation, secret: &[u8], key: &[u8]) -> bool {
    match v {
        Validation::Crc32Base62 => crc32_base62(secret),
        Validation::GithubFineGrained => github_fine_grained(secret),
        Validation::AtlassianCrc32 => atlassian_crc32(secret),
        Validation::GrafanaCrc32 => grafana_crc32(secret),
        Validation::GitlabCrc32 => gitlab_crc32(secret),
        Validation::Bech32 => bech32(secret),
        Validation::Base58Check => base58check(secret),
        Validation::PypiMacaroon => pypi_macaroon(secret),
        Validation::Jwt => jwt(secret),
        Validation::AwsKeyId => aws_key_id(secret),
        Validation::Generic => generic(secret, key),
        Validation::Password => password(secret),
        Validation::BasicAuth => basic_auth(secret),
        Validation::Base64Secret => base64_secret(secret),
        Validation::DiscordBotToken => discord_bot_token(secret),
        Validation::UrlPassword => url_password(secret, key),
        Validation::GenericPassword => generic_password(secret, key),
        Validation::GenericKey => {
            // short hex values are ids (GPG key ids, short commit hashes); keys are 32+ digits
            let floor = if secret.len() >= 32 && secret.iter().all(u8::is_ascii_hexdigit) {
                3.0
            } else {
                3.5
            };
            shannon_entropy_f64(secret) > floor && generic(secret, key)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CRC32 (IEEE 802.3, reflected, as zlib/Go crc32.ChecksumIEEE)

const fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}
static CRC_TABLE: [u32; 256] = crc_table();

/// CRC32 (IEEE) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base62, left-padded with `0` to `width` characters.
pub fn base62(mut n: u64, width: usize) -> String {
    let mut out = Vec::new();
    while n > 0 {
        out.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

fn base62_decode(s: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    for &c in s {
        let d = BASE62.iter().position(|&x| x == c)? as u64;
        n = n.checked_mul(62)?.checked_add(d)?;
    }
    Some(n)
}

/// GitHub / npm: last 6 chars = base62(CRC32(the characters between the 4-character prefix
/// and the checksum)). npm tokens are also accepted with the CRC32 over the prefix too.
fn crc32_base62(s: &[u8]) -> bool {
    if s.len() < 4 + 6 + 20 {
        return false;
    }
    let (head, sum) = s.split_at(s.len() - 6);
    let Some(expected) = base62_decode(sum) else {
        return false;
    };
    expected == u64::from(crc32(&head[4..]))
        || (s.starts_with(b"npm_") && expected == u64::from(crc32(head)))
}

/// GitHub fine-grained PAT: chars 77..85 = base32(SHA-256(chars 0..77))[..8].
fn github_fine_grained(s: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    if s.len() != 93 {
        return false;
    }
    let digest = Sha256::digest(&s[..77]);
    base32_prefix8(&digest) == s[77..85]
}

/// First 8 characters of the RFC 4648 base32 encoding of `data` (5 bytes).
fn base32_prefix8(data: &[u8]) -> [u8; 8] {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let n = data
        .iter()
        .take(5)
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let mut out = [0u8; 8];
    for (i, o) in out.iter_mut().enumerate() {
        *o = A[((n >> (35 - 5 * i)) & 31) as usize];
    }
    out
}

/// Append the fine-grained checksum and 8 more characters to a 77-character `github_pat_…` head.
pub fn with_github_fine_grained(head77: &str, tail8: &str) -> String {
    use sha2::{Digest, Sha256};
    let sum = base32_prefix8(&Sha256::digest(head77.as_bytes()));
    format!("{head77}{}{tail8}", String::from_utf8_lossy(&sum))
}

/// Append the GitHub/npm checksum to `prefix + body30` (used by examples and the corpus).
pub fn with_crc32_base62(prefix: &str, body30: &str) -> String {
    format!(
        "{prefix}{body30}{}",
        base62(u64::from(crc32(body30.as_bytes())), 6)
    )
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex_u32(s: &[u8]) -> Option<u32> {
    if s.len() != 8 {
        return None;
    }
    s.iter()
        .try_fold(0u32, |acc, &c| Some((acc << 4) | u32::from(hex_val(c)?)))
}

fn atlassian_crc32(s: &[u8]) -> bool {
    if s.len() < 9 {
        return false;
    }
    let (body, sum) = s.split_at(s.len() - 8);
    hex_u32(sum) == Some(crc32(body))
}

/// Append the Atlassian checksum (8 upper-case hex digits of CRC32 of everything before).
pub fn with_atlassian_crc32(body: &str) -> String {
    format!("{body}{:08X}", crc32(body.as_bytes()))
}

fn grafana_crc32(s: &[u8]) -> bool {
    // glsa_ + 32 + _ + 8 hex = 46
    if s.len() != 46 || s[37] != b'_' {
        return false;
    }
    match hex_u32(&s[38..]) {
        Some(v) => v.swap_bytes() == crc32(&s[..37]),
        None => false,
    }
}

/// Append the Grafana service-account checksum to `glsa_<32>`.
pub fn with_grafana_crc32(head: &str) -> String {
    let le = crc32(head.as_bytes()).to_le_bytes();
    format!("{head}_{}", hex::encode(le))
}

fn gitlab_crc32(s: &[u8]) -> bool {
    if s.len() < 8 {
        return false;
    }
    let (body, sum) = s.split_at(s.len() - 7);
    let mut n: u64 = 0;
    for &c in sum {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            b'A'..=b'Z' => c - b'A' + 10,
            _ => return false,
        };
        n = n * 36 + u64::from(d);
    }
    n == u64::from(crc32(body))
}

/// Append the GitLab routable-token checksum (CRC32 in base36, 7 characters) to `head`.
pub fn with_gitlab_crc32(head: &str) -> String {
    const B36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = u64::from(crc32(head.as_bytes()));
    let mut out = Vec::new();
    while n > 0 {
        out.push(B36[(n % 36) as usize]);
        n /= 36;
    }
    while out.len() < 7 {
        out.push(b'0');
    }
    out.reverse();
    format!("{head}{}", String::from_utf8_lossy(&out))
}

// ---------------------------------------------------------------------------------------------
// Bech32 (BIP-173)

const BECH32_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn bech32_polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    for &v in values {
        let b = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (b >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn bech32_hrp_expand(hrp: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = hrp.iter().map(|c| c >> 5).collect();
    v.push(0);
    v.extend(hrp.iter().map(|c| c & 31));
    v
}

fn bech32(s: &[u8]) -> bool {
    let has_lower = s.iter().any(|c| c.is_ascii_lowercase());
    let has_upper = s.iter().any(|c| c.is_ascii_uppercase());
    if has_lower && has_upper {
        return false;
    }
    let s = s.to_ascii_lowercase();
    let Some(sep) = s.iter().rposition(|&c| c == b'1') else {
        return false;
    };
    if sep == 0 || sep + 7 > s.len() {
        return false;
    }
    let (hrp, data) = (&s[..sep], &s[sep + 1..]);
    let mut values = bech32_hrp_expand(hrp);
    for &c in data {
        match BECH32_CHARSET.iter().position(|&x| x == c) {
            Some(p) => values.push(p as u8),
            None => return false,
        }
    }
    let pm = bech32_polymod(&values);
    pm == 1 || pm == 0x2bc8_30a3
}

/// Encode 8-bit `data` as bech32 with human-readable part `hrp` (used by examples/corpus).
pub fn bech32_encode(hrp: &str, data: &[u8]) -> String {
    // convert 8-bit to 5-bit groups
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut five = Vec::new();
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            five.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        five.push(((acc << (5 - bits)) & 31) as u8);
    }
    let hrp_l = hrp.to_ascii_lowercase();
    let mut values = bech32_hrp_expand(hrp_l.as_bytes());
    values.extend(&five);
    values.extend([0u8; 6]);
    let pm = bech32_polymod(&values) ^ 1;
    let mut out = format!("{hrp_l}1");
    for d in five
        .iter()
        .copied()
        .chain((0..6).map(|i| ((pm >> (5 * (5 - i))) & 31) as u8))
    {
        out.push(BECH32_CHARSET[d as usize] as char);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Base58Check

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn base58_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    for &c in s {
        let mut carry = BASE58.iter().position(|&x| x == c)? as u32;
        for b in out.iter_mut().rev() {
            carry += u32::from(*b) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.iter().take_while(|&&c| c == b'1').count();
    let mut v = vec![0u8; zeros];
    v.extend(out);
    Some(v)
}

/// Base58 encoding of `data` (Bitcoin alphabet).
pub fn base58_encode(data: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new();
    for &b in data {
        let mut carry = u32::from(b);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut s: String = data.iter().take_while(|&&b| b == 0).map(|_| '1').collect();
    s.extend(digits.iter().rev().map(|&d| BASE58[d as usize] as char));
    s
}

fn sha256d4(payload: &[u8]) -> [u8; 4] {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(Sha256::digest(payload));
    [h[0], h[1], h[2], h[3]]
}

fn base58check(s: &[u8]) -> bool {
    match base58_decode(s) {
        Some(v) if v.len() > 4 => {
            let (payload, sum) = v.split_at(v.len() - 4);
            sha256d4(payload) == sum
        }
        _ => false,
    }
}

/// Base58Check encoding of `payload` (used by examples/corpus).
pub fn base58check_encode(payload: &[u8]) -> String {
    let mut v = payload.to_vec();
    v.extend(sha256d4(payload));
    base58_encode(&v)
}

// ---------------------------------------------------------------------------------------------
// Base64 and structured tokens

/// Decode standard or URL-safe base64, padding optional. None on any invalid character.
pub fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// URL-safe base64 without padding.
pub fn base64url_encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            s.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    s
}

fn pypi_macaroon(s: &[u8]) -> bool {
    let Some(body) = s.strip_prefix(b"pypi-") else {
        return false;
    };
    match base64_decode(body) {
        Some(v) => {
            v.len() > 40
                && v[0] == 2
                && v[1] == 1
                && (v[2..].starts_with(b"\x08pypi.org") || v[2..].starts_with(b"\x0dtest.pypi.org"))
        }
        None => false,
    }
}

fn jwt(s: &[u8]) -> bool {
    let mut parts = s.split(|&c| c == b'.');
    let (Some(h), Some(p), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if shannon_entropy(sig) < 3.0 {
        return false;
    }
    let (Some(h), Some(p)) = (base64_decode(h), base64_decode(p)) else {
        return false;
    };
    let json_object = |v: &[u8]| {
        let t = v.trim_ascii();
        t.first() == Some(&b'{')
    };
    json_object(&h) && json_object(&p) && memchr::memmem::find(&h, b"\"alg\"").is_some()
}

fn aws_key_id(s: &[u8]) -> bool {
    if s.len() != 20 || s.ends_with(b"EXAMPLE") {
        return false;
    }
    s[4..]
        .iter()
        .all(|c| matches!(c, b'A'..=b'Z' | b'2'..=b'7'))
}

// ---------------------------------------------------------------------------------------------
// Placeholders and generic values

/// Case-insensitive substrings that mark a value as a placeholder or sample, not a secret.
const PLACEHOLDER_WORDS: &[&str] = &[
    "changeme",
    "change_me",
    "change-me",
    "example",
    "placeholder",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yourpass",
    "dummy",
    "redacted",
    "xxxx",
    "****",
    "....",
    "todo",
    "replace",
    "insert",
    "fake",
    "sample",
    "notreal",
    "not_real",
    "not-real",
    "secret",
    "password",
    "passwd",
    "test",
    "demo",
    "mock",
    "lorem",
    "foobar",
    "qwerty",
    "abcdef",
    "123456",
    "aaaaaa",
    "hunter",
    "letmein",
    "postgres",
    "mysql",
    "admin",
    "guest",
    "root",
    "undefined",
    "null",
    "none",
    "empty",
    "default",
    "<",
    ">",
];

/// Prefixes of values that are lookups, templating or code, not literals.
const LOOKUP_PREFIXES: &[&str] = &[
    "$",
    "{{",
    "%(",
    "%s",
    "#{",
    "@{",
    "env.",
    "env[",
    "env(",
    "os.",
    "process.",
    "getenv",
    "system.getenv",
    "config.",
    "settings.",
    "secrets.",
    "vault:",
    "ref+",
    "self.",
    "this.",
    "params.",
    "request.",
    "args.",
    "var.",
    "local.",
    "data.",
    "props.",
    "ctx.",
    "cfg.",
    "sha1-",
    "sha256-",
    "sha384-",
    "sha512-",
    "ssh-rsa",
    "ssh-ed25519",
    "ecdsa-sha2",
    "pk_live_",
    "pk_test_",
    // Mapbox public tokens; reCAPTCHA-style site keys are public by design
    "pk.",
    // password hashes: Django, Werkzeug, passlib, crypt(3), LDAP
    "pbkdf2_",
    "pbkdf2:",
    "argon2",
    "scrypt:",
    "bcrypt$",
    "sha1$",
    "sha256$",
    "md5$",
    "{ssha}",
    "{sha}",
    "{crypt}",
    "scram-sha-256$",
    "http://",
    "https://",
    "file:",
    "/",
    "./",
    "../",
    "~/",
    "\\",
    "&",
    // references to secret stores and encrypted values
    "enc[",
    "!vault",
    "$ansible_vault",
    "arn:aws:secretsmanager:",
    "arn:aws:ssm:",
    "projects/",
    "@microsoft.keyvault(",
    "akv://",
    "op://",
    "sm://",
    "vault://",
    "awssm:",
    "gcpsm:",
    "azkv:",
    "secret://",
    "keyring:",
    "<%",
    "{%",
    "@@",
];

fn lowered(s: &[u8]) -> String {
    String::from_utf8_lossy(s).to_ascii_lowercase()
}

fn is_placeholder(s: &[u8]) -> bool {
    let l = lowered(s);
    if PLACEHOLDER_WORDS.iter().any(|w| l.contains(w))
        || LOOKUP_PREFIXES.iter().any(|p| l.starts_with(p))
    {
        return true;
    }
    let distinct = {
        let mut seen = [false; 256];
        s.iter()
            .filter(|&&b| !std::mem::replace(&mut seen[b as usize], true))
            .count()
    };
    // `*ptr`, `*args`: a dereference or a splat; `****`: a mask (caught by `distinct` below)
    if s.first() == Some(&b'*')
        && s[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.'))
    {
        return true;
    }
    // PostgreSQL's stored form of a password: "md5" + 32 hex digits
    if s.len() == 35 && l.starts_with("md5") && s[3..].iter().all(u8::is_ascii_hexdigit) {
        return true;
    }
    // ALL-CAPS words are names standing in for a value: `TOKEN`, `YOUR_PASSWORD`, `DB_PASS`
    let caps_name = s.len() >= 3
        && s.iter()
            .all(|&c| c.is_ascii_uppercase() || c == b'_' || c == b'-')
        && s.iter().any(u8::is_ascii_uppercase);
    distinct < 4 || caps_name
}

fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn password(s: &[u8]) -> bool {
    // brackets, braces, angle brackets and backticks are templating
    s.len() >= 4 && !is_placeholder(s) && !s.iter().any(|c| b"[]{}<>`".contains(c))
}

/// Words of a key name that mean "not a secret even though it looks like one". A key name is
/// split into words (`next_page_token` → next, page, token; `publicKey` → public, key) and is
/// judged by whole words, so `STATUSPAGE_API_TOKEN`, `SHARED_SECRET` and `SECURITY_TOKEN` stay
/// secrets while `next_page_token`, `sha256` and `client_id` do not.
const NON_SECRET_WORDS: &[&str] = &[
    "public",
    "pub",
    "pubkey",
    "hash",
    "hashed",
    "digest",
    "checksum",
    "integrity",
    "etag",
    "nonce",
    "fingerprint",
    "id",
    "ids",
    "uuid",
    "guid",
    "format",
    "length",
    "len",
    "type",
    "name",
    "url",
    "uri",
    "path",
    "file",
    "filename",
    "field",
    "header",
    "policy",
    "version",
    "timeout",
    "ttl",
    "prefix",
    "label",
    "csrf",
    "xsrf",
    "page",
    "cursor",
    "next",
    "tokenizer",
    "lexer",
    "parser",
    "sort",
    "cache",
    "md5",
    "count",
    "size",
    "max",
    "min",
    "kid",
    // git's `user.signingkey` names a key (its id), it is not one
    "signingkey",
    // public by design: Stripe publishable keys, Algolia search-only keys, reCAPTCHA site keys
    "publishable",
    "search",
    "site",
];

/// Does the key name before a value say the value is not a secret?
fn non_secret_key(key: &[u8]) -> bool {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for &c in key {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            cur.push(c.to_ascii_lowercase() as char);
        } else {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words.iter().any(|w| {
        NON_SECRET_WORDS.contains(&w.as_str())
            || w.starts_with("expir")
            || (w.starts_with("sha") && w[3..].bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The text a padded base64 value encodes, when it is base64 of printable ASCII.
fn encoded_text(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(4) || !s.ends_with(b"=") {
        return None;
    }
    let plain = base64_decode(s)?;
    (plain.len() >= 3 && plain.iter().all(|&c| (0x20..0x7f).contains(&c))).then_some(plain)
}

/// `Authorization: Basic …`: `user:password` with a password that is not a placeholder, or a
/// long token as the user with an empty password.
fn basic_auth(s: &[u8]) -> bool {
    let Some(plain) = base64_decode(s) else {
        return false;
    };
    if plain.iter().any(|&c| c < 0x20 || c == 0x7f) {
        return false;
    }
    let Some(colon) = plain.iter().position(|&c| c == b':') else {
        return false;
    };
    let (user, pass) = (&plain[..colon], &plain[colon + 1..]);
    if pass.is_empty() {
        return user.len() >= 16 && !is_placeholder(user);
    }
    password(pass)
}

/// A Kubernetes Secret `data:` value: base64 of a private key, of random bytes, or of a text
/// password that is not a placeholder.
fn base64_secret(s: &[u8]) -> bool {
    let Some(plain) = base64_decode(s) else {
        return false;
    };
    let text = std::str::from_utf8(&plain).ok();
    match text {
        Some(t) if t.contains("PRIVATE KEY-----") => true,
        Some(t) if t.contains("-----BEGIN") => false,
        Some(t) => {
            let t = t.trim();
            // a nested lookup or a URL without credentials is not a secret
            !t.contains(char::is_whitespace) && password(t.as_bytes())
        }
        None => plain.len() >= 16,
    }
}

/// The password of `scheme://user:password@host`; `key` is the text before it.
fn url_password(s: &[u8], key: &[u8]) -> bool {
    // `scheme://user:` before a URL's password; `host:port:db:user:` before a .pgpass one
    let user = match key.windows(3).rposition(|w| w == b"://") {
        Some(at) => key[at + 3..].strip_suffix(b":").unwrap_or_default(),
        None => key
            .strip_suffix(b":")
            .and_then(|k| k.rsplit(|&c| c == b':').next())
            .unwrap_or_default(),
    };
    password(s) && !user.eq_ignore_ascii_case(s)
}

/// Discord bot token `<base64 of the bot id>.<timestamp>.<hmac>`: the id is 17–20 digits.
fn discord_bot_token(s: &[u8]) -> bool {
    let first = s.split(|&c| c == b'.').next().unwrap_or_default();
    base64_decode(first)
        .is_some_and(|id| (17..=20).contains(&id.len()) && id.iter().all(u8::is_ascii_digit))
}

/// A password literal: [`generic`], or a quoted 10+ character value that mixes character
/// classes without digits (`"RAkPSvwWqjmHfswk_Mh"`); unquoted words stay code.
fn generic_password(s: &[u8], key: &[u8]) -> bool {
    if generic(s, key) {
        return true;
    }
    let quoted = key.last().is_some_and(|c| matches!(c, b'"' | b'\'' | b'`'));
    let classes = [
        s.iter().any(u8::is_ascii_lowercase),
        s.iter().any(u8::is_ascii_uppercase),
        s.iter().any(|c| c.is_ascii_punctuation()),
    ]
    .iter()
    .filter(|&&x| x)
    .count();
    quoted
        && s.len() >= 10
        && s.len() <= 200
        && classes >= 2
        && !is_placeholder(s)
        && !non_secret_key(key)
        // camelCase identifiers in quotes are names (`"passwordField"`), not passwords
        && s.iter().filter(|c| c.is_ascii_uppercase()).count() * 4 >= s.len().min(40)
}

fn generic(s: &[u8], key: &[u8]) -> bool {
    // Longer values are encrypted blobs (sealed secrets, SOPS, Ansible vault), certificates or
    // embedded files, not passwords or API keys (which have rules of their own when long).
    if s.len() < 8 || s.len() > 200 || is_placeholder(s) || is_uuid(s) {
        return false;
    }
    // A base64 encoding of a short text (a Kubernetes Secret value, a basic-auth pair) is
    // judged by what it encodes: `Y2hhbmdlbWU=` is "changeme".
    if let Some(text) = encoded_text(s) {
        return password(&text);
    }
    if non_secret_key(key) {
        return false;
    }
    // code, not a literal: calls, member access chains, indexing, type annotations
    if s.iter().any(|&c| {
        matches!(
            c,
            b'(' | b')' | b'[' | b']' | b'{' | b'}' | b' ' | b',' | b';'
        )
    }) {
        return false;
    }
    let letters = s.iter().filter(|c| c.is_ascii_alphabetic()).count();
    let digits = s.iter().filter(|c| c.is_ascii_digit()).count();
    // Random secrets of 8+ characters nearly always mix letters and digits; code does not.
    if letters == 0 || digits == 0 {
        return false;
    }
    // snake_case / CONSTANT_CASE / kebab identifiers and dotted paths, even with digits
    let lower_ident = s.iter().all(|&c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-' || c == b'.'
    });
    let upper_ident = s.iter().all(|&c| {
        c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_' || c == b'-' || c == b'.'
    });
    if (lower_ident || upper_ident) && s.iter().any(|&c| matches!(c, b'_' | b'-' | b'.')) {
        let longest_run = s
            .split(|&c| matches!(c, b'_' | b'-' | b'.'))
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0);
        if longest_run <= 12 {
            return false;
        }
    }
    // member access / paths in code
    if s.windows(2).any(|w| w == b"::" || w == b"->") {
        return false;
    }
    // file names
    let l = lowered(s);
    if [
        ".json", ".pem", ".txt", ".key", ".yaml", ".yml", ".env", ".crt", ".p12", ".js", ".py",
    ]
    .iter()
    .any(|e| l.ends_with(e))
    {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_public_examples() {
        // revoked tokens published as scanner examples
        assert!(crc32_base62(b"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"));
        assert!(crc32_base62(
            b"ghr_xgrrGzSbbGRL34Wp39JU9nxtN27Pr1v1He8FjE7x7wbExGGs7nfJszJDAmZuoKasxZ0KxJ1HSzgc"
        ));
        assert!(github_fine_grained(
            b"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"
        ));
        assert!(!github_fine_grained(
            b"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"
        ));
    }

    #[test]
    fn crc32_known_vector() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn github_checksum_roundtrip() {
        let t = with_crc32_base62("ghp_", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1");
        assert!(crc32_base62(t.as_bytes()));
        let mut bad = t.into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        assert!(!crc32_base62(&bad));
    }

    #[test]
    fn bech32_roundtrip_and_bip173_vector() {
        assert!(bech32(b"A12UEL5L"));
        assert!(bech32(b"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"));
        let s = bech32_encode("nsec", &[7u8; 32]);
        assert!(bech32(s.as_bytes()));
        let mut bad = s.into_bytes();
        bad[10] = if bad[10] == b'q' { b'p' } else { b'q' };
        assert!(!bech32(&bad));
    }

    #[test]
    fn base58check_roundtrip() {
        let s = base58check_encode(&[0x80; 33]);
        assert!(base58check(s.as_bytes()));
        // the WIF example of the Bitcoin wiki validates; one changed character does not
        assert!(base58check(
            b"5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"
        ));
        assert!(!base58check(
            b"5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTK"
        ));
    }

    #[test]
    fn key_names_are_judged_by_whole_words() {
        // regression: substring matching dropped these ("sha", "uri", "page")
        for key in [
            &b"SHARED_SECRET="[..],
            b"SECURITY_TOKEN: ",
            b"STATUSPAGE_API_TOKEN=\"",
        ] {
            assert!(!non_secret_key(key), "{}", String::from_utf8_lossy(key));
        }
        for key in [
            &b"next_page_token = '"[..],
            b"client_id: ",
            b"publicKey = \"",
            b"sha256: ",
            b"signingkey = ",
            b"ALGOLIA_SEARCH_KEY=",
        ] {
            assert!(non_secret_key(key), "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn defaults_encodings_and_hashes_are_not_secrets() {
        // base64 of "changeme" is judged as "changeme"
        assert!(!generic(b"Y2hhbmdlbWU=", b"password: "));
        // user name repeated as password, in a URL and in a .pgpass line
        assert!(!url_password(b"postgres", b"postgres://postgres:"));
        assert!(url_password(b"Xk29vLq8Rt", b"postgres://app:"));
        assert!(!url_password(
            b"keycloak",
            b"localhost:5434:keycloak:keycloak:"
        ));
        assert!(password(b"p^ss|w0rd!"), "^ and | are password characters");
        assert!(is_placeholder(b"pbkdf2_sha256$600000$abc$def"));
        assert!(is_placeholder(b"md53175bce1d3201d16594cebf9d7eb3f9d"));
        assert!(is_placeholder(b"*ptr_value"));
        assert!(is_placeholder(b"YOUR_PASSWORD"));
    }

    #[test]
    fn basic_auth_and_discord_structure() {
        // "deploy:Xk29#vLq8Rt"
        assert!(basic_auth(b"ZGVwbG95OlhrMjkjdkxxOFJ0"));
        // "user:password" is a placeholder, "no colon" is no credential
        assert!(!basic_auth(b"dXNlcjpwYXNzd29yZA=="));
        assert!(!basic_auth(b"bm8gY29sb24="));
        // base64("112233445566778899") . ts . hmac
        assert!(discord_bot_token(b"MTEyMjMzNDQ1NTY2Nzc4ODk5.AbCdEf.x"));
        assert!(!discord_bot_token(b"MTAabcdefghijklmnopqrstu.AbCdEf.x"));
    }

    #[test]
    fn quoted_passwords_without_digits_count_but_identifiers_do_not() {
        assert!(generic_password(b"RAkPSvwWqjmHfswk_Mh", b"password = \""));
        assert!(!generic_password(b"passwordField", b"password = \""));
        assert!(!generic_password(b"RAkPSvwWqjmHfswk_Mh", b"password = "));
    }

    #[test]
    fn entropy_bounds() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-6);
    }
}
