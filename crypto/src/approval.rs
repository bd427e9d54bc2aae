//! Signed code-review approvals: an in-toto Statement v1 in a DSSE envelope, signed with a
//! reviewer's SSH or OpenPGP key, verified with the policy's [`Keyring`].
//!
//! An approval says "I, the owner of this key, approve (or reject, or revoke my approval of)
//! moving `targetRef` from `fromID` to a commit whose tree is `targetID`". The three binding
//! fields mean what they mean in gittuf's `reference-authorization/v0.2`. The format, the
//! namespaces and the planned storage are in `docs/approvals.md`.
//!
//! Making one (what `pushguard approve` will do; nothing here spawns a process):
//!
//! ```
//! use crypto::approval::{Envelope, Predicate, Statement, Verdict};
//!
//! let statement = Statement::new(Predicate {
//!     target_ref: "refs/heads/main".into(),
//!     from_id: "1111111111111111111111111111111111111111".into(),
//!     target_id: "2222222222222222222222222222222222222222".into(),
//!     reviewed_range: "1111111111111111111111111111111111111111..3333333333333333333333333333333333333333".into(),
//!     patch_id: None,
//!     verdict: Verdict::Approve,
//!     reviewer: "alice".into(),
//!     policy_digest: format!("sha256:{}", "ab".repeat(32)),
//!     issued_at: 1_767_225_600,
//!     expires_at: 1_767_830_400,
//!     nonce: "5f0c3a9e8d1b47c2a6e4f0b1c9d8e7a6".into(),
//! });
//! statement.check()?; // what the server would refuse, refused before signing
//! let mut envelope = Envelope::unsigned(&statement);
//! // Write these bytes to a file and sign it:
//! //   ssh-keygen -Y sign -n pushguard-approval -f ~/.ssh/id_ed25519 approval.pae
//! let to_sign: Vec<u8> = envelope.pae();
//! assert!(to_sign.starts_with(b"DSSEv1 28 application/vnd.in-toto+json "));
//! # let armored_signature = b"-----BEGIN PGP SIGNATURE-----\n...\n-----END PGP SIGNATURE-----\n";
//! // Then put the armored signature (approval.pae.sig) in the envelope and store its JSON.
//! envelope.add_signature("", armored_signature)?;
//! let json: String = envelope.to_json();
//! # assert!(json.contains("\"payloadType\":\"application/vnd.in-toto+json\""));
//! # Ok::<(), crypto::approval::ApprovalError>(())
//! ```
//!
//! Checking one: [`verify_approval`] (envelope, signatures, expiry; returns who approved what),
//! then [`VerifiedApproval::matches`] against the ref update being pushed.

use std::collections::BTreeMap;

use base64::Engine as _;
use rules::calendar::{civil_from_days, days_from_civil, days_in_month};
use rules::facts::{KeyVerdict, SignatureCheck, SignatureFormat};
use serde::{de, Deserialize, Serialize};
use serde_json::Value;

use crate::{FakeVerifier, Keyring, SignatureVerifier};

/// The DSSE payload type of an approval: an in-toto Statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The in-toto Statement version approvals use.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of a pushguard approval (version 1).
pub const PREDICATE_TYPE: &str = "https://pushguard.dev/code-review-approval/v1";
/// The SSHSIG namespace approvals are signed under (`ssh-keygen -Y sign -n pushguard-approval`).
/// Not git's `git`, so a commit or tag signature can never pass as an approval, nor an
/// approval signature as a commit signature.
pub const SSH_NAMESPACE: &str = "pushguard-approval";
/// Most signatures an envelope may carry (each is verified; an approval has one author).
pub const MAX_SIGNATURES: usize = 8;
/// How far in the future `issuedAt` may be (clock skew between reviewer and server), seconds.
pub const MAX_CLOCK_SKEW: i64 = 300;

const SSH_ARMOR: &[u8] = b"-----BEGIN SSH SIGNATURE-----";
const PGP_ARMOR: &[u8] = b"-----BEGIN PGP SIGNATURE-----";

/// Which JSON object a field belongs to, in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The DSSE envelope.
    Envelope,
    /// One entry of the envelope's `signatures`.
    Signature,
    /// The in-toto Statement (the decoded payload).
    Statement,
    /// The Statement's `subject` entry.
    Subject,
    /// The approval predicate.
    Predicate,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Envelope => "envelope",
            Part::Signature => "envelope signature",
            Part::Statement => "statement",
            Part::Subject => "statement subject",
            Part::Predicate => "predicate",
        })
    }
}

