//! Personal data protection: per-person encryption, pseudonyms, login hashes.
//!
//! Each person's name, phone and room are sealed with AES-256-GCM under a
//! data key of their own. The data key is stored only wrapped (AES-256-GCM)
//! by a key derived from the master key, in `person_keys`; the sealed data
//! travels in the person's event stream. Erasure deletes the wrapped key:
//! the events stay and their hash chain still verifies, but nothing can open
//! the data again.
//!
//! The master key (a 32-byte secret from `LIANXI_MASTER_KEY_FILE`) only
//! wraps: the wrapping key is derived from it with HMAC-SHA-256. A second
//! secret, the identity secret, is made once per deployment and stored
//! wrapped in `vault_secrets`; from it come the pseudonym key (stable
//! pseudonyms only this deployment can compute) and the login key (login
//! names are stored only as keyed hashes). Rotating the master key re-wraps
//! the data keys and the identity secret, so pseudonyms and logins survive.

use std::path::Path;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use lianxi_domain::values::AccountId;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::secret_file::{self, SecretFileError};

type HmacSha256 = Hmac<Sha256>;

/// Prefix of sealed personal data: format and version.
const SEALED_PREFIX: &str = "lxpd1:";
const NONCE_LEN: usize = 12;

/// A person's personal data, as the filer gave it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalData {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Building, unit and room, e.g. `3栋2单元501`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// Personal data never reaches a log through `Debug`.
impl std::fmt::Debug for PersonalData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonalData(<redacted>)")
    }
}

/// A person's data key, in memory only while sealing or opening.
pub struct DataKey([u8; 32]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<secret>)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("the sealed data is malformed")]
    Malformed,
    /// Wrong key, wrong person, or altered bytes.
    #[error("the data does not open with this key")]
    Unopenable,
}

/// The keys derived from the master key.
pub struct Vault {
    wrapping: Aes256Gcm,
    pseudonym: [u8; 32],
    login: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(<secret>)")
    }
}

fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    nonce
}

