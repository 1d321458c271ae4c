//! GetObjectTagging: an object's tags, for copies that must carry them where S3 does not
//! (a multipart copy's CreateMultipartUpload copies nothing from the source), and
//! [`tagging_header`], the `x-amz-tagging` query form of a tag set.

use http::Method;
use serde::Deserialize;

use super::request::S3Request;
use crate::client::Client;
use crate::error::{Error, ErrorContext, Operation, Result};

/// Characters left as they are in a tag query: RFC 3986 unreserved.
const TAG_ENCODE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Tagging {
    tag_set: TagSet,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct TagSet {
    tag: Vec<Tag>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Tag {
    key: String,
    value: String,
}

impl Client {
    /// GetObjectTagging: the object's tags, as (key, value) pairs in the store's order.
    pub async fn get_object_tagging(&self, bucket: &str, key: &str) -> Result<Vec<(String, String)>> {
        let context = ErrorContext::new(Operation::GetObjectTagging, bucket, Some(key));
        let request = S3Request::new(Method::GET, bucket, Some(key), context.clone()).query("tagging", "");
        let (_, body) = self.send_for_xml(&request).await?;
        let parsed: Tagging = quick_xml::de::from_reader(&body[..])
            .map_err(|e| Error::invalid_response(context, format!("GetObjectTagging XML: {e}")))?;
        Ok(parsed.tag_set.tag.into_iter().map(|t| (t.key, t.value)).collect())
    }
}

/// `tags` as the URL query `x-amz-tagging` takes (`k1=v1&k2=v2`, percent-encoded); `None` for
/// no tags.
pub(crate) fn tagging_header(tags: &[(String, String)]) -> Option<String> {
    let encode = |text: &str| percent_encoding::utf8_percent_encode(text, TAG_ENCODE).to_string();
    let pairs: Vec<String> = tags.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    (!pairs.is_empty()).then(|| pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_become_a_url_query() {
        let tags = [("team".to_owned(), "data eng".to_owned()), ("a&b".to_owned(), "=".to_owned())];
        assert_eq!(tagging_header(&tags).as_deref(), Some("team=data%20eng&a%26b=%3D"));
        assert_eq!(tagging_header(&[]), None);
    }

    #[test]
    fn parses_a_tag_set() {
        let xml = "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag><Tag><Key>x</Key><Value></Value></Tag>\
                   </TagSet></Tagging>";
        let parsed: Tagging = quick_xml::de::from_str(xml).unwrap();
        assert_eq!(parsed.tag_set.tag.len(), 2);
        assert_eq!(parsed.tag_set.tag[0].key, "k");
    }
}