/// Why an approval is refused. A refused approval does not count; the engine reports the
/// reason ([`ApprovalError::code`]) to the pusher.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ApprovalError {
    /// The envelope or the payload is not a JSON object.
    #[error("{part} is not valid JSON: {reason}")]
    NotJson { part: Part, reason: String },
    /// A required field is missing (or `null`).
    #[error("{part} has no field {field:?}")]
    MissingField { part: Part, field: &'static str },
    /// A field this version does not know. Refused rather than ignored: a field we do not
    /// understand could narrow what the signer meant to approve.
    #[error("{part} has an unknown field {field:?}")]
    UnknownField { part: Part, field: String },
    /// A field has the wrong JSON type or an invalid value.
    #[error("{part} field {field:?} is invalid: {reason}")]
    BadField {
        part: Part,
        field: &'static str,
        reason: String,
    },
    /// `payload` or a signature's `sig` is not canonical base64.
    #[error("{field} is not valid base64")]
    BadBase64 { field: String },
    /// The envelope's `payloadType` is not [`PAYLOAD_TYPE`].
    #[error("payload type is {found:?}, not {PAYLOAD_TYPE:?}")]
    WrongPayloadType { found: String },
    /// The Statement's `_type` is not [`STATEMENT_TYPE`].
    #[error("statement type is {found:?}, not {STATEMENT_TYPE:?}")]
    WrongStatementType { found: String },
    /// The Statement's `predicateType` is not [`PREDICATE_TYPE`].
    #[error("predicate type is {found:?}, not {PREDICATE_TYPE:?}")]
    WrongPredicateType { found: String },
    /// The subject does not name the predicate's tree and reviewed head.
    #[error("subject does not match the predicate: {reason}")]
    SubjectMismatch { reason: String },
    /// The envelope carries no signature.
    #[error("the envelope is not signed")]
    Unsigned,
    /// A signature is not an SSH or OpenPGP armored signature (when adding one), or an SSH
    /// signature was made under another namespace than [`SSH_NAMESPACE`].
    #[error("cannot use this signature for an approval: {reason}")]
    UnusableSignature { reason: String },
    /// No signature verified with a key of the policy. `checks` has one entry per signature,
    /// in envelope order, each with its verdict and detail.
    #[error("no valid signature: {}", summary(.checks))]
    NoValidSignature { checks: Vec<SignatureCheck> },
    /// Signatures by keys of different identities: an approval has one author.
    #[error("signed by several identities: {}", .identities.join(", "))]
    SeveralSigners { identities: Vec<String> },
    /// `expiresAt` has come (an approval counts up to, not including, that second).
    #[error("expired at {}", format_rfc3339(*.expires_at))]
    Expired { expires_at: i64, now: i64 },
    /// `issuedAt` is later than now (beyond [`MAX_CLOCK_SKEW`]).
    #[error("issued in the future ({})", format_rfc3339(*.issued_at))]
    IssuedInFuture { issued_at: i64, now: i64 },
}

fn summary(checks: &[SignatureCheck]) -> String {
    checks
        .iter()
        .map(|c| {
            let code = c
                .verdict
                .refusal_code()
                .map_or("good", |code| code.as_str())
                .to_owned();
            match &c.detail {
                Some(d) => format!("{code} ({d})"),
                None => code,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApprovalError {
    /// A stable snake_case code for reports, e.g. `expired`, `bad_base64`.
    pub fn code(&self) -> &'static str {
        match self {
            ApprovalError::NotJson { .. } => "not_json",
            ApprovalError::MissingField { .. } => "missing_field",
            ApprovalError::UnknownField { .. } => "unknown_field",
            ApprovalError::BadField { .. } => "bad_field",
            ApprovalError::BadBase64 { .. } => "bad_base64",
            ApprovalError::WrongPayloadType { .. } => "wrong_payload_type",
            ApprovalError::WrongStatementType { .. } => "wrong_statement_type",
            ApprovalError::WrongPredicateType { .. } => "wrong_predicate_type",
            ApprovalError::SubjectMismatch { .. } => "subject_mismatch",
            ApprovalError::Unsigned => "unsigned",
            ApprovalError::UnusableSignature { .. } => "unusable_signature",
            ApprovalError::NoValidSignature { .. } => "no_valid_signature",
            ApprovalError::SeveralSigners { .. } => "several_signers",
            ApprovalError::Expired { .. } => "expired",
            ApprovalError::IssuedInFuture { .. } => "issued_in_future",
        }
    }
}

/// What the reviewer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Counts towards the required approvals.
    Approve,
    /// Blocks the update (a request for changes).
    Reject,
    /// Withdraws this reviewer's earlier approve or reject for the same binding.
    Revoke,
}

impl Verdict {
    /// `approve`, `reject` or `revoke`, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
            Verdict::Revoke => "revoke",
        }
    }
}

