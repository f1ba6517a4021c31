//! Per-image directories for callers' own files (c/storage 1.57's ImageDirectory and
//! ImageRunDirectory): `G/<driver>-images/<id>/userdata` and `R/<driver>-images/<id>/userdata`.

use std::path::PathBuf;

use super::Store;
use crate::error::Result;
use crate::fs_tree::create_private_dir;

impl Store {
    /// `G/<driver>-images/<id>/userdata` of the image `key` names (ID, name or ID prefix; an
    /// image of an additional image store gets its directory here, in this store), created on
    /// first use.
    ///
    /// c/storage 1.57 does not look the image up: it makes and returns that path for whatever
    /// `key` is (a name, a prefix, an unknown ID, "" or "../x"), so its directories pile up
    /// under names its garbage collection never removes. Here the key must name an image.
    pub fn image_directory(&self, key: &str) -> Result<PathBuf> {
        let image = self.image(key)?;
        let dir = self.images_dir().join(&image.id).join("userdata");
        create_private_dir(&dir)?;
        Ok(dir)
    }

    /// `R/<driver>-images/<id>/userdata`, as `image_directory`; lost with the run root.
    pub fn image_run_directory(&self, key: &str) -> Result<PathBuf> {
        let image = self.image(key)?;
        let dir = self
            .run_root
            .join(format!("{}-images", self.driver.name()))
            .join(&image.id)
            .join("userdata");
        create_private_dir(&dir)?;
        Ok(dir)
    }
}
