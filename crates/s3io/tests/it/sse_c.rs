//! SSE-C through the library against the embedded server: the customer key goes with every
//! request of an upload (PutObject, or Create, every UploadPart and Complete), of a download
//! (every ranged GET and the verifying HEAD) and of a copy (the source's key on its HEAD,
//! CopyObject and every UploadPartCopy, the destination's on the new object's requests). The
//! store keeps the key's MD5 and refuses reads without the key (400) or with another (403).

use bytes::Bytes;
use s3io::types::{CopyProperties, HeadObjectOptions, PutObjectOptions, SseCustomerKey};

use crate::common::{report, test_data, TestServer, MIB};

fn key(byte: u8) -> SseCustomerKey {
    SseCustomerKey::new(&[byte; 32]).unwrap()
}

fn with_key(sse_key: &SseCustomerKey) -> HeadObjectOptions {
    HeadObjectOptions::default().with_sse_customer_key(sse_key.clone())
}

fn options(sse_key: &SseCustomerKey) -> PutObjectOptions {
    PutObjectOptions::default().with_sse_customer_key(sse_key.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_downloads_and_copies_carry_the_customer_key() {
    let s = TestServer::start().await;
    let (c, b) = (&s.client, s.bucket.as_str());
    let (k1, k2) = (key(1), key(2));
    // Python: base64.b64encode(hashlib.md5(b"\x01" * 32).digest()).
    assert_eq!(k1.key_md5(), "4Funlf7OsLF0HL+vKU+fkg==");
    let data = Bytes::from(test_data(11 * MIB + 5, 3));

    for (name, threshold) in [("single", 64 * MIB as u64), ("multi", 5 * MIB as u64)] {
        let upload = c.upload(b, name).part_size(5 * MIB as u64).multipart_threshold(threshold).options(options(&k1));
        let uploaded = upload.from_bytes(data.clone()).await.unwrap();
        assert_eq!(uploaded.parts != 0, name == "multi");

        let info = c.head_object_with(b, name, &with_key(&k1)).await.unwrap();
        assert_eq!(info.sse_customer_algorithm.as_deref(), Some("AES256"));
        assert_eq!(info.sse_customer_key_md5.as_deref(), Some(k1.key_md5()));

        // Without the key: 400 InvalidRequest; with another: 403.
        let missing = c.head_object(b, name).await.unwrap_err();
        assert_eq!(missing.status(), Some(400), "{}", report(&missing));
        let wrong = c.head_object_with(b, name, &with_key(&k2)).await.unwrap_err();
        assert_eq!(wrong.status(), Some(403), "{}", report(&wrong));
        let refused = c.download(b, name).part_size(4 * MIB as u64).to_bytes().await.unwrap_err();
        assert!(report(&refused).contains(name), "{}", report(&refused));

        // Every ranged GET (and the HEAD beside them) carries the key.
        let (bytes, output) = c
            .download(b, name)
            .part_size(4 * MIB as u64)
            .sse_customer_key(k1.clone())
            .into_buffer(bytes::BytesMut::new())
            .await
            .unwrap();
        assert!(bytes == data, "{name}: the downloaded bytes differ");
        assert_eq!(output.parts, 3);

        // A copy reads the source with its key and writes the new object with another.
        let copied = format!("{name}-copy");
        let properties = CopyProperties::new(options(&k2), false);
        let copy = c
            .copy(b, name, b, &copied)
            .part_size(5 * MIB as u64)
            .multipart_threshold(threshold)
            .source_sse_customer_key(k1.clone())
            .properties(properties.clone());
        let output = copy.await.unwrap();
        assert_eq!(output.parts != 0, name == "multi");
        let info = c.head_object_with(b, &copied, &with_key(&k2)).await.unwrap();
        assert_eq!(info.sse_customer_key_md5.as_deref(), Some(k2.key_md5()));
        assert!(c.head_object_with(b, &copied, &with_key(&k1)).await.is_err());
        let bytes = c.download(b, &copied).sse_customer_key(k2.clone()).to_bytes().await.unwrap();
        assert!(bytes == data, "{name}: the copied bytes differ");

        // Without the source's key the copy is refused.
        let refused = c.copy(b, name, b, "refused").multipart_threshold(threshold).properties(properties).await;
        assert_eq!(refused.unwrap_err().status(), Some(400));
    }
}