/// The approval predicate: what is approved, by whom (claimed), under which policy, until when.
/// Object ids are lowercase hex (SHA-1 or SHA-256 repositories); times are Unix seconds here
/// and RFC 3339 UTC (`2026-01-01T00:00:00Z`) in the JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predicate {
    /// The ref the update moves, `refs/heads/main` (gittuf `targetRef`).
    pub target_ref: String,
    /// The ref's tip the change was reviewed against, the update's old value; all zeros for a
    /// ref being created (gittuf `fromID`).
    pub from_id: String,
    /// The tree of the resulting tip (gittuf `targetID`: a tree, so a re-made commit with the
    /// same content keeps the approval).
    pub target_id: String,
    /// The commits reviewed, `<base>..<head>`; `head` is the subject's `gitCommit`.
    pub reviewed_range: String,
    /// `git patch-id --stable` of the range, for the `patch_id` staleness mode.
    pub patch_id: Option<String>,
    /// approve, reject or revoke.
    pub verdict: Verdict,
    /// The policy identity the signer claims to be. Informational: the key decides who signed.
    pub reviewer: String,
    /// `sha256:<hex>` of the policy the reviewer saw.
    pub policy_digest: String,
    /// When the approval was made (Unix seconds).
    pub issued_at: i64,
    /// When it stops counting (Unix seconds): valid while `now < expires_at`.
    pub expires_at: i64,
    /// A random string that makes every approval unique (at least 16 characters).
    pub nonce: String,
}

impl Predicate {
    /// The reviewed head commit: the part of `reviewed_range` after `..`.
    pub fn reviewed_head(&self) -> &str {
        self.reviewed_range
            .split_once("..")
            .map_or(self.reviewed_range.as_str(), |(_, head)| head)
    }
}

/// The in-toto Statement of an approval: one subject (`gitTree` = the predicate's `targetID`,
/// `gitCommit` = the reviewed head) and the predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The approval itself.
    pub predicate: Predicate,
}

impl Statement {
    /// The Statement for `predicate`; the subject is derived from it.
    pub fn new(predicate: Predicate) -> Self {
        Statement { predicate }
    }

    /// The payload bytes: compact JSON, fields in a fixed order.
    pub fn to_payload(&self) -> Vec<u8> {
        let p = &self.predicate;
        let wire = WireStatement {
            type_: STATEMENT_TYPE,
            subject: [WireSubject {
                digest: WireDigest {
                    git_tree: &p.target_id,
                    git_commit: p.reviewed_head(),
                },
            }],
            predicate_type: PREDICATE_TYPE,
            predicate: WirePredicate {
                target_ref: &p.target_ref,
                from_id: &p.from_id,
                target_id: &p.target_id,
                reviewed_range: &p.reviewed_range,
                patch_id: p.patch_id.as_deref(),
                verdict: p.verdict,
                reviewer: &p.reviewer,
                policy_digest: &p.policy_digest,
                issued_at: format_rfc3339(p.issued_at),
                expires_at: format_rfc3339(p.expires_at),
                nonce: &p.nonce,
            },
        };
        serde_json::to_vec(&wire).expect("a struct of strings always serializes")
    }

    /// Checks the statement as [`verify_approval`] will read it (object ids, ref, digest,
    /// times, nonce): the error the server would give, before anyone signs.
    pub fn check(&self) -> Result<(), ApprovalError> {
        Statement::parse(&self.to_payload()).map(|_| ())
    }

    /// Parses and validates a payload (the decoded DSSE `payload`). This authenticates
    /// nothing: [`verify_approval`] parses the payload only once a signature verified.
    pub fn parse(payload: &[u8]) -> Result<Self, ApprovalError> {
        let mut obj = object(Part::Statement, payload)?;
        let type_ = take_str(&mut obj, Part::Statement, "_type")?;
        if type_ != STATEMENT_TYPE {
            return Err(ApprovalError::WrongStatementType { found: type_ });
        }
        let predicate_type = take_str(&mut obj, Part::Statement, "predicateType")?;
        if predicate_type != PREDICATE_TYPE {
            return Err(ApprovalError::WrongPredicateType {
                found: predicate_type,
            });
        }
        let subject = take(&mut obj, Part::Statement, "subject")?;
        let predicate = take(&mut obj, Part::Statement, "predicate")?;
        no_more(obj, Part::Statement)?;

        let predicate = parse_predicate(predicate)?;
        let (tree, commit) = parse_subject(subject)?;
        if tree != predicate.target_id {
            return Err(ApprovalError::SubjectMismatch {
                reason: format!(
                    "subject gitTree {tree} is not the predicate's targetID {}",
                    predicate.target_id
                ),
            });
        }
        if commit != predicate.reviewed_head() {
            return Err(ApprovalError::SubjectMismatch {
                reason: format!(
                    "subject gitCommit {commit} is not the head of reviewedRange {}",
                    predicate.reviewed_range
                ),
            });
        }
        Ok(Statement { predicate })
    }
}

