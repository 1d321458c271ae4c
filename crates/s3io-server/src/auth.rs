//! The server's one set of credentials, answered as S3 answers: a request
//! signed with another access key gets 403 `InvalidAccessKeyId` (s3s's
//! `SimpleAuth` says `NotSignedUp`, which S3 clients do not expect).

use s3s::auth::{S3Auth, SecretKey};
use s3s::{s3_error, S3Result};

/// One access key and its secret.
pub(crate) struct SingleKeyAuth {
    access_key: String,
    secret_key: SecretKey,
}

impl SingleKeyAuth {
    pub(crate) fn new(access_key: String, secret_key: String) -> Self {
        Self { access_key, secret_key: SecretKey::from(secret_key) }
    }
}

#[async_trait::async_trait]
impl S3Auth for SingleKeyAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        if access_key == self.access_key {
            Ok(self.secret_key.clone())
        } else {
            Err(s3_error!(InvalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records."))
        }
    }
}
