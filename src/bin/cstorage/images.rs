//! Image subcommands: images, image, create-image, images-by-digest, get-image-dir,
//! get-image-run-dir.

use cstorage::{ErrorKind, Image, ImageOptions};

use crate::flag_inputs::metadata_from_flags;
use crate::invocation::Invocation;
use crate::output;
use crate::record_output::report_new_image;

/// The listing `images` and `images-by-digest` print: ID, then (unless quiet) names, digests
/// and big-data keys.
fn print_list(images: &[Image], quiet: bool) {
    let mut text = String::new();
    for image in images {
        text.push_str(&format!("{}\n", image.id));
        if quiet {
            continue;
        }
        for name in &image.names {
            text.push_str(&format!("\tname: {name}\n"));
        }
        for digest in &image.digests {
            text.push_str(&format!("\tdigest: {digest}\n"));
        }
        for key in &image.big_data_names {
            text.push_str(&format!("\tdata: {key}\n"));
        }
    }
    output::stdout_str(&text);
}

pub fn images(inv: &Invocation) -> i32 {
    let images = match inv.store.images() {
        Ok(images) => images,
        Err(e) => {
            errln!("{e}");
            return 1;
        }
    };
    if inv.json() {
        // c/storage returns a nil list for a store without images, which Go encodes as null.
        if images.is_empty() {
            outln!("null");
        } else {
            output::json(&images);
        }
    } else {
        print_list(&images, inv.flags.get_bool("q"));
    }
    0
}

pub fn images_by_digest(inv: &Invocation) -> i32 {
    let digest = &inv.args[0];
    let images = match inv.store.images_by_digest(digest) {
        Ok(images) => images,
        Err(e) if e.kind() == ErrorKind::InvalidArgument => {
            errln!("{digest}: {e}");
            return 1;
        }
        Err(e) => {
            errln!("{e}");
            return 1;
        }
    };
    if inv.json() {
        output::json(&images);
    } else {
        print_list(&images, inv.flags.get_bool("q"));
    }
    0
}

/// `image ID...`: the images found, with their size; the exit status says whether all were.
pub fn image(inv: &Invocation) -> i32 {
    let matched: Vec<Image> = inv.args.iter().filter_map(|arg| inv.store.image(arg).ok()).collect();
    if inv.json() {
        output::json(&matched);
    } else {
        for image in &matched {
            outln!("ID: {}", image.id);
            for name in &image.names {
                outln!("Name: {name}");
            }
            outln!("Top Layer: {}", image.top_layer);
            for layer in &image.mapped_top_layers {
                outln!("Top Layer: {layer}");
            }
            for digest in &image.digests {
                outln!("Digest: {digest}");
            }
            for key in &image.big_data_names {
                outln!("Data: {key}");
            }
            match inv.store.image_size(&image.id) {
                Ok(size) => outln!("Size: {size}"),
                Err(e) => outln!("Size unknown: {e}"),
            }
            if image.read_only {
                outln!("Read Only: true");
            }
        }
    }
    if matched.len() == inv.args.len() {
        0
    } else {
        1
    }
}

pub fn create_image(inv: &Invocation) -> i32 {
    let metadata = match metadata_from_flags(inv) {
        Ok(m) => m,
        Err(message) => {
            errln!("{message}");
            return 1;
        }
    };
    let text = |flag| {
        let value = inv.flags.get_text(flag);
        (!value.is_empty()).then(|| value.to_string())
    };
    let created = match text("-created")
        .map(|t| cstorage::timestamp::Timestamp::parse(&t).ok_or(t))
        .transpose()
    {
        Ok(created) => created,
        Err(t) => {
            errln!(
                "invalid --created {t:?}: expected an RFC 3339 time such as 2024-01-02T03:04:05Z"
            );
            return 1;
        }
    };
    let options = ImageOptions {
        created,
        id: text("i"),
        names: inv.flags.get_list("n").to_vec(),
        metadata,
        digest: text("d"),
        ..Default::default()
    };
    report_new_image(inv, inv.store.create_image(inv.args.first().map(String::as_str), &options))
}

/// `get-image-dir ID`: print (creating it) the image's data directory (containers-storage 1.57).
pub fn get_image_dir(inv: &Invocation) -> i32 {
    output::print_dir(inv.store.image_directory(&inv.args[0]))
}

/// `get-image-run-dir ID`: print (creating it) the image's runtime directory.
pub fn get_image_run_dir(inv: &Invocation) -> i32 {
    output::print_dir(inv.store.image_run_directory(&inv.args[0]))
}
