//! `IpfsStore` against a real IPFS node (js-ipfs 0.66.1 over the Kubo RPC API), and
//! against a lying node that serves wrong bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{Read, Write};
use std::net::TcpListener;

use din::store::{IpfsStore, JsIpfs};
use din_core::content::cid_of;
use din_core::{Error, Store};

fn node() -> (JsIpfs, IpfsStore) {
    let node = JsIpfs::spawn().expect("js-ipfs (npm ci in tests/js-ipfs)");
    let store = IpfsStore::new(node.api());
    (node, store)
}

fn pattern(len: usize, modulus: usize) -> Vec<u8> {
    (0..len).map(|i| (i % modulus) as u8).collect()
}

#[test]
fn put_get_has_remove_with_kubo_compatible_cids() {
    let (_node, store) = node();
    assert!(!store.version().unwrap().is_empty());
    // The shared CID vectors' shapes: tiny, one chunk + 1 byte (two leaves), 1 MB.
    for data in [
        b"hello din\n".to_vec(),
        pattern(262_145, 251),
        pattern(1_000_000, 251),
    ] {
        let cid = store.put(&data).unwrap();
        assert_eq!(cid, cid_of(&data), "the node's CID equals din-core's");
        assert!(store.has(&cid).unwrap());
        assert_eq!(store.get(&cid).unwrap(), data);
    }
    assert_eq!(
        store.put(b"hello din\n").unwrap().to_string(),
        "bafkreianmtrqcluipj3k7kf727xeqbhyosd4vw4facgiakbrlq24i527wy"
    );
    let cid = cid_of(b"hello din\n");
    store.remove(&cid).unwrap();
    assert!(!store.has(&cid).unwrap());
    assert!(matches!(
        store.remove(&cid),
        Err(Error::BlockNotFound { .. })
    ));
}

#[test]
fn missing_content_and_dead_nodes_are_typed_errors() {
    let (_node, store) = node();
    let store = store
        .with_get_limit(10_000_000)
        .with_block_timeout(std::time::Duration::from_secs(2));
    let missing = cid_of(b"never stored anywhere");
    let err = store.get(&missing).unwrap_err();
    assert!(matches!(err, Error::BlockNotFound { .. }), "{err}");
    let dead = IpfsStore::new("http://127.0.0.1:9");
    assert!(matches!(dead.put(b"x"), Err(Error::Transport { .. })));
    assert!(matches!(dead.get(&missing), Err(Error::Transport { .. })));
}

/// A fake node that answers every `block/get` with the same wrong bytes.
fn lying_node() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = b"these are not the bytes you asked for";
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_node_serving_wrong_bytes_is_caught() {
    let store = IpfsStore::new(&lying_node());
    let cid = cid_of(b"hello din\n");
    match store.get(&cid) {
        Err(Error::CorruptBlock { cid: c, .. }) => assert_eq!(c, cid.to_string()),
        other => panic!("expected CorruptBlock, got {other:?}"),
    }
    // And `put` refuses a node whose CID differs from din-core's.
    assert!(store.put(b"hello din\n").is_err());
}
