//! The filesystem store: round trips, verified reads, removal, concurrency, CAR files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use din_core::content::{self, car::CarWriter};
use din_core::{Error, FsStore, Store};

fn blob(len: usize, k: usize) -> Vec<u8> {
    (0..len).map(|i| (i % k) as u8).collect()
}

fn store() -> (tempfile::TempDir, FsStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path().join("store")).unwrap();
    (dir, store)
}

fn block_files(store: &FsStore) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for shard in fs::read_dir(store.path().join("blocks")).unwrap() {
        for f in fs::read_dir(shard.unwrap().path()).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out.sort();
    out
}

fn block_file(store: &FsStore, cid: &din_core::Cid) -> PathBuf {
    let name = cid.to_string();
    block_files(store)
        .into_iter()
        .find(|p| p.file_name().unwrap().to_str() == Some(name.as_str()))
        .unwrap()
}

#[test]
fn put_get_round_trip_small_and_multi_chunk() {
    let (_d, store) = store();
    for data in [Vec::new(), b"hello din\n".to_vec(), blob(1_000_000, 251)] {
        let cid = store.put(&data).unwrap();
        assert_eq!(cid, content::cid_of(&data));
        assert!(store.has(&cid).unwrap());
        assert!(store.get(&cid).unwrap() == data);
        // Putting again is harmless.
        assert_eq!(store.put(&data).unwrap(), cid);
    }
    // 1 MB = 4 leaves + 1 node; empty and "hello" are one block each.
    assert_eq!(block_files(&store).len(), 7);
}

#[test]
fn corrupted_block_is_an_error_not_data() {
    let (_d, store) = store();
    let data = blob(600_000, 13);
    let cid = store.put(&data).unwrap();
    let leaf = content::cid_of(&data[..content::CHUNK_SIZE]);
    let path = block_file(&store, &leaf);
    let mut bytes = fs::read(&path).unwrap();
    bytes[1000] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    match store.get(&cid) {
        Err(Error::CorruptBlock { cid: bad, .. }) => assert_eq!(bad, leaf.to_string()),
        other => panic!("expected CorruptBlock, got {:?}", other.map(|v| v.len())),
    }
    // Putting the content again repairs the damaged block.
    store.put(&data).unwrap();
    assert!(store.get(&cid).unwrap() == data);
}

#[test]
fn truncated_block_is_an_error_not_data() {
    let (_d, store) = store();
    let cid = store.put(b"hello din\n").unwrap();
    let path = block_file(&store, &cid);
    fs::write(&path, b"hello").unwrap();
    let err = store.get(&cid).unwrap_err();
    assert!(matches!(err, Error::CorruptBlock { .. }), "{err}");
    assert!(err.to_string().contains("5 bytes"), "{err}");
}

#[test]
fn missing_block_is_an_error() {
    let (_d, store) = store();
    let data = blob(700_000, 7);
    let cid = store.put(&data).unwrap();
    let leaf = content::cid_of(&data[content::CHUNK_SIZE..2 * content::CHUNK_SIZE]);
    fs::remove_file(block_file(&store, &leaf)).unwrap();
    match store.get(&cid) {
        Err(Error::BlockNotFound { cid: missing }) => assert_eq!(missing, leaf.to_string()),
        other => panic!("expected BlockNotFound, got {:?}", other.map(|v| v.len())),
    }
    let never = content::cid_of(b"never stored");
    assert!(matches!(
        store.get(&never),
        Err(Error::BlockNotFound { .. })
    ));
    assert!(!store.has(&never).unwrap());
}

#[test]
fn remove_keeps_blocks_other_content_uses() {
    let (_d, store) = store();
    // Two blobs sharing their first two chunks.
    let a = blob(3 * content::CHUNK_SIZE, 251);
    let mut b = a.clone();
    b.truncate(2 * content::CHUNK_SIZE + 10);
    let (ca, cb) = (store.put(&a).unwrap(), store.put(&b).unwrap());
    store.remove(&ca).unwrap();
    assert!(!store.has(&ca).unwrap());
    assert!(store.get(&cb).unwrap() == b);
    assert!(store.get(&ca).is_err());
    store.remove(&cb).unwrap();
    assert!(block_files(&store).is_empty());
    assert!(matches!(
        store.remove(&cb),
        Err(Error::BlockNotFound { .. })
    ));
}

