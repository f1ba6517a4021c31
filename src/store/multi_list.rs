//! One consistent view of the whole store (c/storage 1.56's MultiList): layers, images and
//! containers read under their three locks held together, so no record of one list refers to
//! a record another process removed between two separate listings.

use super::images::with_digests;
use super::Store;
use crate::error::Result;
use crate::lock::LockKind;
use crate::record::{Container, Image, Layer};

/// The store's records at one moment: ours in creation order, then those of the additional
/// image stores (layers and images only).
#[derive(Debug, Clone, Default)]
pub struct StoreListing {
    pub layers: Vec<Layer>,
    pub images: Vec<Image>,
    pub containers: Vec<Container>,
}

impl Store {
    pub fn multi_list(&self) -> Result<StoreListing> {
        let super::AllRecords {
            layers,
            images,
            containers,
            layers_guard,
            images_guard,
            containers_guard,
        } = self.lock_all(LockKind::Shared)?;
        let mut listing = StoreListing {
            layers: layers.all(),
            images: images.records().iter().map(with_digests).collect(),
            containers: containers.records().to_vec(),
        };
        // The additional stores are read while ours are still locked: c/storage locks them
        // all for MultiList too.
        listing.layers.extend(self.additional.layers()?);
        listing.images.extend(self.additional.images_matching(|_| true)?);
        drop((containers_guard, images_guard, layers_guard));
        Ok(listing)
    }
}
