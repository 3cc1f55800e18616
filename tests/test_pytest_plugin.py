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
