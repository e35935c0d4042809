"""Interchange formats: one pure module per format, no Django.

Exporters turn a published `AdvisoryDocument` (advisory.py) into CVE JSON 5.1 (cve5.py),
OSV (osv.py), CSAF 2.0 VEX (csaf.py) and AVID (avid.py) documents. Importers turn garak
(garak.py), JailbreakBench (jailbreakbench.py), AVID (avid_import.py) and CVE (cve_import.py)
records into draft `ReportDocument`s, each with the faithful copy of its record (source.py);
each importer says what it skipped and why (results.py).
"""