#[derive(Serialize)]
struct WireStatement<'a> {
    #[serde(rename = "_type")]
    type_: &'a str,
    subject: [WireSubject<'a>; 1],
    #[serde(rename = "predicateType")]
    predicate_type: &'a str,
    predicate: WirePredicate<'a>,
}

#[derive(Serialize)]
struct WireSubject<'a> {
    digest: WireDigest<'a>,
}

#[derive(Serialize)]
struct WireDigest<'a> {
    #[serde(rename = "gitTree")]
    git_tree: &'a str,
    #[serde(rename = "gitCommit")]
    git_commit: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WirePredicate<'a> {
    target_ref: &'a str,
    #[serde(rename = "fromID")]
    from_id: &'a str,
    #[serde(rename = "targetID")]
    target_id: &'a str,
    reviewed_range: &'a str,
    #[serde(rename = "patchID", skip_serializing_if = "Option::is_none")]
    patch_id: Option<&'a str>,
    verdict: Verdict,
    reviewer: &'a str,
    policy_digest: &'a str,
    issued_at: String,
    expires_at: String,
    nonce: &'a str,
}

/// One signature of a DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvelopeSignature {
    /// A hint naming the key (its fingerprint); never trusted, the signature names its key.
    pub keyid: String,
    /// The armored signature bytes exactly as `ssh-keygen -Y sign` or `gpg --detach-sign
    /// --armor` wrote them; base64 of these in the JSON.
    #[serde(serialize_with = "as_base64")]
    pub sig: Vec<u8>,
}

/// A DSSE envelope holding an approval Statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Envelope {
    /// The Statement's JSON bytes (base64 in the envelope JSON).
    #[serde(serialize_with = "as_base64")]
    pub payload: Vec<u8>,
    /// Always [`PAYLOAD_TYPE`] for an approval.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The signatures over [`Envelope::pae`].
    pub signatures: Vec<EnvelopeSignature>,
}

fn as_base64<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

impl Envelope {
    /// An envelope for `statement` with no signature yet. Call [`Statement::check`] first, so
    /// a reviewer never signs an approval the server would refuse to read.
    pub fn unsigned(statement: &Statement) -> Self {
        Envelope {
            payload: statement.to_payload(),
            payload_type: PAYLOAD_TYPE.to_owned(),
            signatures: Vec::new(),
        }
    }

    /// The bytes every signature signs: DSSE's pre-authentication encoding of the payload.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Adds a signature over [`Envelope::pae`]: the armored output of `ssh-keygen -Y sign -n
    /// pushguard-approval` or `gpg --detach-sign --armor`. An SSH signature under another
    /// namespace, or anything else, is refused here already. `keyid` is a hint (may be empty).
    /// Does not check that the signature is good: [`verify_approval`] does.
    pub fn add_signature(&mut self, keyid: &str, armored: &[u8]) -> Result<(), ApprovalError> {
        let block = armored.trim_ascii_start();
        if block.starts_with(SSH_ARMOR) {
            let namespace =
                sshsig_namespace(block).ok_or_else(|| ApprovalError::UnusableSignature {
                    reason: "cannot read the SSH signature".into(),
                })?;
            if namespace != SSH_NAMESPACE {
                return Err(ApprovalError::UnusableSignature {
                    reason: format!(
                        "SSH signature was made for namespace {namespace:?}; sign with -n {SSH_NAMESPACE}"
                    ),
                });
            }
        } else if !block.starts_with(PGP_ARMOR) {
            return Err(ApprovalError::UnusableSignature {
                reason: "not an armored SSH or OpenPGP signature".into(),
            });
        }
        self.signatures.push(EnvelopeSignature {
            keyid: keyid.to_owned(),
            sig: armored.to_vec(),
        });
        Ok(())
    }

