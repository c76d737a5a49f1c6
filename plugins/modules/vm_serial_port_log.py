#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_serial_port_log
short_description: Read what a vSphere VM writes to its file-backed serial port
version_added: 0.1.0
author: vmchannels maintainers (@vmchannels)
description:
  - Reads the output file of a VM's serial port (backing type C(file)), that is the guest's console
    output, boot messages, a kernel panic, the login prompt of a getty on C(ttyS0).
  - The file is read through vCenter's datastore HTTP access (C(/folder/...?dcPath=...&dsName=...))
    with the run's vSphere session (no second login, no ESXi credentials).
  - Reads only what it needs with HTTP Range requests. A tail asks for the last 8 KiB
    (header C(Range) V(bytes=-8192)), whose answer also gives the file's size, then for earlier
    ranges of growing size until it has O(tail_lines) lines or O(max_bytes); a read after O(since) is
    one request. A 1 GiB log costs kilobytes.
  - With O(wait_for), polls the file until a line matches, with B(one request per poll) (header
    C(Range) V(bytes=<offset>-<offset + max_bytes - 1>)) that returns only the bytes written since
    the previous poll.
  - Bytes that are not UTF-8 become the replacement character; they never fail the task.
  - The VM's devices, the datastores it uses and the folders above it are read in one request.
extends_documentation_fragment:
  - vmchannels.vsphere.base_options
  - vmchannels.vsphere.vm_identity
  - vmchannels.vsphere.attributes
attributes:
  check_mode:
    description: Reads only; in check mode O(dest) is not written, and C(changed) says whether it would be.
    support: full
  diff_mode:
    description: Not supported; the content read is in RV(lines).
    support: none
options:
  number:
    description:
      - The number of the serial port (1 is C(Serial port 1)).
      - Optional when the VM has exactly one port with an output file.
      - A port with another backing is refused with a message that says where its output goes (for a
        network port through a Virtual Serial Port Concentrator, on the concentrator).
    type: int
  tail_lines:
    description:
      - How many of the last lines to return. V(0) returns none but RV(size) and RV(next_offset).
      - The default is V(50). Not with O(since).
    type: int
  since:
    description:
      - A byte offset; return only what was written after it. Give it the RV(next_offset) of an
        earlier run to collect the output incrementally (from a loop or a scheduled job).
      - When the file is now shorter than O(since) (truncated, replaced), it is read from its start and
        RV(truncated) is true.
    type: int
  max_bytes:
    description:
      - The most bytes one read fetches, and the most the returned RV(lines) hold. Keeps results small;
        RV(capped) says when it cut a read.
    type: int
    default: 65536
  wait_for:
    description:
      - A Python regular expression. Poll the file, reading only the new bytes each time, until a line
        matches (searched with C(re.search)); the line is returned as RV(matched).
      - The lines read first (the tail, or what follows O(since)) are searched too; give O(since), or
        O(tail_lines=0), to wait for new output only.
      - A poll that reads O(max_bytes) is followed by the next one at once (the guest writes faster than
        a poll reads).
      - "The last line does not need a line break (a prompt such as V(login: ) matches)."
      - On timeout the task fails with the last lines in its message and in RV(lines).
    type: str
  wait_timeout:
    description:
      - Seconds to wait for O(wait_for). The default is V(300). Only with O(wait_for).
      - Named so because O(timeout) is the connection timeout of every module.
    type: float
  poll_interval:
    description: Seconds between two polls of O(wait_for). The default is V(2). Only with O(wait_for).
    type: float
  dest:
    description:
      - Also save what was read (the bytes read, at most O(max_bytes), or the whole file with
        O(dest_whole_file)) to this file, on the host the task runs on (the controller with C(delegate_to) V(localhost)), the
        way M(ansible.builtin.fetch) would.
      - C(changed) is true only when the file's content changed. Check mode does not write it.
    type: path
  dest_whole_file:
    description:
      - Save the whole file to O(dest), read in ranges of 1 MiB, not only what was read. For a large
        file this downloads all of it.
    type: bool
    default: false
