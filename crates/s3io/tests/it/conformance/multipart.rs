//! Multipart uploads: create, upload parts, list, complete (ETag `"<md5 of part md5s>-N"`),
//! abort, and the errors S3 gives for each misuse.

use bytes::Bytes;
use s3io::types::CompletedPart;

use super::server::{ServerKind::Moto, Target};
use crate::common::{test_data, MIB};

pub(super) async fn multipart_upload_complete_list_abort(t: &Target) {
    let client = &t.client;
    let data = test_data(11 * MIB + 5, 4);
    let upload_id = client.create_multipart_upload(&t.bucket, "mp/obj", &Default::default(), None).await.unwrap();
    let uploads = client.list_multipart_uploads(&t.bucket, Some("mp/"), None).await.unwrap();
    assert_eq!(uploads.uploads.iter().map(|u| u.upload_id.as_str()).collect::<Vec<_>>(), [upload_id.as_str()]);
    let mut parts: Vec<CompletedPart> = Vec::new();
    for (i, chunk) in data.chunks(5 * MIB).enumerate() {
        let part = client
            .upload_part(&t.bucket, "mp/obj", &upload_id, i as u32 + 1, Bytes::copy_from_slice(chunk), None)
            .await
            .unwrap();
        parts.push(part);
    }
    let done = client.complete_multipart_upload(&t.bucket, "mp/obj", &upload_id, &parts, None).await.unwrap();
    let etag = done.etag.unwrap();
    assert!(etag.ends_with("-3\""), "multipart ETag {etag}");
    assert_eq!(etag, multipart_etag(&parts), "the ETag is the MD5 of the parts' MD5s");
    let got = t.get("mp/obj").await;
    assert!(got[..] == data[..]);
    let head = client.head_object(&t.bucket, "mp/obj").await.unwrap();
    assert_eq!((head.content_length, head.etag.as_deref()), (data.len() as u64, Some(etag.as_str())));
    assert!(client.list_multipart_uploads(&t.bucket, Some("mp/"), None).await.unwrap().uploads.is_empty());

    // Abort discards; completing an aborted upload fails with NoSuchUpload.
    let upload_id = client.create_multipart_upload(&t.bucket, "mp/aborted", &Default::default(), None).await.unwrap();
    let part =
        client.upload_part(&t.bucket, "mp/aborted", &upload_id, 1, Bytes::from_static(b"abc"), None).await.unwrap();
    client.abort_multipart_upload(&t.bucket, "mp/aborted", &upload_id).await.unwrap();
    let err = client.complete_multipart_upload(&t.bucket, "mp/aborted", &upload_id, &[part], None).await.unwrap_err();
    if !t.skip_on(
        Moto,
        "moto answers CompleteMultipartUpload of an aborted upload with 500 InternalError, not 404 NoSuchUpload",
    ) {
        assert_eq!(err.code(), Some("NoSuchUpload"), "{err}");
        assert_eq!(err.status(), Some(404), "{err}");
    }
    assert!(client.list_multipart_uploads(&t.bucket, None, None).await.unwrap().uploads.is_empty());
    let err = client.head_object(&t.bucket, "mp/aborted").await.unwrap_err();
    assert!(err.is_not_found(), "an aborted upload left an object: {err}");
}

/// `"<hex MD5 of the concatenated binary part MD5s>-<part count>"`.
fn multipart_etag(parts: &[CompletedPart]) -> String {
    let mut md5s = Vec::new();
    for part in parts {
        let hex = part.etag.trim_matches('"');
        md5s.extend((0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()));
    }
    format!("\"{}-{}\"", super::objects::hex_md5(&md5s), parts.len())
}