    /// The envelope as compact JSON (what is stored).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("strings and lists always serialize")
    }

    /// Parses envelope JSON: every field present, nothing unknown, base64 canonical, payload
    /// type [`PAYLOAD_TYPE`]. Does not look inside the payload or at the signatures.
    pub fn parse(json: &[u8]) -> Result<Self, ApprovalError> {
        let mut obj = object(Part::Envelope, json)?;
        let payload_type = take_str(&mut obj, Part::Envelope, "payloadType")?;
        let payload = take_str(&mut obj, Part::Envelope, "payload")?;
        let signatures = take(&mut obj, Part::Envelope, "signatures")?;
        no_more(obj, Part::Envelope)?;
        let payload = decode_base64(&payload).ok_or_else(|| ApprovalError::BadBase64 {
            field: "payload".into(),
        })?;
        if payload_type != PAYLOAD_TYPE {
            return Err(ApprovalError::WrongPayloadType {
                found: payload_type,
            });
        }
        let Value::Array(list) = signatures else {
            return Err(bad(Part::Envelope, "signatures", "not a list"));
        };
        if list.len() > MAX_SIGNATURES {
            return Err(bad(
                Part::Envelope,
                "signatures",
                format!("{} signatures; at most {MAX_SIGNATURES}", list.len()),
            ));
        }
        let mut out = Vec::with_capacity(list.len());
        for (i, entry) in list.into_iter().enumerate() {
            let Value::Object(map) = entry else {
                return Err(bad(
                    Part::Envelope,
                    "signatures",
                    "an entry is not an object",
                ));
            };
            let mut map: BTreeMap<String, Value> = map.into_iter().collect();
            let sig = take_str(&mut map, Part::Signature, "sig")?;
            // DSSE: keyid is optional.
            let keyid = match map.remove("keyid") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s,
                Some(_) => return Err(bad(Part::Signature, "keyid", "not a string")),
            };
            no_more(map, Part::Signature)?;
            let sig = decode_base64(&sig).ok_or_else(|| ApprovalError::BadBase64 {
                field: format!("signatures[{i}].sig"),
            })?;
            out.push(EnvelopeSignature { keyid, sig });
        }
        Ok(Envelope {
            payload,
            payload_type,
            signatures: out,
        })
    }
}

/// The namespace of an armored SSHSIG, read by hand (ssh-key cannot parse certificate
/// signatures): the `SSHSIG` magic, a u32 version, the public key blob, then the namespace.
fn sshsig_namespace(armored: &[u8]) -> Option<String> {
    let blob = crate::ssh::armor_blob(armored)?;
    let rest = blob.strip_prefix(b"SSHSIG")?.get(4..)?;
    let (_public_key, rest) = crate::ssh::read_string(rest)?;
    let (namespace, _) = crate::ssh::read_string(rest)?;
    String::from_utf8(namespace.to_vec()).ok()
}

/// DSSE v1 pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal bytes.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// Checks one approval signature. Separate from [`SignatureVerifier`] because an approval's
/// SSH signatures are made under [`SSH_NAMESPACE`], not `git`.
pub trait ApprovalVerifier: Send + Sync {
    /// Verifies `signature` (armored) over `pae`, judging the key at `now` (Unix seconds).
    fn verify_approval_signature(&self, signature: &[u8], pae: &[u8], now: i64) -> SignatureCheck;
}

impl ApprovalVerifier for Keyring {
    /// SSH (plain keys, namespace [`SSH_NAMESPACE`], grants and revocations as for commits) and
    /// OpenPGP (as for commits). SSH certificates and X.509 are not accepted for approvals yet.
    fn verify_approval_signature(&self, signature: &[u8], pae: &[u8], now: i64) -> SignatureCheck {
        let block = signature.trim_ascii_start();
        if block.starts_with(SSH_ARMOR) {
            let certificate = crate::ssh::sshsig_key_type(block)
                .is_some_and(|t| t.ends_with(crate::ssh_cert::CERT_SUFFIX));
            if certificate {
                return SignatureCheck {
                    verdict: KeyVerdict::UnsupportedFormat,
                    format: Some(SignatureFormat::Ssh),
                    detail: Some(
                        "approvals signed with an SSH certificate are not supported yet".into(),
                    ),
                    ..SignatureCheck::default()
                };
            }
            self.ssh
                .verify_in(SSH_NAMESPACE, block, pae, now, &self.ssh_revoked)
        } else if block.starts_with(PGP_ARMOR) {
            self.openpgp.verify(block, pae, now)
        } else {
            SignatureCheck {
                verdict: KeyVerdict::UnsupportedFormat,
                detail: Some("approvals are signed with SSH or OpenPGP keys".into()),
                ..SignatureCheck::default()
            }
        }
    }
}