notes:
  - Needs, for the user, System.View on the root folder, and Datastore.Browse and
    Datastore.FileManagement (Low level file operations) on the datacenter and the datastore.
  - A file that does not exist yet (the VM has not powered on with the port connected) fails the task
    with C(error_kind=not_found).
  - Runs inside the Ansible worker on the controller like the collection's other modules; with a shared
    session, an HTTP 401 for a session that ended meanwhile is answered with a new login and the
    request sent again.
seealso:
  - module: vmchannels.vsphere.vm_serial_port
  - module: vmchannels.vsphere.vm_serial_port_info
"""

EXAMPLES = r"""
- name: The last 100 lines of web01's serial console (its one port with an output file)
  vmchannels.vsphere.vm_serial_port_log:
    name: web01
    tail_lines: 100
  delegate_to: localhost
  register: console

- name: Wait until the guest shows its login prompt
  vmchannels.vsphere.vm_serial_port_log:
    name: web01
    wait_for: "login:"
    wait_timeout: 600
  delegate_to: localhost

- name: Collect what was written since the previous run
  vmchannels.vsphere.vm_serial_port_log:
    name: web01
    since: "{{ console.next_offset }}"
    dest: "/var/log/consoles/web01.log"
  delegate_to: localhost
"""

RETURN = r"""
vm:
  description: The VM.
  returned: always
  type: dict
  sample: {"name": "web01", "moid": "vm-42", "uuid": "42165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1",
           "instance_uuid": "50165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1", "power_state": "poweredOn"}
number:
  description: The number of the serial port read.
  returned: success
  type: int
  sample: 1
file_path:
  description: The datastore path of the port's output file.
  returned: success
  type: str
  sample: "[datastore1] web01/serial.log"
datacenter_path:
  description: The inventory path of the datacenter the file was read through (C(dcPath)).
  returned: success
  type: str
  sample: "Europe/DC1"
size:
  description: The size of the file in bytes, as the last request saw it.
  returned: success
  type: int
  sample: 1073741824
next_offset:
  description: The byte offset after what was read; give it as O(since) to the next run.
  returned: success
  type: int
  sample: 1073741824
lines:
  description:
    - The lines read, without line breaks, oldest first; at most O(max_bytes) in all.
    - The last one may be incomplete (the guest has not finished it); a later read with O(since)
      continues it.
  returned: success
  type: list
  elements: str
  sample: ["Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)"]
matched:
  description: The first line that matched O(wait_for); null without O(wait_for).
  returned: success
  type: str
  sample: "web01 login: "
truncated:
  description: The file was shorter than O(since) (or became shorter while waiting), so it was read from its start.
  returned: success
  type: bool
  sample: false
capped:
  description: O(max_bytes) cut the read or the returned lines.
  returned: success
  type: bool
  sample: false
polls:
  description: How many polls O(wait_for) made after the first read (one HTTP request each).
  returned: with wait_for
  type: int
  sample: 3
requests:
  description: The HTTP requests sent to read the file.
  returned: success
  type: int
  sample: 1
bytes_read:
  description: The bytes of the file received (the cost of the read).
  returned: success
  type: int
  sample: 8192
dest:
  description: The file O(dest) written (or, in check mode, that would be).
  returned: with dest
  type: str
  sample: /var/log/consoles/web01.log
"""

from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.log import run_log, validate
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.ansible_module import (
    build_module,
    fail_on_errors,
    run,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import (
    VM_IDENTITY_MODULE_KWARGS,
    vm_identity_argument_spec,
    vm_identity_errors,
)


def main():
    spec = vm_identity_argument_spec()
    spec.update(
        number=dict(type="int"),
        tail_lines=dict(type="int"),
        since=dict(type="int"),
        max_bytes=dict(type="int", default=65536),
        wait_for=dict(type="str"),
        wait_timeout=dict(type="float"),
        poll_interval=dict(type="float"),
        dest=dict(type="path"),
        dest_whole_file=dict(type="bool", default=False),
    )
    kwargs = dict(VM_IDENTITY_MODULE_KWARGS)
    kwargs["mutually_exclusive"] = list(kwargs["mutually_exclusive"]) + [("tail_lines", "since")]
    module = build_module(spec, supports_check_mode=True, **kwargs)
    fail_on_errors(module, vm_identity_errors(module.params) + validate(module.params))
    run(module, run_log)


if __name__ == "__main__":
    main()
