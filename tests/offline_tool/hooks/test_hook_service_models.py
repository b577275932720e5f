"""Hook shared-loader: the botocore Sessions of a process share one data loader per data path, so each
service model is decoded once; a Session given another data path keeps a loader of its own."""

import botocore.session


def test_sessions_share_one_loader_and_the_models_it_decoded(emulation) -> None:
    first, second = botocore.session.Session(), botocore.session.Session()

    assert first.get_component("data_loader") is second.get_component("data_loader")
    assert first.get_service_data("kinesis") is second.get_service_data("kinesis")


def test_a_session_with_another_data_path_has_its_own_loader(emulation, tmp_path, monkeypatch) -> None:
    shared = botocore.session.Session().get_component("data_loader")
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    own = botocore.session.Session().get_component("data_loader")

    assert own is not shared
    assert str(tmp_path) in own.search_paths
