//! Checkpoints as C2SP signed notes, the text form transparency-log tools
//! read (<https://c2sp.org/tlog-checkpoint>, <https://c2sp.org/signed-note>):
//!
//! ```text
//! lianxi.audit/3f9a0c7e12b4d5a6
//! 1234
//! <base64 of the RFC 6962 root>
//!
//! — lianxi.audit/3f9a0c7e12b4d5a6 <base64 of key id ‖ Ed25519 signature>
//! ```
//!
//! The origin (and key name) is `lianxi.audit/` and the first 8 bytes of
//! SHA-256 of the audit key's public half, hex: stable for as long as the key
//! is, and a new key is told apart at once. The same tree head is signed as in
//! the JSON checkpoint file, with the same key, but over the note's text (the
//! note carries no signing time). Ed25519 signs deterministically, so the
//! note of a stored checkpoint is made again, byte for byte, whenever asked.
//! Auditors give note tools the verifier key
//! `<origin>+<key id>+<base64 of 0x01 ‖ public key>` ([`verifier_key`]).

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use signed_note::{Note, StandardVerifier, VerifierList};

use super::merkle::Hash;

/// What every origin of this service starts with.
pub const ORIGIN_PREFIX: &str = "lianxi.audit/";

/// The log's origin line, named after the key that signs it.
pub fn origin(public_key: &[u8; 32]) -> String {
    let digest = Sha256::digest(public_key);
    format!("{ORIGIN_PREFIX}{}", hex::encode(&digest[..8]))
}

/// The verifier key note tools take: `<origin>+<key id>+<base64 key>`;
/// `None` for bytes that are not an Ed25519 public key.
pub fn verifier_key(public_key: &[u8; 32]) -> Option<String> {
    let key = VerifyingKey::from_bytes(public_key).ok()?;
    Some(signed_note::new_ed25519_verifier_key(
        &origin(public_key),
        &key,
    ))
}

/// The note's text: origin, tree size, base64 root.
fn text(public_key: &[u8; 32], tree_size: u64, root: &Hash) -> String {
    format!(
        "{}\n{tree_size}\n{}\n",
        origin(public_key),
        base64::engine::general_purpose::STANDARD.encode(root)
    )
}

/// The audit key as a note signer.
struct NoteSigner<'a> {
    key: &'a SigningKey,
    name: String,
    id: u32,
}

impl signed_note::Signer for NoteSigner<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// The signed note of a tree head, signed with `key`.
pub(super) fn sign(key: &SigningKey, tree_size: u64, root: &Hash) -> String {
    let public_key = key.verifying_key().to_bytes();
    let name = origin(&public_key);
    let encoded = [&[1u8][..], &public_key[..]].concat();
    let signer = NoteSigner {
        key,
        id: signed_note::key_id(&name, &encoded),
        name,
    };
    let body = text(&public_key, tree_size, root);
    // The text is ASCII lines ending in a newline and the name has no space
    // or plus: neither step can fail.
    let mut note = match Note::new(body.as_bytes(), &[]) {
        Ok(note) => note,
        Err(_) => return body,
    };
    if note.add_sigs(&[&signer]).is_err() {
        return body;
    }
    String::from_utf8_lossy(&note.to_bytes()).into_owned()
}

/// A tree head read from a note whose signature by the expected key holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteHead {
    pub origin: String,
    pub tree_size: u64,
    pub root: Hash,
}

/// Why a note is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("the public key is not an Ed25519 key")]
    Key,
    #[error("not a signed note: {0}")]
    Malformed(String),
    #[error("not signed by the key {0}")]
    NotSigned(String),
    #[error("the signature does not match the note")]
    BadSignature,
    #[error("not a checkpoint of this log: {0}")]
    NotACheckpoint(String),
}

