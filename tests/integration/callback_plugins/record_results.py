# Test-only callback: appends every task result of a playbook run as one JSON line to the file
# named by RECORD_RESULTS_FILE, so tests assert on real module results, not on screen output.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: record_results
type: aggregate
short_description: record task results as JSON lines (tests only)
description: Appends each task result to the file named by RECORD_RESULTS_FILE.
"""

import json
import os

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_results"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        path = os.environ.get("RECORD_RESULTS_FILE")
        if not path:
            return
        entry = {
            "task": to_text(result._task.get_name()),
            "action": to_text(result._task.action),
            "host": to_text(result._host.get_name()),
            "status": status,
            "result": result._result,
        }
        with open(path, "a") as handle:
            handle.write(json.dumps(entry, default=to_text) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
