//! The shared AWS config files (`~/.aws/config`, `AWS_CONFIG_FILE`): the settings of a profile
//! ([`shared_config_values`], for the CLI's `max_attempts`, `ca_bundle`, … as the AWS CLI reads
//! them) and the region a profile names, following `source_profile` (for
//! [`ClientConfig::resolve_region`](super::ClientConfig::resolve_region)).
//!
//! The files are parsed by `aws-config`'s profile loader, as the AWS SDKs parse them; a dotted
//! key reads a nested setting (`s3.use_accelerate_endpoint`).

/// Settings of the shared AWS config files (`~/.aws/config`, `AWS_CONFIG_FILE`), read once:
/// each of `keys` in `profile` (else `AWS_PROFILE`, else `default`), as the AWS CLI reads its
/// `max_attempts`, `retry_mode`, `ca_bundle` or `use_dualstack_endpoint`. A dotted key reads a
/// nested setting: `s3.use_accelerate_endpoint` is `use_accelerate_endpoint` under `s3 =`.
/// `None` for each key no file or profile has.
pub async fn shared_config_values(profile: Option<&str>, keys: &[&str]) -> Vec<Option<String>> {
    use aws_types::os_shim_internal::{Env, Fs};
    let set = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &aws_runtime::env_config::file::EnvConfigFiles::default(),
        profile.map(|p| std::borrow::Cow::Owned(p.to_owned())),
    )
    .await
    .ok();
    let selected = set.as_ref().and_then(|set| set.get_profile(set.selected_profile()));
    keys.iter()
        .map(|key| {
            let selected = selected?;
            let value = match key.split_once('.') {
                None => selected.get(key)?.trim().to_owned(),
                Some((section, sub)) => nested_value(selected.get(section)?, sub)?,
            };
            Some(value).filter(|v| !v.is_empty())
        })
        .collect()
}

/// `key`'s value in the text of a nested setting (`\n  key = value\n  other = …`).
fn nested_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once('=')?;
        (name.trim() == key).then(|| value.trim().to_owned())
    })
}

/// The `region` of `profile` (else the selected one) in the shared config files (`files`, else
/// the standard ones), following `source_profile`.
pub(super) async fn profile_region(
    profile: Option<&str>,
    files: Option<aws_runtime::env_config::file::EnvConfigFiles>,
) -> Option<String> {
    use aws_config::meta::region::ProvideRegion as _;
    let mut builder = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(name) = profile {
        builder = builder.profile_name(name);
    }
    if let Some(files) = files {
        builder = builder.profile_files(files);
    }
    builder.build().region().await.map(|r| r.to_string()).filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn profile_region_comes_from_the_shared_config_file() {
        use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "[default]\nregion = eu-west-3\n[profile work]\nregion = ap-south-1\n[profile bare]\n")
            .unwrap();
        let files = || EnvConfigFiles::builder().with_file(EnvConfigFileKind::Config, &path).build();
        assert_eq!(profile_region(Some("work"), Some(files())).await.as_deref(), Some("ap-south-1"));
        assert_eq!(profile_region(Some("default"), Some(files())).await.as_deref(), Some("eu-west-3"));
        assert_eq!(profile_region(Some("bare"), Some(files())).await, None);
        assert_eq!(profile_region(Some("missing"), Some(files())).await, None);
    }

    #[test]
    fn nested_settings() {
        let text = "\nuse_accelerate_endpoint = true\n  addressing_style = path";
        assert_eq!(nested_value(text, "use_accelerate_endpoint").as_deref(), Some("true"));
        assert_eq!(nested_value(text, "addressing_style").as_deref(), Some("path"));
        assert_eq!(nested_value(text, "missing"), None);
    }
}
