"""check, repair and gc on a real vfs store damaged with real files: a layer's directory removed,
a directory no record owns, a tar-split a killed import left."""
import io
import os
from datetime import timedelta

import pytest

import cstorage
from cstorage import CheckProblem, CheckSection, CheckStep
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


def test_check_progress_hears_each_step_and_can_cancel(store):
    base = store.import_layer(io.BytesIO(layer_tar({"etc/motd": b"hi\n"})))
    store.create_image(base.id, names=["kept"])
    stray = os.path.join(store.graph_root, "vfs", "dir", "5" * 64)
    os.mkdir(stray)

    heard = []
    report = store.check(full=True, max_age=3600, progress=lambda *event: heard.append(event))
    assert report.json == store.check(full=True, max_age=3600).json
    assert [r.id for r in report.sections[CheckSection.LAYERS]] == ["5" * 64]
    # Each step once, in order, from 0 to its total (one layer, one image, two directories).
    totals = {CheckStep.LAYERS: 1, CheckStep.LAYER_CONTENTS: 1, CheckStep.READ_ONLY_LAYERS: 0,
              CheckStep.IMAGES: 1, CheckStep.READ_ONLY_IMAGES: 0, CheckStep.CONTAINERS: 0,
              CheckStep.UNACCOUNTED_LAYER_DIRS: 2}
    assert list(dict.fromkeys(step for step, _, _ in heard)) == list(totals)
    assert all(isinstance(step, CheckStep) for step, _, _ in heard)
    assert heard == sorted(heard), "steps and counts never go back"
    for step, total in totals.items():
        counts = [(done, of) for s, done, of in heard if s == step]
        assert counts[0] == (0, total) and counts[-1] == (total, total), (step, counts)

    # False cancels where it is; an exception the callback raises is raised by check.
    heard.clear()

    def cancel_at_images(step, done, total):
        heard.append((step, done, total))
        return step != CheckStep.IMAGES

    with pytest.raises(cstorage.Cancelled):
        store.check(full=True, progress=cancel_at_images)
    assert heard[-1] == (CheckStep.IMAGES, 0, 1)

    def fails(*_):
        raise KeyError("from the callback")

    with pytest.raises(KeyError):
        store.check(progress=fails)
    assert os.path.isdir(stray), "a cancelled check changed the store"
