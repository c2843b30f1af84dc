//! A role's state directory: the secret survives a restart (and is private), records
//! round-trip, and damaged files are typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use din::roles::StateDir;

#[test]
fn the_secret_survives_a_restart_and_is_private() {
    let tmp = tempfile::tempdir().unwrap();
    let a = StateDir::open(tmp.path().join("p")).unwrap();
    let first = a.secret().unwrap().to_bytes();
    let again = StateDir::open(tmp.path().join("p")).unwrap();
    assert_eq!(*again.secret().unwrap().to_bytes(), *first);
    let other = StateDir::open(tmp.path().join("q")).unwrap();
    assert_ne!(*other.secret().unwrap().to_bytes(), *first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(tmp.path().join("p/secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "secret.key is readable by others: {mode:o}"
        );
    }
}

#[test]
fn records_round_trip_and_damage_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let d = StateDir::open(tmp.path()).unwrap();
    let none: Option<u64> = d.load("task.json").unwrap();
    assert_eq!(none, None);
    d.save("task.json", &Some(7u64)).unwrap();
    assert_eq!(d.load::<Option<u64>>("task.json").unwrap(), Some(7));
    std::fs::write(tmp.path().join("task.json"), b"{not json").unwrap();
    assert!(matches!(
        d.load::<Option<u64>>("task.json"),
        Err(din::Error::State { .. })
    ));
    std::fs::write(tmp.path().join("secret.key"), [1u8; 31]).unwrap();
    let err = d.secret().err().expect("a 31-byte secret is refused");
    assert!(err.to_string().contains("not 32"), "{err}");
    assert_eq!(d.get_bytes("absent").unwrap(), None);
    d.put_bytes("round-1.update", b"model").unwrap();
    assert_eq!(d.get_bytes("round-1.update").unwrap().unwrap(), b"model");
}