impl ApprovalVerifier for FakeVerifier {
    /// The fake's answer for these signature bytes, as [`SignatureVerifier::verify`].
    fn verify_approval_signature(&self, signature: &[u8], pae: &[u8], now: i64) -> SignatureCheck {
        SignatureVerifier::verify(self, signature, pae, now)
    }
}

/// An approval whose envelope parsed, whose signature verified with a policy key, and which
/// had not expired at `now`. Whether it counts for a given update is [`VerifiedApproval::matches`]
/// and the engine's business (independence, roles, revocations).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedApproval {
    /// The policy identity that owns the signing key: who approved.
    pub identity: String,
    /// Fingerprint of the key that made the (first) good signature.
    pub key: String,
    /// The approval.
    pub predicate: Predicate,
    /// The verifier's answer for that signature (verdict `Good`).
    pub check: SignatureCheck,
}

/// The ref update an approval is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefUpdate<'a> {
    /// Full ref name, `refs/heads/main`.
    pub ref_name: &'a str,
    /// The ref's old value (all zeros when it is created).
    pub old: &'a str,
    /// The tree of the new tip (`new^{tree}`).
    pub new_tree: &'a str,
}

/// Why an approval does not bind to an update (strict mode).
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The approval is for another ref.
    #[error("approval is for {approved}, not {pushed}")]
    WrongRef { approved: String, pushed: String },
    /// The approval was reviewed against another tip of the ref (stale).
    #[error("approval was made against {approved}, but the ref is at {actual}")]
    WrongBase { approved: String, actual: String },
    /// The approval is for another resulting tree (the content changed since).
    #[error("approval is for tree {approved}, but the update results in tree {pushed}")]
    WrongTree { approved: String, pushed: String },
}

impl Mismatch {
    /// A stable snake_case code: `wrong_ref`, `wrong_base`, `wrong_tree`.
    pub fn code(&self) -> &'static str {
        match self {
            Mismatch::WrongRef { .. } => "wrong_ref",
            Mismatch::WrongBase { .. } => "wrong_base",
            Mismatch::WrongTree { .. } => "wrong_tree",
        }
    }
}

impl Predicate {
    /// Whether this approval binds to `update`: same ref, `fromID` is the old value and
    /// `targetID` the new tree (object ids compared case-insensitively). Pure.
    pub fn matches(&self, update: &RefUpdate<'_>) -> Result<(), Mismatch> {
        if self.target_ref != update.ref_name {
            return Err(Mismatch::WrongRef {
                approved: self.target_ref.clone(),
                pushed: update.ref_name.to_owned(),
            });
        }
        if !self.from_id.eq_ignore_ascii_case(update.old) {
            return Err(Mismatch::WrongBase {
                approved: self.from_id.clone(),
                actual: update.old.to_owned(),
            });
        }
        if !self.target_id.eq_ignore_ascii_case(update.new_tree) {
            return Err(Mismatch::WrongTree {
                approved: self.target_id.clone(),
                pushed: update.new_tree.to_owned(),
            });
        }
        Ok(())
    }
}

impl VerifiedApproval {
    /// [`Predicate::matches`] of the approval.
    pub fn matches(&self, update: &RefUpdate<'_>) -> Result<(), Mismatch> {
        self.predicate.matches(update)
    }

    /// True when the `reviewer` the signer wrote is not the identity of the key (informational;
    /// the key decides).
    pub fn reviewer_differs(&self) -> bool {
        self.predicate.reviewer != self.identity
    }
}

/// Parses and verifies an approval envelope at `now` (receive time, Unix seconds).
///
/// In order, as DSSE prescribes (the payload is only parsed once a policy key vouches for it):
/// envelope JSON and payload type; signatures over the PAE (at least one good; the good ones
/// must all belong to one identity); the Statement and predicate (types, fields, subject); then
/// `issuedAt` (at most [`MAX_CLOCK_SKEW`] ahead of `now`) and `expiresAt` (`now` must be
/// before it). Binding to an update is [`VerifiedApproval::matches`].
pub fn verify_approval(
    envelope: &[u8],
    verifier: &(impl ApprovalVerifier + ?Sized),
    now: i64,
) -> Result<VerifiedApproval, ApprovalError> {
    let envelope = Envelope::parse(envelope)?;
    if envelope.signatures.is_empty() {
        return Err(ApprovalError::Unsigned);
    }
    let pae = envelope.pae();
    let checks: Vec<SignatureCheck> = envelope
        .signatures
        .iter()
        .map(|s| verifier.verify_approval_signature(&s.sig, &pae, now))
        .collect();
    let good: Vec<&SignatureCheck> = checks
        .iter()
        .filter(|c| c.verdict == KeyVerdict::Good && c.identity.is_some())
        .collect();
    let Some(first) = good.first() else {
        return Err(ApprovalError::NoValidSignature { checks });
    };
    let mut identities: Vec<String> = good.iter().filter_map(|c| c.identity.clone()).collect();
    identities.sort();
    identities.dedup();
    if identities.len() > 1 {
        return Err(ApprovalError::SeveralSigners { identities });
    }
    let statement = Statement::parse(&envelope.payload)?;
    let p = &statement.predicate;
    if p.issued_at > now.saturating_add(MAX_CLOCK_SKEW) {
        return Err(ApprovalError::IssuedInFuture {
            issued_at: p.issued_at,
            now,
        });
    }
    // Expired from that second on, as the engine's pull_request rule counts it.
    if now >= p.expires_at {
        return Err(ApprovalError::Expired {
            expires_at: p.expires_at,
            now,
        });
    }
    let check = (*first).clone();
    Ok(VerifiedApproval {
        identity: check
            .identity
            .clone()
            .expect("filtered on identity.is_some()"),
        key: check.key.clone().unwrap_or_default(),
        predicate: statement.predicate,
        check,
    })
}