#[test]
fn concurrent_writers_are_safe() {
    let (_d, store) = store();
    let dir = store.path().to_path_buf();
    let data = Arc::new(blob(2_000_000, 241));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (dir, data) = (dir.clone(), Arc::clone(&data));
            std::thread::spawn(move || {
                // Each thread opens its own handle, as separate processes would.
                let store = FsStore::open(&dir).unwrap();
                let shared = store.put(&data).unwrap();
                let own = store.put(format!("writer {i}").as_bytes()).unwrap();
                (shared, own)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let shared = results[0].0;
    assert!(results.iter().all(|r| r.0 == shared));
    assert!(store.get(&shared).unwrap() == *data);
    for (i, (_, own)) in results.iter().enumerate() {
        assert_eq!(store.get(own).unwrap(), format!("writer {i}").as_bytes());
    }
    assert_eq!(fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
}

#[test]
fn half_written_temporary_files_never_become_blocks() {
    let (_d, store) = store();
    // What a crash mid-write leaves: a partial file in tmp/, no block, no pin.
    fs::write(store.path().join("tmp/12345-0-0"), b"hel").unwrap();
    let cid = content::cid_of(b"hello din\n");
    assert!(!store.has(&cid).unwrap());
    assert!(matches!(store.get(&cid), Err(Error::BlockNotFound { .. })));
    store.put(b"hello din\n").unwrap();
    assert_eq!(store.get(&cid).unwrap(), b"hello din\n");
}

#[test]
fn gc_removes_unpinned_left_overs() {
    let (_d, store) = store();
    let kept = store.put(b"kept").unwrap();
    // A crash between writing blocks and recording the root leaves unpinned blocks.
    let orphan = b"orphan block";
    store.put_block(&content::cid_of(orphan), orphan).unwrap();
    assert_eq!(store.gc().unwrap(), 1);
    assert_eq!(store.get(&kept).unwrap(), b"kept");
}

#[test]
fn put_block_rejects_bytes_that_do_not_match() {
    let (_d, store) = store();
    let cid = content::cid_of(b"one");
    assert!(matches!(
        store.put_block(&cid, b"two"),
        Err(Error::CorruptBlock { .. })
    ));
    assert!(!store.has_block(&cid).unwrap());
}

#[test]
fn car_export_import_round_trip() {
    let (_d, a) = store();
    let data = blob(1_000_000, 251);
    let small = b"hello din\n".to_vec();
    let roots = vec![a.put(&data).unwrap(), a.put(&small).unwrap()];
    let car = a.export_car(&roots, Vec::new()).unwrap();
    // Header + 5 blocks of the big blob + 1 small block.
    let (_d2, b) = store();
    assert_eq!(b.import_car(car.as_slice()).unwrap(), roots);
    assert!(b.has(&roots[0]).unwrap() && b.has(&roots[1]).unwrap());
    assert!(b.get(&roots[0]).unwrap() == data);
    assert_eq!(b.get(&roots[1]).unwrap(), small);
    // Exporting from the importer gives the same bytes.
    assert_eq!(b.export_car(&roots, Vec::new()).unwrap(), car);
}

#[test]
fn car_with_a_corrupt_block_is_rejected() {
    let (_d, a) = store();
    let cid = a.put(b"hello din\n").unwrap();
    let mut car = a.export_car(&[cid], Vec::new()).unwrap();
    let last = car.len() - 1;
    car[last] ^= 0xff;
    let (_d2, b) = store();
    assert!(matches!(
        b.import_car(car.as_slice()),
        Err(Error::CorruptBlock { .. })
    ));
    assert!(!b.has(&cid).unwrap());
}

#[test]
fn truncated_car_is_rejected_at_every_length() {
    let (_d, a) = store();
    let cid = a.put(&blob(300_000, 9)).unwrap();
    let car = a.export_car(&[cid], Vec::new()).unwrap();
    let (_d2, b) = store();
    for len in (0..car.len()).step_by(997).chain([car.len() - 1]) {
        let err = b.import_car(&car[..len]).unwrap_err();
        assert!(
            matches!(err, Error::MalformedCar(_)),
            "length {len} of {}: {err}",
            car.len()
        );
    }
    assert!(!b.has(&cid).unwrap());
}

#[test]
fn car_missing_a_block_is_rejected() {
    let data = blob(600_000, 5);
    let root = content::cid_of(&data);
    let mut car = CarWriter::new(Vec::new(), &[root]).unwrap();
    let mut skipped = false;
    content::build_dag(&data, |cid, bytes| {
        if cid.codec() == content::RAW && !skipped {
            skipped = true; // leave out the first leaf
            Ok(())
        } else {
            car.write_block(cid, bytes)
        }
    })
    .unwrap();
    let car = car.finish().unwrap();
    let (_d, b) = store();
    match b.import_car(car.as_slice()) {
        Err(Error::MalformedCar(msg)) => assert!(msg.contains("incomplete"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert!(!b.has(&root).unwrap());
}

#[test]
fn car_headers_other_than_v1_are_rejected() {
    let (_d, b) = store();
    // {"roots": [], "version": 2}
    let mut v2 = vec![0xa2, 0x65];
    v2.extend_from_slice(b"roots");
    v2.push(0x80);
    v2.push(0x67);
    v2.extend_from_slice(b"version");
    v2.push(0x02);
    let mut car = vec![v2.len() as u8];
    car.extend_from_slice(&v2);
    match b.import_car(car.as_slice()) {
        Err(Error::MalformedCar(msg)) => assert!(msg.contains("CARv2"), "{msg}"),
        other => panic!("{other:?}"),
    }
    for junk in [&b""[..], &[0x00], &[0x05, 0xa1, 0x00], &[0xff; 12]] {
        assert!(
            matches!(b.import_car(junk), Err(Error::MalformedCar(_))),
            "{junk:?}"
        );
    }
}

#[test]
fn memory_store_behaves_like_the_disk_store() {
    use din_core::{MemStore, Store};
    let mem = MemStore::new();
    let dir = tempfile::tempdir().unwrap();
    let disk = din_core::FsStore::open(dir.path()).unwrap();
    for data in [
        Vec::new(),
        b"hello din\n".to_vec(),
        (0..1_000_000u32).map(|i| (i % 251) as u8).collect(),
    ] {
        let c = mem.put(&data).unwrap();
        assert_eq!(c, disk.put(&data).unwrap());
        assert_eq!(c, din_core::content::cid_of(&data));
        assert!(mem.has(&c).unwrap());
        assert_eq!(mem.get(&c).unwrap(), data);
    }
    let c = din_core::content::cid_of(b"hello din\n");
    mem.remove(&c).unwrap();
    assert!(!mem.has(&c).unwrap());
    assert!(matches!(
        mem.remove(&c),
        Err(din_core::Error::BlockNotFound { .. })
    ));
    let missing = din_core::content::cid_of(b"not here");
    assert!(matches!(
        mem.get(&missing),
        Err(din_core::Error::BlockNotFound { .. })
    ));
    assert!(mem.block_count() >= 5);
}