/// Opens a checkpoint note: checks its signature by `public_key` and reads
/// the tree head from its text.
pub fn open(note: &str, public_key: &[u8; 32]) -> Result<NoteHead, NoteError> {
    let vkey = verifier_key(public_key).ok_or(NoteError::Key)?;
    let verifier = StandardVerifier::new(&vkey).map_err(|_| NoteError::Key)?;
    let parsed =
        Note::from_bytes(note.as_bytes()).map_err(|e| NoteError::Malformed(e.to_string()))?;
    let known = VerifierList::new(vec![Box::new(verifier)]);
    match parsed.verify(&known) {
        Ok(_) => {}
        Err(signed_note::NoteError::UnverifiedNote) => return Err(NoteError::NotSigned(vkey)),
        Err(signed_note::NoteError::InvalidSignature { .. }) => {
            return Err(NoteError::BadSignature)
        }
        Err(e) => return Err(NoteError::Malformed(e.to_string())),
    }
    let body = String::from_utf8_lossy(parsed.text());
    let mut lines = body.split_terminator('\n');
    let wrong = |why: &str| NoteError::NotACheckpoint(why.to_owned());
    let origin_line = lines.next().ok_or_else(|| wrong("no origin line"))?;
    if origin_line != origin(public_key) {
        return Err(wrong(&format!(
            "the origin is {origin_line}, not {}",
            origin(public_key)
        )));
    }
    let size_line = lines.next().ok_or_else(|| wrong("no tree size"))?;
    let canonical = size_line == "0" || !size_line.starts_with('0');
    let tree_size = size_line
        .parse::<u64>()
        .ok()
        .filter(|_| canonical && size_line.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| wrong("the tree size is not a decimal number"))?;
    let root_line = lines.next().ok_or_else(|| wrong("no root hash"))?;
    let root: Hash = base64::engine::general_purpose::STANDARD
        .decode(root_line)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| wrong("the root hash is not 32 bytes of base64"))?;
    Ok(NoteHead {
        origin: origin_line.to_owned(),
        tree_size,
        root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the reference implementation (golang.org/x/mod
    /// sumdb/note): the same key signs the same text to the same bytes.
    #[test]
    fn the_signer_reproduces_the_reference_example() {
        let private = base64::engine::general_purpose::STANDARD
            .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .expect("base64");
        let key = SigningKey::from_bytes(&private[1..].try_into().expect("32 bytes"));
        let name = "PeterNeumann".to_owned();
        let encoded = [&[1u8][..], &key.verifying_key().to_bytes()[..]].concat();
        let signer = NoteSigner {
            key: &key,
            id: signed_note::key_id(&name, &encoded),
            name,
        };
        assert_eq!(signer.id, 0xc74f20a3);
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let mut note = Note::new(text.as_bytes(), &[]).expect("text");
        note.add_sigs(&[&signer]).expect("sign");
        assert_eq!(
            String::from_utf8(note.to_bytes()).expect("utf-8"),
            format!(
                "{text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
            )
        );
    }

    #[test]
    fn a_signed_checkpoint_opens_and_any_change_is_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public_key = key.verifying_key().to_bytes();
        let root = [9u8; 32];
        let note = sign(&key, 1234, &root);
        assert!(note.starts_with(&format!("{}\n1234\n", origin(&public_key))));
        assert_eq!(note, sign(&key, 1234, &root), "deterministic");
        let head = open(&note, &public_key).expect("opens");
        assert_eq!((head.tree_size, head.root), (1234, root));
        let vkey = verifier_key(&public_key).expect("a key");
        assert!(
            vkey.starts_with(&format!("{}+", origin(&public_key))),
            "{vkey}"
        );

        let forged = note.replacen("\n1234\n", "\n1233\n", 1);
        assert_eq!(open(&forged, &public_key), Err(NoteError::BadSignature));
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key().to_bytes();
        assert!(matches!(open(&note, &other), Err(NoteError::NotSigned(_))));
        assert!(matches!(
            open("not a note", &public_key),
            Err(NoteError::Malformed(_))
        ));
    }
}
