//! Checkpoints as C2SP signed notes, the text transparency-log tools read:
//! served by the API and written by `lianxi audit checkpoint --format note`,
//! checked here by a verifier written from the specifications (not the
//! service's code), and accepted by `lianxi audit verify`, which reports a
//! log whose tail was removed after the note was kept.

use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use lianxi_tests::dba::Dba;
use lianxi_tests::{lianxi_binary, lianxi_cli, on_both_stores, Api, Cast, Server, TempDir, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

on_both_stores!(checkpoints_are_signed_notes_that_note_tools_and_auditors_verify);

/// Opens a signed note with a verifier key, as c2sp.org/signed-note says:
/// the key id is the first four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ key),
/// the signature covers the text up to and including its last newline.
/// Returns the text.
fn open_note(note: &str, vkey: &str) -> String {
    let mut parts = vkey.splitn(3, '+');
    let (name, id_hex, key_b64) = (
        parts.next().expect("name"),
        parts.next().expect("key id"),
        parts.next().expect("key"),
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(key_b64)
        .expect("base64 key");
    assert_eq!(key.len(), 33, "0x01 and an Ed25519 key");
    assert_eq!(key[0], 0x01, "the Ed25519 signature type");
    let id: [u8; 4] = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update(&key)
        .finalize()[..4]
        .try_into()
        .expect("four bytes");
    assert_eq!(hex::encode(id), id_hex, "the key id of the verifier key");
    let public = VerifyingKey::from_bytes(&key[1..].try_into().expect("32 bytes")).expect("key");

    let split = note
        .rfind("\n\n")
        .expect("a blank line before the signatures");
    let text = &note[..=split];
    let signatures = &note[split + 2..];
    assert!(signatures.ends_with('\n'));
    let mut verified = 0;
    for line in signatures.lines() {
        let rest = line
            .strip_prefix("\u{2014} ")
            .expect("an em dash and a space");
        let (signer, blob) = rest.split_once(' ').expect("name and signature");
        if signer != name {
            continue;
        }
        let blob = base64::engine::general_purpose::STANDARD
            .decode(blob)
            .expect("base64 signature");
        assert_eq!(blob.len(), 68, "key id and an Ed25519 signature");
        assert_eq!(blob[..4], id, "signed with the named key");
        let signature = Signature::from_slice(&blob[4..]).expect("signature");
        public
            .verify_strict(text.as_bytes(), &signature)
            .expect("the signature holds");
        verified += 1;
    }
    assert_eq!(verified, 1, "one signature by the log's key");
    text.to_owned()
}

async fn checkpoints_are_signed_notes_that_note_tools_and_auditors_verify(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let server = Server::start(&t.db).await;
    let api = Api::new(&server.base);
    for _ in 0..3 {
        api.file(&cast.a.resident).await;
    }
    let auditor = cast.auditor.token.as_str();

    // The service's own key: the list names it as note tools take it.
    let taken = api
        .post("/api/v1/audit/checkpoints", auditor, Value::Null)
        .await;
    assert_eq!(taken.status, StatusCode::CREATED, "{}", taken.body);
    let size = taken.body["tree_size"].as_u64().expect("a size");
    let list = api.get("/api/v1/audit/checkpoints", auditor).await;
    let vkey = list.body["verifier_key"].as_str().expect("a verifier key");
    let origin = list.body["origin"].as_str().expect("an origin");
    assert!(vkey.starts_with(&format!("{origin}+")), "{vkey}");
    let note = Api::send(api.request(
        Method::GET,
        &format!("/api/v1/audit/checkpoints/{size}/note"),
        Some(auditor),
    ))
    .await;
    assert_eq!(note.status, StatusCode::OK);
    assert!(note
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/plain")));
    let note_text = note.body.as_str().expect("the note as text").to_owned();
    let text = open_note(&note_text, vkey);
    let root = base64::engine::general_purpose::STANDARD
        .encode(hex::decode(taken.body["root"].as_str().expect("root")).expect("hex"));
    assert_eq!(text, format!("{origin}\n{size}\n{root}\n"));
    // The same bytes every time it is asked for.
    let again = Api::send(api.request(
        Method::GET,
        &format!("/api/v1/audit/checkpoints/{size}/note"),
        Some(auditor),
    ))
    .await;
    assert_eq!(again.body.as_str(), Some(note_text.as_str()));
    // Auditors only.
    let resident = Api::send(api.request(
        Method::GET,
        &format!("/api/v1/audit/checkpoints/{size}/note"),
        Some(&cast.a.resident.token),
    ))
    .await;
    assert_eq!(resident.status, StatusCode::FORBIDDEN);

    // From the command line, with the deployment's key file.
    let dir = TempDir::new();
    let key_file = dir.0.join("audit.key");
    let seed = rand::random::<[u8; 32]>();
    std::fs::write(&key_file, hex::encode(seed)).expect("key file");
    let public_key = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes(),
    );
    let key_file = key_file.to_str().expect("a path").to_owned();
    let env = [
        ("LIANXI_DATABASE_URL", t.url.as_str()),
        ("LIANXI_AUDIT_KEY_FILE", key_file.as_str()),
    ];
    lianxi_cli(&dir.0, &env, &["audit", "checkpoint", "--out", "kept.json"]).await;
    let kept: Value =
        serde_json::from_slice(&std::fs::read(dir.0.join("kept.json")).expect("kept.json"))
            .expect("JSON");
    lianxi_cli(
        &dir.0,
        &env,
        &[
            "audit",
            "checkpoint",
            "--format",
            "note",
            "--out",
            "kept.note",
        ],
    )
    .await;
    let kept_note = std::fs::read_to_string(dir.0.join("kept.note")).expect("kept.note");
    let key = hex::decode(&public_key).expect("hex");
    let cli_origin = format!("lianxi.audit/{}", hex::encode(&Sha256::digest(&key)[..8]));
    let vkey = format!(
        "{cli_origin}+{}+{}",
        hex::encode(
            &Sha256::new()
                .chain_update(cli_origin.as_bytes())
                .chain_update(b"\n")
                .chain_update([1u8])
                .chain_update(&key)
                .finalize()[..4]
        ),
        base64::engine::general_purpose::STANDARD.encode([&[1u8][..], &key[..]].concat())
    );
    let text = open_note(&kept_note, &vkey);
    assert!(
        text.starts_with(&format!("{cli_origin}\n{}\n", kept["tree_size"])),
        "{text}"
    );

    // `audit verify` takes the note with the key it trusts, and only so.
    lianxi_cli(
        &dir.0,
        &env,
        &[
            "audit",
            "verify",
            "--checkpoint",
            "kept.note",
            "--public-key",
            &public_key,
        ],
    )
    .await;
    let verify = |args: Vec<String>| {
        let dir = dir.0.clone();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        async move {
            tokio::process::Command::new(lianxi_binary())
                .args(&args)
                .current_dir(&dir)
                .envs(env)
                .output()
                .await
                .expect("run lianxi")
        }
    };
    let args = |key: Option<&str>| {
        let mut a: Vec<String> = ["audit", "verify", "--checkpoint", "kept.note"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Some(key) = key {
            a.extend(["--public-key".to_owned(), key.to_owned()]);
        }
        a
    };
    let no_key = verify(args(None)).await;
    assert!(!no_key.status.success());
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("--public-key"));
    let other = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[5; 32])
            .verifying_key()
            .to_bytes(),
    );
    let wrong_key = verify(args(Some(&other))).await;
    assert!(!wrong_key.status.success());
    assert!(
        String::from_utf8_lossy(&wrong_key.stderr).contains("not signed by"),
        "{}",
        String::from_utf8_lossy(&wrong_key.stderr)
    );

    // The newest event is removed: the kept note catches it.
    let dba = Dba { db: &t.db };
    dba.unlock().await;
    let last = dba.all().await.pop().expect("an event");
    dba.delete(&last).await;
    let caught = verify(args(Some(&public_key))).await;
    let out = String::from_utf8_lossy(&caught.stdout);
    assert_eq!(caught.status.code(), Some(1), "{out}");
    assert!(out.contains("events were removed"), "{out}");
    server.stop().await;
}
