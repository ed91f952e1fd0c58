"""Build hook: the policy tables live at the top of the repository (tables/, the team's layout) and
ship inside the package as payroll/tables/ so a wheel or a non-editable install finds them
(payroll/policy.py looks there first). Everything else is configured in pyproject.toml."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TABLES = Path(__file__).resolve().parent / "tables"


class BuildWithTables(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "payroll" / "tables"
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(TABLES.iterdir()):
            if path.suffix in (".csv", ".md"):
                shutil.copy2(path, target / path.name)


setup(cmdclass={"build_py": BuildWithTables})