// ---- strict JSON reading -------------------------------------------------------------------

type Object = BTreeMap<String, Value>;

fn object(part: Part, bytes: &[u8]) -> Result<Object, ApprovalError> {
    let Strict(value) = serde_json::from_slice(bytes).map_err(|e| ApprovalError::NotJson {
        part,
        reason: e.to_string(),
    })?;
    as_object(part, value)
}

/// A JSON value read like `serde_json::Value`, except that an object with the same key twice
/// is an error: serde_json keeps the last one silently, other readers may keep the first, and
/// two readers must never see two different approvals in the same signed bytes.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // No field of an approval is a number; keep the value only to report a type error.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            list.push(v);
        }
        Ok(Value::Array(list))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut obj = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if obj.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate field {key:?}")));
            }
            let Strict(v) = map.next_value()?;
            obj.insert(key, v);
        }
        Ok(Value::Object(obj))
    }
}

fn as_object(part: Part, value: Value) -> Result<Object, ApprovalError> {
    match value {
        Value::Object(map) => Ok(map.into_iter().collect()),
        _ => Err(ApprovalError::NotJson {
            part,
            reason: "not a JSON object".into(),
        }),
    }
}

fn take(obj: &mut Object, part: Part, field: &'static str) -> Result<Value, ApprovalError> {
    match obj.remove(field) {
        None | Some(Value::Null) => Err(ApprovalError::MissingField { part, field }),
        Some(v) => Ok(v),
    }
}

fn take_str(obj: &mut Object, part: Part, field: &'static str) -> Result<String, ApprovalError> {
    match take(obj, part, field)? {
        Value::String(s) => Ok(s),
        _ => Err(bad(part, field, "not a string")),
    }
}

fn no_more(obj: Object, part: Part) -> Result<(), ApprovalError> {
    match obj.into_keys().next() {
        Some(field) => Err(ApprovalError::UnknownField { part, field }),
        None => Ok(()),
    }
}

fn bad(part: Part, field: &'static str, reason: impl Into<String>) -> ApprovalError {
    ApprovalError::BadField {
        part,
        field,
        reason: reason.into(),
    }
}

/// Canonical standard base64 (padding required, unused bits zero); DSSE also allows the
/// URL-safe alphabet, accepted the same way.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    STANDARD.decode(s).or_else(|_| URL_SAFE.decode(s)).ok()
}

fn parse_subject(subject: Value) -> Result<(String, String), ApprovalError> {
    let Value::Array(mut list) = subject else {
        return Err(bad(Part::Statement, "subject", "not a list"));
    };
    if list.len() != 1 {
        return Err(bad(
            Part::Statement,
            "subject",
            format!("has {} entries; an approval has exactly one", list.len()),
        ));
    }
    let mut entry = as_object(Part::Subject, list.remove(0))?;
    // in-toto allows a name; approvals have none, but a name changes nothing that is checked.
    let _name = entry.remove("name");
    let digest = take(&mut entry, Part::Subject, "digest")?;
    no_more(entry, Part::Subject)?;
    // A digest set may name other algorithms too (ignored); these two must be there.
    let mut digest = as_object(Part::Subject, digest)?;
    let tree = take_str(&mut digest, Part::Subject, "gitTree")?;
    let commit = take_str(&mut digest, Part::Subject, "gitCommit")?;
    let tree = object_id(Part::Subject, "gitTree", tree)?;
    let commit = object_id(Part::Subject, "gitCommit", commit)?;
    Ok((tree, commit))
}

