//! Photos and documents, on both stores: filed with the page's form, seen
//! as thumbnails by the xiaoqu's branch and by nobody of another xiaoqu,
//! downloaded without location metadata, kept in a directory (SQLite
//! deployments) or an S3-compatible object store (PostgreSQL deployments,
//! the server `tests/run` starts), erased with their uploader while the
//! log still verifies. Uploads through the API are checked by content,
//! size and count.

use std::path::PathBuf;

use lianxi_gateway::app::rate_limit::Limits;
use lianxi_gateway::files::Files;
use lianxi_gateway::server::Service;
use lianxi_tests::{
    jpeg_app1_segments, lianxi_cli, multipart_body, on_both_stores, phone_photo, quick_background,
    resident_token, test_vault, Api, Cast, Process, Server, Store, TempDir, TestDb,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::web::{location, signed_in_as};

on_both_stores!(
    a_photo_filed_on_the_page_is_seen_by_its_xiaoqu_only_without_gps_and_erased_with_its_uploader,
    uploads_through_the_api_are_checked_by_content_size_and_count,
);

/// Where a test's files go, and how to look at them there without the
/// service: a directory, or the S3 bucket read with its own client.
enum Kept {
    /// The directory, and the temporary directory holding it (removed
    /// when the test ends).
    Directory(PathBuf, #[allow(dead_code)] TempDir),
    ObjectStore {
        bucket: object_store::aws::AmazonS3,
        prefix: String,
    },
}

impl Kept {
    /// The store of a deployment on `store`: a directory for SQLite, the
    /// S3-compatible server of `tests/run` for PostgreSQL (required under
    /// CI; a directory, said loudly, elsewhere).
    fn for_store(store: Store) -> (Files, Kept) {
        let bucket = std::env::var("LIANXI_TEST_S3_BUCKET").ok();
        let endpoint = std::env::var("AWS_ENDPOINT").ok();
        if let (Store::Postgres, Some(bucket), Some(endpoint)) = (store, bucket, endpoint) {
            let prefix = format!("run-{}", uuid::Uuid::new_v4().simple());
            lianxi_gateway::tls::install_crypto_provider();
            let files = Files::open(&format!("s3://{bucket}/{prefix}")).expect("the S3 store");
            assert_eq!(files.kind(), "s3");
            let client = object_store::aws::AmazonS3Builder::from_env()
                .with_endpoint(endpoint)
                .with_bucket_name(bucket)
                .build()
                .expect("an S3 client");
            return (
                files,
                Kept::ObjectStore {
                    bucket: client,
                    prefix,
                },
            );
        }
        if store == Store::Postgres {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "under CI the PostgreSQL deployment keeps files in the S3 server tests/run starts (LIANXI_TEST_S3_BUCKET, AWS_ENDPOINT)"
            );
            eprintln!(
                "SKIPPED the object store (no LIANXI_TEST_S3_BUCKET): files go to a directory"
            );
        }
        let dir = TempDir::new();
        let path = dir.0.join("data/files");
        let files = Files::open(&path.to_string_lossy()).expect("a directory store");
        assert_eq!(files.kind(), "directory");
        (files, Kept::Directory(path, dir))
    }

    /// The bytes kept under `key`, if any.
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        match self {
            Kept::Directory(path, _) => std::fs::read(path.join(key)).ok(),
            Kept::ObjectStore { bucket, prefix } => {
                use object_store::ObjectStoreExt;
                let path = object_store::path::Path::from(format!("{prefix}/{key}"));
                match bucket.get(&path).await {
                    Ok(found) => Some(found.bytes().await.expect("body").to_vec()),
                    Err(object_store::Error::NotFound { .. }) => None,
                    Err(e) => panic!("S3 answered {e} for {key}"),
                }
            }
        }
    }
}

async fn serve(t: &TestDb, files: Files, limits: Limits) -> Server {
    let state = lianxi_gateway::server::state(t.db.clone())
        .with_vault(test_vault())
        .with_files(files)
        .with_limits(limits);
    Server::serve(Service::start_with(state, quick_background())).await
}

/// The digest in the first thumbnail of a grievance page.
fn first_thumbnail(html: &str, id: &str) -> Option<String> {
    let marker = format!("<img src=\"/g/{id}/files/");
    let at = html.find(&marker)? + marker.len();
    Some(html[at..at + 64].to_owned())
}

async fn get_file(api: &Api, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
    let response = api
        .request(reqwest::Method::GET, path, Some(token))
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.bytes().await.expect("body").to_vec())
}

