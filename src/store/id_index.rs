//! The ID index of a record file: each record's position in the list, found by its ID, without a
//! copy of the IDs.
//!
//! A `HashMap<String, usize>` kept a second copy of every ID: at 50,000 layers that was 50,000
//! allocations and 4 MB made at each load and freed at exit, a tenth of `cstorage layers`. This
//! table holds only positions; an entry's key is read from the record it points at, so the caller
//! passes the record list to every call, and keeps the two in step (`RecordFile` is the only one).
//!
//! IDs are hashed with foldhash, seeded per process: several times cheaper than SipHash on
//! 64-character IDs, and an ID comes from our own store's files, not from the network.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::record::Record;

pub(super) type NameHasher = foldhash::fast::RandomState;

#[derive(Default)]
pub(super) struct IdIndex {
    positions: HashTable<usize>,
    hasher: foldhash::fast::RandomState,
}

impl IdIndex {
    /// Index `records` afresh: each ID at its position.
    pub fn rebuild<T: Record>(&mut self, records: &[T]) {
        self.positions.clear();
        self.positions.reserve(records.len(), |&p| self.hasher.hash_one(records[p].id()));
        for (position, record) in records.iter().enumerate() {
            self.insert(records, record.id(), position);
        }
    }

    /// The position of the record with exactly this ID.
    pub fn get<T: Record>(&self, records: &[T], id: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(id);
        self.positions.find(hash, |&p| records[p].id() == id).copied()
    }

    /// Index `records[position]`, whose ID is `id` (the record is in `records` already). A
    /// damaged file can list an ID twice: the later record wins, as in c/storage's load.
    pub fn insert<T: Record>(&mut self, records: &[T], id: &str, position: usize) {
        let hasher = &self.hasher;
        let entry = self.positions.entry(
            hasher.hash_one(id),
            |&p| records[p].id() == id,
            |&p| hasher.hash_one(records[p].id()),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(mut earlier) => *earlier.get_mut() = position,
            hashbrown::hash_table::Entry::Vacant(room) => {
                room.insert(position);
            }
        }
    }

    /// Forget the record with this ID, called while it is still at its position in `records`;
    /// the positions after it move down by one, as `Vec::remove` moves the records.
    pub fn remove<T: Record>(&mut self, records: &[T], id: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(id);
        let entry = self.positions.find_entry(hash, |&p| records[p].id() == id).ok()?;
        let (removed, _) = entry.remove();
        for position in self.positions.iter_mut() {
            if *position > removed {
                *position -= 1;
            }
        }
        Some(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Layer;

    fn layers(ids: &[&str]) -> Vec<Layer> {
        ids.iter().map(|id| Layer { id: id.to_string(), ..Default::default() }).collect()
    }

    #[test]
    fn finds_each_id_at_its_position_and_nothing_else() {
        let records = layers(&["aa", "bb", "cc"]);
        let mut index = IdIndex::default();
        index.rebuild(&records);
        assert_eq!(index.get(&records, "aa"), Some(0));
        assert_eq!(index.get(&records, "cc"), Some(2));
        assert_eq!(index.get(&records, "b"), None, "a prefix is not an ID");
        assert_eq!(index.get(&records, "dd"), None);
    }

    #[test]
    fn an_id_listed_twice_points_at_the_later_record_as_in_c_storage() {
        let records = layers(&["aa", "bb", "aa"]);
        let mut index = IdIndex::default();
        index.rebuild(&records);
        assert_eq!(index.get(&records, "aa"), Some(2));
    }

    #[test]
    fn removing_moves_later_positions_down_as_vec_remove_moves_records() {
        let mut records = layers(&["aa", "bb", "cc", "dd"]);
        let mut index = IdIndex::default();
        index.rebuild(&records);
        assert_eq!(index.remove(&records, "bb"), Some(1));
        records.remove(1);
        assert_eq!(index.get(&records, "bb"), None);
        assert_eq!(index.get(&records, "aa"), Some(0));
        assert_eq!(index.get(&records, "cc"), Some(1));
        assert_eq!(index.get(&records, "dd"), Some(2));
        assert_eq!(index.remove(&records, "bb"), None);
    }

    #[test]
    fn grows_past_its_first_room_without_losing_entries() {
        let mut records = Vec::new();
        let mut index = IdIndex::default();
        for i in 0..1000 {
            records.push(Layer { id: format!("layer-{i}"), ..Default::default() });
            let id = records[i].id.clone();
            index.insert(&records, &id, i);
        }
        assert!((0..1000).all(|i| index.get(&records, &format!("layer-{i}")) == Some(i)));
    }
}
