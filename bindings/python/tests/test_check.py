"""check, repair and gc on a real vfs store damaged with real files: a layer's directory removed,
a directory no record owns, a tar-split a killed import left."""
import io
import os
from datetime import timedelta

import pytest

import cstorage
from cstorage import CheckProblem, CheckSection
from conftest import layer_tar


def test_check_finds_damage_repair_and_gc_remove_it(store):
    base = store.import_layer(io.BytesIO(layer_tar({"etc/motd": b"hi\n"})))
    store.create_image(base.id, names=["kept"])
    report = store.check(full=True)
    assert report.clean and report.sections == {}

    lone = store.create_layer()
    driver_dir = os.path.join(store.graph_root, "vfs", "dir")
    os.rmdir(os.path.join(driver_dir, lone.id))
    stray = "5" * 64
    os.mkdir(os.path.join(driver_dir, stray))

    report = store.check(max_age=timedelta(hours=1))
    assert not report.clean
    assert list(report.sections) == [CheckSection.LAYERS]
    found = {record.id: record.problems for record in report.sections[CheckSection.LAYERS]}
    assert found.keys() == {lone.id, stray}
    [missing], [unowned] = found[lone.id], found[stray]
    assert missing.kind == CheckProblem.LAYER_DIRECTORY_MISSING and missing.message
    assert unowned.kind == CheckProblem.LAYER_UNACCOUNTED and "not accounted for" in unowned.message
    assert lone.id in report.json and '"ROLayers":{}' in report.json

    actions = store.repair(report)
    assert len(actions) == 2 and any(lone.id in action for action in actions)
    with pytest.raises(cstorage.LayerUnknown):
        store.layer(lone.id)
    assert not os.path.exists(os.path.join(driver_dir, stray))
    assert store.check(full=True, max_age=0).clean

    leftover = os.path.join(store.graph_root, "vfs-layers", "7" * 64 + ".tar-split.gz.tmp")
    open(leftover, "w").close()
    assert store.gc() == [leftover]
    assert store.gc() == []
    assert store.image("kept").top_layer == base.id


def test_check_and_repair_refuse_bad_arguments(store):
    with pytest.raises(cstorage.InvalidArgument):
        store.check(max_age=-1)
    with pytest.raises(cstorage.NullParameter):
        store.repair(None)
    store.close()
    with pytest.raises(cstorage.StoreClosed):
        store.gc()
