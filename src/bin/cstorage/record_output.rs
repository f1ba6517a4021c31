//! Output that subcommands of different groups print alike: a new image (create-image and
//! import-oci), and the parent-owners JSON (layer-parent-owners and container-parent-owners).

use cstorage::Image;

use crate::invocation::Invocation;
use crate::output;

/// What create-image (and import-oci) print: the image as JSON, or its ID and names; or the error.
pub fn report_new_image(inv: &Invocation, result: cstorage::Result<Image>) -> i32 {
    match result {
        Ok(image) => {
            if inv.json() {
                output::json(&image);
            } else {
                outln!("{}", image.id);
                for name in &image.names {
                    outln!("\t{name}");
                }
            }
            0
        }
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}

/// The JSON of layer-parent-owners and container-parent-owners; Go prints an empty list as
/// `null`.
#[derive(serde::Serialize)]
pub struct ParentOwners<'a> {
    #[serde(rename = "ID")]
    id: &'a str,
    #[serde(rename = "UIDs")]
    uids: Option<Vec<u32>>,
    #[serde(rename = "GIDs")]
    gids: Option<Vec<u32>>,
}

impl<'a> ParentOwners<'a> {
    pub fn new(id: &'a str, uids: Vec<u32>, gids: Vec<u32>) -> Self {
        ParentOwners {
            id,
            uids: (!uids.is_empty()).then_some(uids),
            gids: (!gids.is_empty()).then_some(gids),
        }
    }
}
