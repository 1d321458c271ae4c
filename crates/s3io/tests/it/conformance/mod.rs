//! The S3 conformance suite: one shared set of cases, run against every server kind.
//!
//! Each case is one `async fn(&Target)` in a module by area — [`objects`] (buckets, put, head,
//! get, delete, copy, tagging, presigned URLs), [`errors`] (S3's codes and statuses), [`ranges`],
//! [`conditionals`], [`multipart`], [`checksums`], [`listing`] (order and pagination), [`keys`]
//! (every key shape S3 accepts) and [`transfers`] (the upload, download and copy engines).
//! [`server`] is what a case gets (server kind, client, bucket, `skip_on`), [`moto_server`] finds,
//! starts and shares moto, and [`raw`] sends the signed requests the typed API cannot express.
//! The [`conformance_cases!`] list below instantiates every case once per server kind, as
//! `conformance::embedded::<case>` (`s3io serve`, in-process) and `conformance::moto::<case>`
//! (moto's standalone server, an S3 implementation the project did not write), so a filter such
//! as `conformance::moto::` runs one server's half. This is object_store's `integration.rs`
//! pattern: one function per behaviour, every backend runs them all.
//!
//! What a case asserts is S3's documented behaviour, not what either server happens to do. Where
//! moto disagrees with S3 the case skips that part for moto only, saying why (see
//! [`server::Target::skip_on`]); the embedded server is never skipped. A skip prints
//! `conformance: SKIP <case> on moto: <reason>` (shown with `--nocapture`); the moto release the
//! skips were written against is pinned in `scripts/python-env.sh`.

mod moto_server;
mod raw;
mod server;

mod checksums;
mod conditionals;
mod errors;
mod keys;
mod listing;
mod multipart;
mod objects;
mod ranges;
mod transfers;
mod versions;

/// Instantiates every `module::case` as a test against each server kind.
macro_rules! conformance_cases {
    ($($module:ident :: $case:ident),* $(,)?) => {
        /// The cases against `s3io serve`, started in-process per case.
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let target = super::server::Target::start(super::server::ServerKind::Embedded, stringify!($case)).await;
                    super::$module::$case(&target).await;
                }
            )*
        }
        /// The cases against moto's standalone server, shared by the run, a bucket per case.
        mod moto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let target = super::server::Target::start(super::server::ServerKind::Moto, stringify!($case)).await;
                    super::$module::$case(&target).await;
                }
            )*
        }
    };
}

conformance_cases! {
    objects::buckets_create_list_head_delete,
    objects::put_head_get_range_delete,
    objects::object_headers_and_metadata_round_trip,
    objects::empty_object_round_trips,
    objects::overwrite_replaces_body_and_metadata,
    objects::object_tagging_round_trip,
    objects::delete_objects_in_one_batch,
    objects::copy_object_server_side,
    objects::copy_metadata_directive_replace_and_copy_onto_itself,
    objects::presigned_urls_work_without_the_client,
    errors::missing_bucket_and_key_name_what_is_missing,
    errors::operations_on_a_missing_bucket_are_no_such_bucket,
    errors::bad_credentials_are_rejected_by_the_signature_check_and_not_retried,
    errors::key_longer_than_1024_bytes_is_key_too_long,
    errors::delete_objects_over_1000_keys_is_malformed_xml,
    errors::payload_hash_mismatch_is_refused,
    errors::list_buckets_honours_max_buckets,
    errors::presigned_url_valid_over_7_days_is_refused,
    ranges::range_past_the_end_is_invalid_range,
    ranges::ranges_inclusive_open_clipped_and_suffix,
    conditionals::get_if_match_and_if_none_match,
    conditionals::get_if_modified_and_unmodified_since,
    conditionals::head_answers_preconditions_without_a_body,
    conditionals::copy_source_if_match,
    conditionals::put_if_none_match_star_refuses_to_overwrite,
    multipart::multipart_upload_complete_list_abort,
    multipart::multipart_errors_name_the_s3_code,
    multipart::list_multipart_uploads_by_prefix_and_key,
    checksums::put_checksums_are_stored_and_returned,
    checksums::wrong_checksum_is_bad_digest_and_stores_nothing,
    checksums::multipart_checksums_composite_and_full_object,
    listing::list_objects_v2_paginates_with_prefix_and_delimiter,
    listing::listing_is_in_utf8_byte_order,
    listing::pagination_with_delimiter_and_start_after,
    listing::empty_listings_have_no_continuation,
    keys::punctuation_and_unicode_keys_round_trip,
    keys::control_character_keys_round_trip,
    keys::leading_slash_keys_round_trip,
    keys::double_slash_keys_round_trip,
    keys::dot_segment_keys_round_trip,
    keys::folder_marker_beside_its_contents,
    keys::key_beside_a_key_that_extends_it,
    keys::long_keys_round_trip,
    transfers::upload_download_and_copy_engines_round_trip,
    versions::unversioned_objects_are_version_null,
}
