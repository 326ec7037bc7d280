"""The verdict table that opens REPORT.md, and its copy in README.md."""

from qmlrepro.report.claims import PairedDifference, not_testable
from qmlrepro.report.section import ReportSection, SectionBody
from qmlrepro.report.writer import (
    README_BEGIN,
    README_END,
    update_readme_verdicts,
    verdict_table,
)


class _Section(ReportSection):
    paper_id, title, claim = "toy", "Toy paper", "the toy claim"

    def body(self, results, plots):  # pragma: no cover - not called here
        raise NotImplementedError


def test_each_typed_verdict_is_a_row_and_untyped_sections_point_to_their_prose():
    claim = PairedDifference(statement="ours beats the control", paper_value=6.0, unit=" pp")
    firm = claim.evaluate({0: 8.0, 1: 9.0, 2: 10.0, 3: 9.5}, {0: 2.0, 1: 3.0, 2: 4.0, 3: 3.0})
    smoke = claim.evaluate({0: 8.0, 1: 9.0}, {0: 2.0, 1: 3.0})
    other = type("Other", (_Section,), {"paper_id": "other", "title": "Other paper"})()
    ghost = type("Ghost", (_Section,), {"paper_id": "ghost", "title": "Ghost"})()
    bodies = {
        "toy": SectionBody("text", verdicts=[firm, smoke, not_testable("x", "no device")]),
        "other": SectionBody("text", verdict="prose"),
    }
    table = verdict_table([_Section(), other, ghost], bodies).splitlines()
    assert table[0] == "| paper | claim | verdict | ours | paper's | why |"
    rows = table[2:]
    assert len(rows) == 5
    assert "**reproduced**" in rows[0] and "ours beats the control" in rows[0]
    assert "+6.00" in rows[0]  # the paper's value beside ours
    assert "**too few seeds**" in rows[1] and "reproduced**" not in rows[1]
    assert "**not testable here**" in rows[2]
    assert "see its section" in rows[3] and "not run" in rows[4]
    assert "[toy](#toy-paper)" in rows[0]


def test_readme_gets_the_reports_table_with_links_into_the_report(tmp_path):
    report, readme = tmp_path / "REPORT.md", tmp_path / "README.md"
    report.write_text("# r\n\n## Verdicts\n\n| a | b |\n|---|---|\n| [T](#t) | x |\n\n## More\n")
    readme.write_text(f"intro\n{README_BEGIN}\nold\n{README_END}\nrest\n")
    assert update_readme_verdicts(report, readme)
    text = readme.read_text()
    assert "old" not in text and "| [T](results/REPORT.md#t) | x |" in text
    assert text.startswith("intro\n") and text.endswith("rest\n")
    readme.write_text("no markers\n")
    assert not update_readme_verdicts(report, readme) and readme.read_text() == "no markers\n"
