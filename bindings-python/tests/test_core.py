"""CIDs, canonical encoding, the local store: against the JSON vectors shared with Rust."""

import numpy as np
import pytest

import din


def pattern(spec):
    if "utf8" in spec:
        return spec["utf8"].encode()
    modulus = int(spec["pattern"].split("%")[1])
    return (np.arange(spec["length"], dtype=np.int64) % modulus).astype(np.uint8).tobytes()


def test_cid_vectors(vectors):
    for v in vectors("cid.json")["vectors"]:
        assert din.cid(pattern(v["data"])) == v["cid"], v["name"]


def test_cid_rejects_non_bytes():
    with pytest.raises(TypeError):
        din.cid("text is not bytes")  # type: ignore[arg-type]


def test_encoding_vectors_round_trip(vectors):
    kinds = {
        "task_config_default": "task_config",
        "model_ref_mlp": "model_ref",
        "update_record": "update_record",
        "subgroup_assignment": "subgroup_assignment",
        "score_commitment": "score_commitment",
        "score_reveal": "score_reveal",
    }
    for v in vectors("encoding.json")["vectors"]:
        kind = kinds[v["name"]]
        data = bytes.fromhex(v["hex"])
        assert din.encode(kind, v["value"]) == data, v["name"]
        assert din.encode(kind, din.decode(kind, data)) == data


def test_decoding_is_strict(vectors):
    data = bytes.fromhex(vectors("encoding.json")["vectors"][0]["hex"])
    with pytest.raises(din.EncodingError, match="(?i)truncat"):
        din.decode("task_config", data[:-1])
    with pytest.raises(din.EncodingError):
        din.decode("task_config", data + b"\x00")
    with pytest.raises(din.EncodingError):
        din.decode("model_ref", data)
    with pytest.raises(din.InvalidInputError, match="unknown kind"):
        din.decode("nope", data)
    with pytest.raises(din.InvalidInputError):
        din.encode("task_config", {"not": "a config"})


def test_errors_form_one_hierarchy():
    for e in (din.InvalidInputError, din.CidError, din.EncodingError, din.StoreError,
              din.SecAggError, din.ScoringError, din.TrainingError):
        assert issubclass(e, din.DinError)
    assert issubclass(din.DinError, Exception)


def test_local_store(tmp_path):
    store = din.LocalStore(tmp_path / "store")
    data = bytes(range(256)) * 5000  # several chunks
    c = store.put(data)
    assert c == din.cid(data)
    assert store.has(c)
    assert store.get(c) == data
    missing = din.cid(b"never stored")
    assert not store.has(missing)
    with pytest.raises(din.StoreError):
        store.get(missing)
    with pytest.raises(din.CidError):
        store.get("not-a-cid")
