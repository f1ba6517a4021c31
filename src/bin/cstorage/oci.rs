//! import-oci and export-oci: images in and out as OCI image layouts (`DIR[:TAG]`, as skopeo's
//! `oci:` transport names them), through `cstorage::oci`.

use std::path::Path;

use cstorage::oci::{self, ExportCompression, ExportOptions, ImportOptions, Platform};

use crate::invocation::Invocation;
use crate::record_output::report_new_image;

/// "DIR:TAG" into (DIR, Some(TAG)); a colon inside the last path component's directory part
/// stays in DIR ("./a:b/c" has no tag).
fn split_reference(arg: &str) -> (&str, Option<&str>) {
    match arg.rsplit_once(':') {
        Some((dir, tag)) if !dir.is_empty() && !tag.contains('/') => {
            (dir, Some(tag).filter(|t| !t.is_empty()))
        }
        _ => (arg, None),
    }
}

pub fn import_oci(inv: &Invocation) -> i32 {
    let (dir, tag) = split_reference(&inv.args[0]);
    let platform = match inv.flags.get_text("-platform") {
        "" => None,
        text => match Platform::parse(text) {
            Ok(p) => Some(p),
            Err(e) => {
                errln!("{e}");
                return 1;
            }
        },
    };
    let mut names = inv.flags.get_list("n").to_vec();
    if let Err(message) = trailing_names(&inv.args[1..], &mut names) {
        errln!("{message}");
        return 1;
    }
    let options = ImportOptions { platform, names };
    let mut progress = crate::progress::Progress::new("importing");
    let mut report = |p: &oci::ImportProgress| {
        progress.update(p.done);
        true
    };
    let result = oci::import(inv.store, Path::new(dir), tag, &options, Some(&mut report));
    progress.finish();
    report_new_image(inv, result)
}

/// Names given after the layout (`import-oci DIR -n a -n b`), which the flag parser, stopping at
/// the first argument as Go's does, leaves as arguments.
fn trailing_names(args: &[String], names: &mut Vec<String>) -> Result<(), String> {
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if let Some(name) = arg.strip_prefix("--name=").or_else(|| arg.strip_prefix("-n=")) {
            names.push(name.to_string());
        } else if matches!(arg.as_str(), "-n" | "--name" | "-name") {
            names.push(rest.next().ok_or_else(|| format!("{arg} needs a name"))?.clone());
        } else {
            return Err(format!(
                "unexpected argument {arg:?}: only one layout, then -n NAME, may be given"
            ));
        }
    }
    Ok(())
}

pub fn export_oci(inv: &Invocation) -> i32 {
    let (dir, tag) = split_reference(&inv.args[1]);
    let compression = match inv.flags.get_text("-compression") {
        "" | "as-stored" => ExportCompression::AsStored,
        "none" | "uncompressed" => ExportCompression::Uncompressed,
        "gzip" => ExportCompression::Gzip,
        "zstd" => ExportCompression::Zstd,
        other => {
            errln!("unknown compression {other:?} (as-stored, none, gzip or zstd)");
            return 1;
        }
    };
    match oci::export(inv.store, &inv.args[0], Path::new(dir), tag, &ExportOptions { compression })
    {
        Ok(digest) => {
            outln!("{digest}");
            0
        }
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_reference;

    #[test]
    fn splits_dir_and_tag() {
        assert_eq!(split_reference("/tmp/l:latest"), ("/tmp/l", Some("latest")));
        assert_eq!(split_reference("/tmp/l"), ("/tmp/l", None));
        assert_eq!(split_reference("./a:b/c"), ("./a:b/c", None));
        assert_eq!(split_reference("/tmp/l:"), ("/tmp/l", None));
    }
}
