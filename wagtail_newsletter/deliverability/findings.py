"""What one DNS check found: a status, the problems (codes with their figures), notes, and the records seen.

Codes, not sentences, are stored, so the admin words them in the reader's language (``check_texts``).
"""

from dataclasses import dataclass, field

OK = "ok"
MISSING = "missing"
WRONG = "wrong"
UNKNOWN = "unknown"  # the question could not be answered: try again
FAILED = (MISSING, WRONG)


@dataclass
class Finding:
    status: str
    problems: list = field(default_factory=list)  # [(code, {params})], empty when OK
    notes: list = field(default_factory=list)  # [(code, {params})], advice that does not fail the check
    found: list = field(default_factory=list)  # the records as published

    def to_dict(self):
        return {
            "status": self.status,
            "problems": [[code, params] for code, params in self.problems],
            "notes": [[code, params] for code, params in self.notes],
            "found": list(self.found),
        }


def ok(found=(), notes=()):
    return Finding(OK, notes=list(notes), found=list(found))


def problem(status, code, found=(), **params):
    return Finding(status, problems=[(code, params)], found=list(found))


def unknown(error):
    return Finding(UNKNOWN, problems=[("dns-unavailable", {"error": str(error)[:300]})])
