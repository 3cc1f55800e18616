"""The fixtures users get from the dtflw pytest plugin (registered through `pytest11`)."""

from __future__ import annotations

pytest_plugins = ["pytester"]


def test_plugin_fixtures_in_a_user_test_file(pytester):
    pytester.makepyfile(
        """
        from pathlib import Path
        import dtflw

        def test_pipeline(local_flow, fake_dbutils):
            def ingest(args):
                out = Path(args["Orders_out"])
                out.mkdir(parents=True)
                (out / "_SUCCESS").write_text("")
                return "ok"

            fake_dbutils.notebook.register("ingest", ingest)
            assert local_flow.notebook("ingest").output("Orders").run() == "ok"
            assert local_flow["Orders"].endswith("/project/ingest/Orders.parquet")
            assert fake_dbutils.notebook.calls[0].path == "ingest"

        def test_spy(local_flow, fake_dbutils, mocker):
            spy = mocker.spy(fake_dbutils.notebook, "run")
            fake_dbutils.notebook.register("nb", lambda a: None)
            local_flow.notebook("nb").run()
            spy.assert_called_once_with("nb", 0, {})
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_writes_outputs_fixture_in_a_user_test_file(pytester):
    pytester.makepyfile(
        """
        from pathlib import Path

        def test_outputs(local_flow, local_storage, fake_dbutils, writes_outputs):
            fake_dbutils.notebook.register("ingest", writes_outputs())
            fake_dbutils.notebook.register("clean", writes_outputs("done"))
            local_flow.notebook("ingest").output("Raw").run()
            assert local_flow.notebook("clean").input("Raw").output("Clean").run() == "done"
            assert local_storage.exists(local_flow["Clean"])
            assert (Path(local_flow["Raw"]) / "_SUCCESS").is_file()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