fn seal_bytes(cipher: &Aes256Gcm, aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let nonce = random_nonce();
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .expect("AES-GCM encryption of a short message cannot fail");
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

fn open_bytes(cipher: &Aes256Gcm, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(VaultError::Malformed);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
        .map_err(|_| VaultError::Unopenable)
}

fn key_aad(person: AccountId) -> Vec<u8> {
    format!("lianxi/data-key/v1/{person}").into_bytes()
}

fn data_aad(person: AccountId) -> Vec<u8> {
    format!("lianxi/personal-data/v1/{person}").into_bytes()
}

fn secret_aad(name: &str) -> Vec<u8> {
    format!("lianxi/vault-secret/v1/{name}").into_bytes()
}

/// The name of the identity secret in `vault_secrets`.
pub const IDENTITY_SECRET: &str = "identity";

#[derive(Debug, thiserror::Error)]
pub enum VaultOpenError {
    #[error(transparent)]
    File(#[from] SecretFileError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("the stored identity secret does not open with the master key {path}: is it the deployment's key?")]
    WrongMasterKey { path: String },
}

impl Vault {
    /// The vault of a master key and an identity secret.
    pub fn new(master: &[u8; 32], identity: &[u8; 32]) -> Self {
        Self {
            wrapping: Aes256Gcm::new(&derive(master, "lianxi/wrapping-key/v1").into()),
            pseudonym: derive(identity, "lianxi/pseudonym-key/v1"),
            login: derive(identity, "lianxi/login-key/v1"),
        }
    }

    /// A vault whose identity secret is derived from the master key itself
    /// (tests and tools that keep nothing).
    pub fn from_master(master: &[u8; 32]) -> Self {
        Self::new(master, &derive(master, "lianxi/identity-secret/v1"))
    }

    /// A vault with a random master key that lives only in memory (tests).
    pub fn ephemeral() -> Self {
        Self::from_master(&secret_file::random_secret())
    }

    /// The deployment's vault: the master key at `path` (made, mode 0600,
    /// when missing only if `if_missing` says so) and the identity secret
    /// stored wrapped in the database (made on first use; every instance
    /// finds the same one).
    pub async fn open(
        db: &crate::db::Database,
        path: &Path,
        if_missing: secret_file::IfMissing,
    ) -> Result<Self, VaultOpenError> {
        let (master, _) = secret_file::load(path, "master key", if_missing)?;
        let wrapping = Self::from_master(&master);
        let fresh = secret_file::random_secret();
        let wrapped = hex::encode(seal_bytes(
            &wrapping.wrapping,
            &secret_aad(IDENTITY_SECRET),
            &fresh,
        ));
        // The first instance to get here decides; the others read its secret.
        let stored = db.vault_secret_or_insert(IDENTITY_SECRET, &wrapped).await?;
        let identity = hex::decode(stored.trim())
            .ok()
            .and_then(|b| open_bytes(&wrapping.wrapping, &secret_aad(IDENTITY_SECRET), &b).ok())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| VaultOpenError::WrongMasterKey {
                path: path.display().to_string(),
            })?;
        Ok(Self::new(&master, &identity))
    }

    /// Re-wraps a stored vault secret under this vault's master key.
    pub fn rewrap_secret(
        &self,
        old: &Vault,
        name: &str,
        wrapped: &str,
    ) -> Result<String, VaultError> {
        let bytes = hex::decode(wrapped.trim()).map_err(|_| VaultError::Malformed)?;
        let secret = open_bytes(&old.wrapping, &secret_aad(name), &bytes)?;
        Ok(hex::encode(seal_bytes(
            &self.wrapping,
            &secret_aad(name),
            &secret,
        )))
    }

    /// A fresh data key for `person`, and its wrapped form to store (hex).
    pub fn new_data_key(&self, person: AccountId) -> (DataKey, String) {
        let key = secret_file::random_secret();
        let wrapped = seal_bytes(&self.wrapping, &key_aad(person), &key);
        (DataKey(key), hex::encode(wrapped))
    }

    /// Unwraps a stored data key of `person`.
    pub fn unwrap_key(&self, person: AccountId, wrapped: &str) -> Result<DataKey, VaultError> {
        let bytes = hex::decode(wrapped.trim()).map_err(|_| VaultError::Malformed)?;
        let key = open_bytes(&self.wrapping, &key_aad(person), &bytes)?;
        let key: [u8; 32] = key.try_into().map_err(|_| VaultError::Malformed)?;
        Ok(DataKey(key))
    }

    /// Re-wraps a stored data key under this vault's master key (master key
    /// rotation): `old` unwraps, `self` wraps.
    pub fn rewrap(
        &self,
        old: &Vault,
        person: AccountId,
        wrapped: &str,
    ) -> Result<String, VaultError> {
        let key = old.unwrap_key(person, wrapped)?;
        Ok(hex::encode(seal_bytes(
            &self.wrapping,
            &key_aad(person),
            &key.0,
        )))
    }

    /// The stable pseudonym of a person, e.g. `person-3f9a0c12d4e5`: the
    /// same person always gets the same one, and without the master key it
    /// cannot be linked back.
    pub fn pseudonym(&self, person: AccountId) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.pseudonym).expect("HMAC takes any key");
        mac.update(person.0.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("person-{}", hex::encode(&digest[..6]))
    }

    /// The stored form of a login name: a keyed hash of its normalised form
    /// (trimmed, lower-case), so the name itself is never stored.
    pub fn login_hash(&self, login: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.login).expect("HMAC takes any key");
        mac.update(login.trim().to_lowercase().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl DataKey {
    /// Seals `data` for `person`: `lxpd1:` and base64url of nonce and
    /// ciphertext. Only this key and this person's id open it.
    pub fn seal(&self, person: AccountId, data: &PersonalData) -> String {
        let plain = serde_json::to_vec(data).expect("personal data serialises");
        let cipher = Aes256Gcm::new(&self.0.into());
        let sealed = seal_bytes(&cipher, &data_aad(person), &plain);
        format!(
            "{SEALED_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed)
        )
    }

    pub fn open(&self, person: AccountId, sealed: &str) -> Result<PersonalData, VaultError> {
        let body = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(VaultError::Malformed)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| VaultError::Malformed)?;
        let cipher = Aes256Gcm::new(&self.0.into());
        let plain = open_bytes(&cipher, &data_aad(person), &bytes)?;
        serde_json::from_slice(&plain).map_err(|_| VaultError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> AccountId {
        AccountId(uuid::Uuid::new_v4())
    }

    fn data() -> PersonalData {
        PersonalData {
            name: "王小明".into(),
            phone: Some("13800138000".into()),
            room: Some("3栋2单元501".into()),
        }
    }

    #[test]
    fn sealed_data_opens_only_with_its_key_and_person() {
        let vault = Vault::ephemeral();
        let alice = person();
        let (key, wrapped) = vault.new_data_key(alice);
        let sealed = key.seal(alice, &data());
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("13800138000"));
        // Fresh nonce each time.
        assert_ne!(sealed, key.seal(alice, &data()));

        let unwrapped = vault.unwrap_key(alice, &wrapped).expect("unwrap");
        assert_eq!(unwrapped.open(alice, &sealed), Ok(data()));
        // Another person's id, another key, or another master key: no.
        assert_eq!(
            unwrapped.open(person(), &sealed),
            Err(VaultError::Unopenable)
        );
        let (other, _) = vault.new_data_key(alice);
        assert_eq!(other.open(alice, &sealed), Err(VaultError::Unopenable));
        assert!(vault.unwrap_key(person(), &wrapped).is_err());
        assert!(Vault::ephemeral().unwrap_key(alice, &wrapped).is_err());
        // One flipped bit anywhere fails.
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert!(unwrapped.open(alice, &tampered).is_err());
    }

    #[test]
    fn rotation_rewraps_keys_under_the_new_master() {
        let old = Vault::ephemeral();
        let new = Vault::ephemeral();
        let alice = person();
        let (key, wrapped) = old.new_data_key(alice);
        let sealed = key.seal(alice, &data());
        let rewrapped = new.rewrap(&old, alice, &wrapped).expect("rewrap");
        let key = new.unwrap_key(alice, &rewrapped).expect("new master opens");
        assert_eq!(key.open(alice, &sealed), Ok(data()));
        assert!(old.unwrap_key(alice, &rewrapped).is_err());
    }

    #[test]
    fn pseudonyms_and_login_hashes_are_stable_and_keyed() {
        let master = secret_file::random_secret();
        let a = Vault::from_master(&master);
        let b = Vault::from_master(&master);
        let alice = person();
        assert_eq!(a.pseudonym(alice), b.pseudonym(alice));
        assert_ne!(a.pseudonym(alice), a.pseudonym(person()));
        assert_ne!(a.pseudonym(alice), Vault::ephemeral().pseudonym(alice));
        assert!(a.pseudonym(alice).starts_with("person-"));
        assert_eq!(a.login_hash(" WangXM "), b.login_hash("wangxm"));
        assert_ne!(
            a.login_hash("wangxm"),
            Vault::ephemeral().login_hash("wangxm")
        );
        assert!(!format!("{:?}", data()).contains("王小明"));
    }
}