pub(super) async fn multipart_errors_name_the_s3_code(t: &Target) {
    let client = &t.client;
    let key = "mp/errors";
    let upload_id = client.create_multipart_upload(&t.bucket, key, &Default::default(), None).await.unwrap();
    let small = client.upload_part(&t.bucket, key, &upload_id, 1, Bytes::from_static(b"tiny"), None).await.unwrap();
    let last = client.upload_part(&t.bucket, key, &upload_id, 2, Bytes::from_static(b"last"), None).await.unwrap();

    // A part other than the last below 5 MiB: 400 EntityTooSmall.
    let err =
        client.complete_multipart_upload(&t.bucket, key, &upload_id, &[small, last.clone()], None).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(400), Some("EntityTooSmall")), "{err}");

    // A part whose ETag is not the one uploaded: 400 InvalidPart.
    let wrong = last.clone().with_etag("\"0123456789abcdef0123456789abcdef\"");
    let err = client.complete_multipart_upload(&t.bucket, key, &upload_id, &[wrong], None).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(400), Some("InvalidPart")), "{err}");

    // A part number never uploaded: 400 InvalidPart.
    let never = last.clone().with_part_number(7);
    let err = client.complete_multipart_upload(&t.bucket, key, &upload_id, &[never], None).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(400), Some("InvalidPart")), "{err}");

    // Parts not in ascending order (each but the last at least 5 MiB, so only the order is
    // wrong): 400 InvalidPartOrder.
    if !t.skip_on(Moto, "moto completes an upload whose parts are listed out of order instead of InvalidPartOrder") {
        let big = Bytes::from(test_data(5 * MIB, 5));
        let third = client.upload_part(&t.bucket, key, &upload_id, 3, big, None).await.unwrap();
        let err = client
            .complete_multipart_upload(&t.bucket, key, &upload_id, &[third, last.clone()], None)
            .await
            .unwrap_err();
        assert_eq!((err.status(), err.code()), (Some(400), Some("InvalidPartOrder")), "{err}");
    }

    // None of these ended the upload: one valid part completes it.
    let done = client.complete_multipart_upload(&t.bucket, key, &upload_id, &[last], None).await.unwrap();
    assert!(done.etag.as_deref().is_some_and(|e| e.ends_with("-1\"")), "{:?}", done.etag);
    assert_eq!(&t.get(key).await[..], b"last");

    // An upload id that does not exist (or no longer does): 404 NoSuchUpload, for every call.
    if !t.skip_on(Moto, "moto answers UploadPart to a completed upload with 500 InternalError, not 404 NoSuchUpload") {
        let err = client.upload_part(&t.bucket, key, &upload_id, 1, Bytes::from_static(b"x"), None).await.unwrap_err();
        assert_eq!((err.status(), err.code()), (Some(404), Some("NoSuchUpload")), "UploadPart: {err}");
    }
    let err = client.abort_multipart_upload(&t.bucket, key, "no-such-upload-id").await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(404), Some("NoSuchUpload")), "AbortMultipartUpload: {err}");
}

pub(super) async fn list_multipart_uploads_by_prefix_and_key(t: &Target) {
    let client = &t.client;
    let mut ids = Vec::new();
    for key in ["a/one", "a/one", "a/two", "b/three"] {
        ids.push((key, client.create_multipart_upload(&t.bucket, key, &Default::default(), None).await.unwrap()));
    }
    let listed = client.list_multipart_uploads(&t.bucket, Some("a/"), None).await.unwrap();
    let mut got: Vec<_> = listed.uploads.iter().map(|u| (u.key.as_str(), u.upload_id.as_str())).collect();
    got.sort();
    let mut expected: Vec<_> =
        ids.iter().filter(|(k, _)| k.starts_with("a/")).map(|(k, id)| (*k, id.as_str())).collect();
    expected.sort();
    assert_eq!(got, expected);
    assert!(listed.uploads.iter().all(|u| u.initiated.is_some()), "{:?}", listed.uploads);
    // Listed in key order.
    let keys: Vec<_> = listed.uploads.iter().map(|u| u.key.as_str()).collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}");
    let all = client.list_multipart_uploads(&t.bucket, None, None).await.unwrap();
    assert_eq!(all.uploads.len(), 4);
    for (key, id) in &ids {
        client.abort_multipart_upload(&t.bucket, key, id).await.unwrap();
    }
    assert!(client.list_multipart_uploads(&t.bucket, None, None).await.unwrap().uploads.is_empty());
}
