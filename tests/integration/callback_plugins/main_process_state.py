# Test-only callback: at the end of a run, in ansible-playbook's main process, writes to the file
# named by MAIN_PROCESS_STATE_FILE what the collection's action plugins prepared there before the
# workers were forked: the modules and pyVmomi imported, the pyVmomi types created, the session store.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: main_process_state
type: aggregate
short_description: record what the main process preloaded (tests only)
description: Writes the main process's preloaded state to the file named by MAIN_PROCESS_STATE_FILE.
"""

import json
import os
import sys

from ansible.plugins.callback import CallbackBase

PREFIX = "ansible_collections.vmchannels.vsphere.plugins."


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "main_process_state"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("MAIN_PROCESS_STATE_FILE")
        if not path:
            return
        sessions = sys.modules.get(PREFIX + "plugin_utils.sessions")
        types = sys.modules.get(PREFIX + "plugin_utils.pyvmomi_types")
        state = {
            "pid": os.getpid(),
            "modules": sorted(n[len(PREFIX + "modules."):] for n in sys.modules if n.startswith(PREFIX + "modules.")),
            "pyvmomi": "pyVmomi" in sys.modules,
            "types_created": bool(types and types._created),
            "store_pid": getattr(sessions, "_store_pid", None),
            "store_directory": getattr(getattr(sessions, "_store", None), "directory", None),
        }
        with open(path, "w") as handle:
            json.dump(state, handle)
