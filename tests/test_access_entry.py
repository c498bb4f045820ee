"""The access-control entry point names every piece, and each name leads to real code."""

import access


def test_every_piece_the_access_module_names_can_be_imported_from_it():
    for name in dir(access):
        assert getattr(access, name) is not None, name
    assert access.sees_everything(access.SYSTEM)
    assert not access.sees_everything(None)
