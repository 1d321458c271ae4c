"""The package as installed: its stubs describe the native module exactly, and it is typed."""

from __future__ import annotations

import ast
from pathlib import Path

import s3io
from s3io import _native

PACKAGE = Path(s3io.__file__).parent


def stub_names(cls: str) -> set[str]:
    tree = ast.parse((PACKAGE / "_native.pyi").read_text())
    (node,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls]
    names = set()
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(item.name)
        elif isinstance(item, ast.AnnAssign):
            names.add(item.target.id)
    return names - {"__init__"}


def public(cls) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_")}


def test_the_stubs_name_every_method_and_attribute_of_the_native_classes():
    for cls in ["Client", "DownloadOutput", "UploadOutput", "CopyOutput", "ObjectSummary", "ObjectInfo", "ListPage"]:
        assert stub_names(cls) == public(getattr(_native, cls)), cls


def test_the_package_is_typed_and_versioned():
    assert (PACKAGE / "py.typed").exists()
    assert s3io.__version__ == _native.__version__
    assert all(hasattr(s3io, name) for name in s3io.__all__)


def test_the_async_client_mirrors_the_blocking_one():
    blocking = {n for n in public(_native.Client) if not n.endswith("_async")}
    blocking -= {"list_page", "create_bucket", "delete_bucket", "list_multipart_uploads"}
    asynchronous = public(s3io.AsyncClient) - {"sync"}
    assert blocking | {"list", "list_pages"} == asynchronous
    assert {"list", "list_pages"} <= public(s3io.Client)