fn parse_predicate(value: Value) -> Result<Predicate, ApprovalError> {
    const P: Part = Part::Predicate;
    let mut obj = as_object(P, value)?;
    let target_ref = take_str(&mut obj, P, "targetRef")?;
    let from_id = take_str(&mut obj, P, "fromID")?;
    let target_id = take_str(&mut obj, P, "targetID")?;
    let reviewed_range = take_str(&mut obj, P, "reviewedRange")?;
    let patch_id = match obj.remove("patchID") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(bad(P, "patchID", "not a string")),
    };
    let verdict = take_str(&mut obj, P, "verdict")?;
    let reviewer = take_str(&mut obj, P, "reviewer")?;
    let policy_digest = take_str(&mut obj, P, "policyDigest")?;
    let issued_at = take_str(&mut obj, P, "issuedAt")?;
    let expires_at = take_str(&mut obj, P, "expiresAt")?;
    let nonce = take_str(&mut obj, P, "nonce")?;
    no_more(obj, P)?;

    if !target_ref.starts_with("refs/") || target_ref.contains(char::is_whitespace) {
        return Err(bad(P, "targetRef", "not a full ref name (refs/...)"));
    }
    let from_id = object_id(P, "fromID", from_id)?;
    let target_id = object_id(P, "targetID", target_id)?;
    let (base, head) = reviewed_range
        .split_once("..")
        .ok_or_else(|| bad(P, "reviewedRange", "not <base>..<head>"))?;
    object_id(P, "reviewedRange", base.to_owned())?;
    object_id(P, "reviewedRange", head.to_owned())?;
    if let Some(id) = &patch_id {
        object_id(P, "patchID", id.clone())?;
    }
    let verdict = match verdict.as_str() {
        "approve" => Verdict::Approve,
        "reject" => Verdict::Reject,
        "revoke" => Verdict::Revoke,
        other => {
            return Err(bad(
                P,
                "verdict",
                format!("{other:?} is not approve, reject or revoke"),
            ))
        }
    };
    if reviewer.trim().is_empty() {
        return Err(bad(P, "reviewer", "empty"));
    }
    let digest_ok = policy_digest
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && is_lower_hex(h));
    if !digest_ok {
        return Err(bad(P, "policyDigest", "not sha256:<64 lowercase hex>"));
    }
    let issued_at = parse_rfc3339(&issued_at).ok_or_else(|| {
        bad(
            P,
            "issuedAt",
            "not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)",
        )
    })?;
    let expires_at = parse_rfc3339(&expires_at).ok_or_else(|| {
        bad(
            P,
            "expiresAt",
            "not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)",
        )
    })?;
    if expires_at < issued_at {
        return Err(bad(P, "expiresAt", "before issuedAt"));
    }
    if nonce.chars().count() < 16 {
        return Err(bad(P, "nonce", "shorter than 16 characters"));
    }
    Ok(Predicate {
        target_ref,
        from_id,
        target_id,
        reviewed_range,
        patch_id,
        verdict,
        reviewer,
        policy_digest,
        issued_at,
        expires_at,
        nonce,
    })
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A git object id: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
fn object_id(part: Part, field: &'static str, id: String) -> Result<String, ApprovalError> {
    if (id.len() == 40 || id.len() == 64) && is_lower_hex(&id) {
        Ok(id)
    } else {
        Err(bad(
            part,
            field,
            format!("{id:?} is not a git object id (40 or 64 lowercase hex digits)"),
        ))
    }
}

// ---- RFC 3339 -------------------------------------------------------------------------------

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (UTC, no fraction): the form approvals are written in.
pub fn format_rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Parses an RFC 3339 time in UTC, `YYYY-MM-DDTHH:MM:SSZ` (uppercase `T` and `Z`, no fraction,
/// no offset, years 1970–9999) to Unix seconds. Anything else is `None`: an approval's times
/// have one spelling, so they compare without surprises.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let digits = s.get(r)?;
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if year < 1970 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if day == 0 || day > days_in_month(i64::from(year), month)? {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn rfc3339_round_trip_and_strictness() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2026-01-01T00:00:00Z"), Some(1_767_225_600));
        assert_eq!(parse_rfc3339("2024-02-29T23:59:59Z"), Some(1_709_251_199));
        for t in [0, 1_767_225_600, 1_709_251_199, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t));
        }
        for bad in [
            "2026-01-01T00:00:00+00:00",
            "2026-01-01t00:00:00z",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00.5Z",
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:60Z",
            "+026-01-01T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
