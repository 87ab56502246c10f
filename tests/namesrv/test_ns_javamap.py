"""Java hashCode / HashMap order emulation (expected values taken from a real JVM)."""

from __future__ import annotations

from rmqlite.namesrv.javamap import JavaHashMap, java_hash, java_set_order, java_string_hash, table_size_for


def test_string_hash_matches_java() -> None:
    assert java_string_hash("") == 0
    assert java_string_hash("hello") == 99162322
    assert java_string_hash("polygenelubricants") == -2147483648
    assert java_string_hash("\U0001F600") == 1772899  # surrogate pair (value from a JVM)


def test_long_hash() -> None:
    assert java_hash(0) == 0 and java_hash(1) == 1
    assert java_hash(1 << 32) == 1
    assert java_hash(-1) == 0


def test_table_size_for() -> None:
    assert [table_size_for(n) for n in (1, 2, 3, 16, 17, 1024)] == [1, 2, 4, 16, 32, 1024]


def test_hashset_order_matches_real_namesrv() -> None:
    # GET_ALL_TOPIC_LIST_FROM_NAMESERVER of a real 4.9.4 namesrv after registering these topics
    inserted = [f"T{i}_r2" for i in range(1, 14)] + ["TBW102_r2", "Unit_r2", "UnitSub_r2",
                                                     "T5_r2", "X1_r2"]
    topics = JavaHashMap(1024)
    for name in inserted:
        topics[name] = True
    assert java_set_order(topics.java_keys()) == [
        "T8_r2", "T9_r2", "T6_r2", "T7_r2", "T5_r2", "T4_r2", "X1_r2", "T11_r2", "T12_r2",
        "T13_r2", "T10_r2", "TBW102_r2", "T1_r2", "T2_r2", "T3_r2", "UnitSub_r2", "Unit_r2"]


def test_capacity_grows_and_never_shrinks() -> None:
    m = JavaHashMap()
    for i in range(13):
        m[i] = i
    assert m.capacity == 32
    for i in range(13):
        del m[i]
    assert m.capacity == 32
    m[17] = 1
    m[1] = 1
    assert m.java_keys() == [1, 17]  # bucket 1 vs 17 in a 32-slot table


def test_reput_keeps_position_and_clone_resizes() -> None:
    m = JavaHashMap()
    m[16] = "a"
    m[0] = "b"
    m[16] = "c"  # same bucket 0 in 16 slots: insertion order, re-put keeps place
    assert m.java_keys() == [16, 0]
    clone = m.java_clone()
    assert clone.capacity == 4 and clone.java_keys() == [16, 0]
    assert dict(clone.java_items()) == {16: "c", 0: "b"}