async fn a_photo_filed_on_the_page_is_seen_by_its_xiaoqu_only_without_gps_and_erased_with_its_uploader(
    t: TestDb,
) {
    let cast = Cast::new(&t.db).await;
    let (files, kept) = Kept::for_store(t.store);
    let server = serve(&t, files, Limits::default()).await;
    let api = Api::new(&server.base);
    let resident_account = json!({"role": "resident", "xiaoqu": cast.a.id,
                                  "personal_data": {"name": "李秀兰"}});
    let (mut resident, resident_id) =
        signed_in_as(&server, &cast, resident_account, "lixiulan").await;

    // The resident files with a phone photo: EXIF orientation and GPS in it,
    // declared as a generic type under a misleading name.
    let photo = phone_photo(64, 32);
    assert_eq!(jpeg_app1_segments(&photo), 1, "the photo carries EXIF");
    let form = resident.get("/file").await;
    assert!(form.html.contains(r#"enctype="multipart/form-data""#));
    assert!(form.html.contains(r#"type="file""#));
    let csrf = resident.csrf();
    let filed = resident
        .post_files(
            "/file",
            &[
                ("csrf", &csrf),
                ("category", "repairs"),
                ("title", "3栋楼道墙皮脱落"),
                ("description", "墙皮大块脱落，砸到电动车。"),
                ("building", "3栋"),
                ("respondent", "property_company"),
                ("urgency", "normal"),
            ],
            &[("photos", "document.bin", "application/octet-stream", &photo)],
        )
        .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.html);
    let id = location(&filed)
        .trim_start_matches("/g/")
        .trim_end_matches("/filed")
        .to_owned();

    // The branch of the xiaoqu sees it as a thumbnail on the page.
    let (mut branch, _) = signed_in_as(
        &server,
        &cast,
        json!({"role": "party_branch", "xiaoqu": cast.a.id, "personal_data": {"name": "张书记"}}),
        "branch-a",
    )
    .await;
    let page = branch.get(&format!("/g/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let sha = first_thumbnail(&page.html, &id).expect("a thumbnail on the branch's page");
    let (status, kind, thumb) = branch
        .get_bytes(&format!("/g/{id}/files/{sha}/thumb"))
        .await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/jpeg"));
    assert_eq!(&thumb[..2], &[0xFF, 0xD8]);

    // The original, downloaded: upright (orientation applied), no EXIF
    // block at all, so no GPS; its digest is the one the log keeps.
    let (status, kind, original) = branch.get_bytes(&format!("/g/{id}/files/{sha}")).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/jpeg"));
    assert_eq!(jpeg_app1_segments(&original), 0, "no EXIF, no GPS");
    assert!(!original.windows(4).any(|w| w == b"Exif"));
    assert_eq!(hex::encode(Sha256::digest(&original)), sha);
    let decoded = image::load_from_memory(&original).expect("a JPEG");
    assert_eq!(
        (decoded.width(), decoded.height()),
        (32, 64),
        "turned upright"
    );
    let view = api
        .get(&format!("/api/v1/grievances/{id}"), &cast.a.branch.token)
        .await;
    let attachment = &view.body["attachments"][0];
    assert_eq!(attachment["sha256"], json!(sha), "{}", view.body);
    assert_eq!(attachment["size"], json!(original.len()));
    assert_eq!(attachment["uploaded_by_filer"], json!(true));
    let (status, via_api) = get_file(
        &api,
        &format!("/api/v1/grievances/{id}/attachments/{sha}"),
        &cast.a.branch.token,
    )
    .await;
    assert_eq!((status, &via_api), (StatusCode::OK, &original));

    // Nobody of another xiaoqu: 404, through the API and the pages.
    for path in [
        format!("/api/v1/grievances/{id}/attachments/{sha}"),
        format!("/api/v1/grievances/{id}/attachments/{sha}/thumbnail"),
    ] {
        for token in [
            &cast.b.branch.token,
            &cast.b.resident.token,
            &cast.b.company.token,
        ] {
            let (status, body) = get_file(&api, &path, token).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(!body.starts_with(&[0xFF, 0xD8]));
        }
    }
    let (mut other, _) = signed_in_as(
        &server,
        &cast,
        json!({"role": "party_branch", "xiaoqu": cast.b.id, "personal_data": {"name": "赵书记"}}),
        "branch-b",
    )
    .await;
    for path in [
        format!("/g/{id}/files/{sha}"),
        format!("/g/{id}/files/{sha}/thumb"),
    ] {
        let (status, kind, _) = other.get_bytes(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(kind.starts_with("text/html"), "{kind}");
    }

    // Kept where the deployment keeps files, under the uploader.
    let key = format!("uploads/{resident_id}/{sha}");
    assert_eq!(kept.get(&key).await.as_ref(), Some(&original), "{key}");
    assert!(kept.get(&format!("{key}.thumb.jpg")).await.is_some());

    // The uploader's personal data is erased: the file and its thumbnail
    // go, the page says so, and the log still verifies.
    let erased = api
        .post(
            &format!("/api/v1/admin/people/{resident_id}/erasure"),
            &cast.admin.token,
            json!({"reason": "本人申请注销"}),
        )
        .await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.body);
    assert_eq!(kept.get(&key).await, None, "the file is gone");
    assert_eq!(kept.get(&format!("{key}.thumb.jpg")).await, None);
    let (status, _) = get_file(
        &api,
        &format!("/api/v1/grievances/{id}/attachments/{sha}"),
        &cast.a.branch.token,
    )
    .await;
    assert_eq!(status, StatusCode::GONE);
    let view = api
        .get(&format!("/api/v1/grievances/{id}"), &cast.a.branch.token)
        .await;
    let attachment = &view.body["attachments"][0];
    assert_eq!(attachment["sha256"], json!(sha), "the digest stays");
    assert!(attachment["erased_at"].is_string() && attachment["href"].is_null());
    let page = branch.get(&format!("/g/{id}")).await;
    assert!(page.html.contains("已随上传者的个人信息一并删除"));
    assert!(first_thumbnail(&page.html, &id).is_none());
    let verified = api
        .post("/api/v1/audit/verify", &cast.auditor.token, json!({}))
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(verified.body["ok"], true, "{}", verified.body);
    server.stop().await;
}

async fn upload(api: &Api, path: &str, token: &str, files: &[(&str, &[u8])]) -> (u16, Value) {
    let parts: Vec<(&str, &str, &str, &[u8])> = files
        .iter()
        .map(|(name, bytes)| ("file", *name, "application/octet-stream", *bytes))
        .collect();
    let (content_type, body) = multipart_body(&[], &parts);
    let response = api
        .request(reqwest::Method::POST, path, Some(token))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn uploads_through_the_api_are_checked_by_content_size_and_count(t: TestDb) {
    let cast = Cast::new(&t.db).await;
    let limits = Limits {
        upload_bytes: 200_000,
        ..Limits::default()
    };
    let server = serve(&t, Files::memory(), limits).await;
    let api = Api::new(&server.base);
    let resident = &cast.a.resident.token;

    // A filing may name only files its filer uploaded.
    let mut filing = lianxi_tests::sample_grievance();
    filing["attachments"] =
        json!([{"sha256": "ab".repeat(32), "media_type": "image/jpeg", "size": 10}]);
    api.post("/api/v1/grievances", resident, filing.clone())
        .await
        .assert_problem(422, "invalid-field")
        .assert_field("attachments[0].sha256");

    // Judged by content: a program named .jpg, text, nothing; too large
    // is 413 before anything is read; not multipart is 415.
    let program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00";
    let (status, problem) =
        upload(&api, "/api/v1/files", resident, &[("photo.jpg", program)]).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("file[0]")),
        "{problem}"
    );
    let (status, _) = upload(&api, "/api/v1/files", resident, &[]).await;
    assert_eq!(status, 422);
    let big = vec![0xFFu8; 200_001];
    let (status, problem) = upload(&api, "/api/v1/files", resident, &[("big.jpg", &big)]).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (413, Some("file[0]")),
        "{problem}"
    );
    let json_body = api.post("/api/v1/files", resident, json!({})).await;
    assert_eq!(json_body.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A photo and a PDF are stored; the filing names them.
    let pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n";
    let photo = phone_photo(40, 30);
    let (status, uploaded) = upload(
        &api,
        "/api/v1/files",
        resident,
        &[("IMG_1.jpg", &photo), ("accounts.pdf", pdf)],
    )
    .await;
    assert_eq!(status, 201, "{uploaded}");
    let files = uploaded["files"].as_array().expect("files").clone();
    assert_eq!(files[0]["media_type"], "image/jpeg");
    assert_eq!(files[1]["media_type"], "application/pdf");
    assert_eq!(files[1]["size"], json!(pdf.len()));
    // Another account cannot name them.
    filing["attachments"] = json!(files);
    api.post(
        "/api/v1/grievances",
        &cast.a.neighbour.token,
        filing.clone(),
    )
    .await
    .assert_problem(422, "invalid-field")
    .assert_field("attachments[0].sha256");
    let filed = api.post("/api/v1/grievances", resident, filing).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let id = filed.body["id"].as_str().expect("id").to_owned();
    let view = api.get(&format!("/api/v1/grievances/{id}"), resident).await;
    let attachments = view.body["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 2);
    assert!(attachments[0]["thumbnail"].is_string());
    assert!(
        attachments[1]["thumbnail"].is_null(),
        "a document has no thumbnail"
    );
    let pdf_sha = files[1]["sha256"].as_str().expect("digest");
    let (status, stored) = get_file(
        &api,
        &format!("/api/v1/grievances/{id}/attachments/{pdf_sha}"),
        resident,
    )
    .await;
    assert_eq!((status, stored.as_slice()), (StatusCode::OK, &pdf[..]));

    // More on the grievance: the respondent's party once made responsible;
    // a neighbour may not see it; a file attached twice, or an eleventh,
    // is refused and nothing changes.
    let attach = format!("/api/v1/grievances/{id}/attachments");
    let (status, _) = upload(&api, &attach, &cast.a.neighbour.token, &[("x.jpg", &photo)]).await;
    assert_eq!(status, 404);
    let (status, problem) =
        upload(&api, &attach, &cast.a.company.token, &[("x.jpg", &photo)]).await;
    assert_eq!(status, 403, "not responsible yet: {problem}");
    api.command(&id, "accept", &cast.a.branch, json!({})).await;
    api.command(
        &id,
        "triage",
        &cast.a.branch,
        json!({"matter_class": "minor", "party": "property_company"}),
    )
    .await;
    let repaired = phone_photo(48, 30);
    let (status, body) = upload(
        &api,
        &attach,
        &cast.a.company.token,
        &[("after.jpg", &repaired)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, problem) = upload(&api, &attach, resident, &[("again.jpg", &photo)]).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("file")),
        "{problem}"
    );
    let eight: Vec<Vec<u8>> = (0..8).map(|i| phone_photo(10 + i, 10)).collect();
    let eight: Vec<(&str, &[u8])> = eight.iter().map(|b| ("more.jpg", b.as_slice())).collect();
    let (status, problem) = upload(&api, &attach, resident, &eight).await;
    assert_eq!(status, 422, "3 + 8 > 10: {problem}");
    let view = api.get(&format!("/api/v1/grievances/{id}"), resident).await;
    let attachments = view.body["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 3);
    assert_eq!(attachments[2]["uploaded_by_filer"], json!(false));
    server.stop().await;
}

/// The embedded default, as the README starts it: files under
/// `./data/files`; the command line erases them with their uploader and
/// the log still verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_deployment_keeps_files_under_data_and_the_command_line_erases_them() {
    let dir = TempDir::new();
    let token = resident_token(&dir.0, &[]).await;
    let server = Process::start(&dir.0, &[]).await;
    let api = Api::new(&server.base);
    let photo = phone_photo(20, 20);
    let (status, uploaded) = upload(&api, "/api/v1/files", &token, &[("IMG.jpg", &photo)]).await;
    assert_eq!(status, 201, "{uploaded}");
    let sha = uploaded["files"][0]["sha256"]
        .as_str()
        .expect("digest")
        .to_owned();
    let mut filing = lianxi_tests::sample_grievance();
    filing["attachments"] = uploaded["files"].clone();
    let filed = api.post("/api/v1/grievances", &token, filing).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let me = api.get("/api/v1/auth/me", &token).await;
    let account = me.body["id"].as_str().expect("my id").to_owned();
    let stored = dir.0.join(format!("data/files/uploads/{account}/{sha}"));
    assert!(stored.is_file(), "{} is kept", stored.display());
    assert_eq!(
        jpeg_app1_segments(&std::fs::read(&stored).expect("read")),
        0
    );
    assert_eq!(server.terminate().await.code(), Some(0));

    lianxi_cli(
        &dir.0,
        &[],
        &["admin", "erase-person", "--account", &account],
    )
    .await;
    assert!(!stored.exists(), "erased with its uploader");
    // `audit verify` exits 0 only when every chain verifies.
    lianxi_cli(&dir.0, &[], &["audit", "verify"]).await;
}
