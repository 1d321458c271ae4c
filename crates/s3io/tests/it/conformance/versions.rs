//! Object versions: GetObject, HeadObject, CopyObject and DeleteObject of a version
//! (`versionId`) and ListObjectVersions.
//!
//! [`unversioned_objects_are_version_null`] is a conformance case, run against both servers:
//! in a bucket that never had versioning S3 keeps one version of each object, id `null`, and a
//! request may name it. The embedded server keeps no versions at all, so the versioned half,
//! [`a_versioned_bucket_serves_and_deletes_each_version`], runs against moto only (a plain test,
//! not a case: it needs `PutBucketVersioning`, which the embedded server does not implement).

use bytes::Bytes;
use http::Method;
use s3io::types::{GetObjectOptions, HeadObjectOptions, ListObjectVersionsOptions};

use super::raw::RawRequest;
use super::server::{ServerKind, Target};
use crate::common::{test_data, MIB};

fn version(id: &str) -> HeadObjectOptions {
    HeadObjectOptions::default().with_version_id(id.to_owned())
}

pub(crate) async fn unversioned_objects_are_version_null(t: &Target) {
    let (c, b) = (&t.client, t.bucket.as_str());
    let data = Bytes::from(test_data(3 * MIB + 1, 8));
    c.put_object(b, "k", data.clone(), &Default::default()).await.unwrap();
    c.put_object(b, "other", Bytes::from_static(b"x"), &Default::default()).await.unwrap();

    let all = ListObjectVersionsOptions::default();
    let page = c.list_object_versions(b, &all).await.unwrap();
    let listed: Vec<(&str, &str, bool, bool)> =
        page.versions.iter().map(|v| (v.key.as_str(), v.version_id.as_str(), v.is_latest, v.delete_marker)).collect();
    assert_eq!(listed, [("k", "null", true, false), ("other", "null", true, false)]);
    assert_eq!(page.versions[0].size, data.len() as u64);
    assert_eq!(page.next_marker, None);
    let one = ListObjectVersionsOptions::default().with_max_keys(1);
    let first = c.list_object_versions(b, &one).await.unwrap();
    assert_eq!(first.versions.len(), 1);
    let rest = one.with_marker(first.next_marker.clone().unwrap());
    assert_eq!(c.list_object_versions(b, &rest).await.unwrap().versions[0].key, "other");

    // Version `null` is the object; a download asks for it on every ranged GET.
    if t.skip_on(ServerKind::Moto, "moto 5.2.5 answers 400 to versionId=null in a bucket without versioning") {
        return;
    }
    assert_eq!(c.head_object_with(b, "k", &version("null")).await.unwrap().content_length, data.len() as u64);
    let bytes = c.download(b, "k").part_size(MIB as u64).version_id("null").to_bytes().await.unwrap();
    assert!(bytes == data);
    let get = GetObjectOptions::default().with_version_id("null");
    assert_eq!(c.get_object(b, "other", &get).await.unwrap().collect().await.unwrap(), Bytes::from_static(b"x"));

    c.delete_object_version(b, "other", "null").await.unwrap();
    assert_eq!(c.head_object(b, "other").await.unwrap_err().status(), Some(404));
}

/// moto only (see the module doc).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_versioned_bucket_serves_and_deletes_each_version() {
    let t = Target::start(ServerKind::Moto, "a_versioned_bucket_serves_and_deletes_each_version").await;
    let (c, b) = (&t.client, t.bucket.as_str());
    let enable = "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                  <Status>Enabled</Status></VersioningConfiguration>";
    let answer = RawRequest::new(&t, Method::PUT, "").query("versioning").body(enable).send().await;
    assert_eq!(answer.status, 200, "PutBucketVersioning: {:?}", answer.body);

    let (v1_data, v2_data) = (Bytes::from(test_data(3 * MIB + 5, 1)), Bytes::from(test_data(MIB, 2)));
    let v1 = c.put_object(b, "k", v1_data.clone(), &Default::default()).await.unwrap().version_id.unwrap();
    let v2 = c.put_object(b, "k", v2_data.clone(), &Default::default()).await.unwrap().version_id.unwrap();
    assert_ne!(v1, v2);

    let page = c.list_object_versions(b, &ListObjectVersionsOptions::default()).await.unwrap();
    let listed: Vec<(&str, bool, u64)> =
        page.versions.iter().map(|v| (v.version_id.as_str(), v.is_latest, v.size)).collect();
    assert_eq!(listed, [(v2.as_str(), true, v2_data.len() as u64), (v1.as_str(), false, v1_data.len() as u64)]);

    // The older version, in 1 MiB ranged GETs each pinned to it; its HEAD; a copy of it.
    let bytes = c.download(b, "k").part_size(MIB as u64).version_id(v1.clone()).to_bytes().await.unwrap();
    assert!(bytes == v1_data, "the download mixed versions");
    let info = c.head_object_with(b, "k", &version(&v1)).await.unwrap();
    assert_eq!((info.content_length, info.version_id.as_deref()), (v1_data.len() as u64, Some(v1.as_str())));
    c.copy(b, "k", b, "restored").source_version_id(v1.clone()).await.unwrap();
    assert_eq!(c.head_object(b, "restored").await.unwrap().content_length, v1_data.len() as u64);

    // Deleting a version removes it for good; the latest stays.
    c.delete_object_version(b, "k", &v1).await.unwrap();
    let under_k = ListObjectVersionsOptions::default().with_prefix("k");
    let page = c.list_object_versions(b, &under_k).await.unwrap();
    let ids: Vec<String> = page.versions.into_iter().map(|v| v.version_id).collect();
    assert_eq!(ids, std::slice::from_ref(&v2));
    assert!(c.head_object_with(b, "k", &version(&v1)).await.is_err());
}
