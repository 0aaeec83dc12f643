"""tests/labs.py: the end of ``make test`` says why a lab failed, whichever lab ended last."""

from tests.labs import SUMMARY_LINES, summary

RUN = [
    "tests/system/test_mail.py ....F\n",
    "==== slowest 30 durations ====\n",
    "12.00s call tests/system/test_mail.py::test_a\n",
    "=========================== short test summary info ============================\n",
    "FAILED tests/system/test_mail.py::test_b - AssertionError: no mail\n",
    "XFAIL tests/system/test_load.py::test_load - handshakes\n",
    "============ 1 failed, 4 passed, 1 xfailed in 60.00s ============\n",
]


def test_the_short_summary_and_the_last_line_are_repeated():
    assert summary(RUN) == RUN[3:]


def test_a_run_without_a_short_summary_repeats_its_last_line():
    assert summary(RUN[:3] + RUN[-1:]) == RUN[-1:]
    assert summary([]) == []


def test_a_long_summary_is_cut_but_keeps_its_last_line():
    failed = [f"FAILED tests/system/test_x.py::test_{n}\n" for n in range(200)]
    lines = summary([RUN[3], *failed, RUN[-1]])
    assert len(lines) == SUMMARY_LINES
    assert lines[-1] == RUN[-1]
    assert "more lines" in lines[-2]
