"""The names the docs tell users to import come from the package itself, and load lazily."""

from __future__ import annotations

import subprocess
import sys

import vidlabel


def test_every_public_name_resolves_to_the_object_its_module_defines():
    assert sorted(vidlabel.__all__) == sorted(vidlabel._EXPORTS)
    for name in vidlabel.__all__:
        value = getattr(vidlabel, name)
        assert getattr(value, "__name__", name) == name or not callable(value), name
    assert vidlabel.ReviewSession.__module__ == "vidlabel.review.session"


def test_an_unknown_name_is_an_attribute_error():
    try:
        vidlabel.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("vidlabel.NoSuchThing resolved")


def test_importing_the_package_loads_no_heavy_library():
    code = ("import sys, vidlabel; "
            "print(sorted(m for m in ('torch', 'ultralytics', 'cv2', 'PyQt6', 'av', 'scipy', "
            "'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_prelabel_function_is_not_shadowed_by_a_subpackage():
    import vidlabel.prelabelling.pipeline  # noqa: F401  (a submodule import sets package attributes)
    from vidlabel import prelabel

    assert callable(prelabel) and prelabel.__module__ == "vidlabel.prelabelling.pipeline"
