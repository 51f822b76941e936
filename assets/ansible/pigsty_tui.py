# pigsty-tui stdout callback for ansible-playbook.
#
# Prints exactly what Ansible's `default` callback prints, plus one
# machine-readable line per event, prefixed by "@@pigsty-tui@@ " and followed
# by a JSON object on the same line. pigsty-tui uploads this file to the admin
# node and runs a playbook with
#   ANSIBLE_CALLBACK_PLUGINS=<dir of this file> ANSIBLE_STDOUT_CALLBACK=pigsty_tui
# then draws plays -> tasks -> per-host results from the event lines while the
# other lines stay the raw output. Nothing here changes what the playbook does.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
    name: pigsty_tui
    type: stdout
    short_description: default output plus JSON event lines for pigsty-tui
    description:
      - The default callback's output, and one "@@pigsty-tui@@ {json}" line per
        play, task, host result and final stats, for pigsty-tui's progress view.
    extends_documentation_fragment:
      - default_callback
    requirements:
      - set as stdout callback in configuration
"""

import json
import os
import time

from ansible.plugins.callback.default import CallbackModule as DefaultCallback

MARKER = "@@pigsty-tui@@ "
MAX_TEXT = 4000


def _text(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = "\n".join(str(v) for v in value)
    value = str(value)
    if len(value) > MAX_TEXT:
        value = value[:MAX_TEXT] + "..."
    return value


def _tail(value, lines=8):
    value = _text(value)
    if not value:
        return None
    return "\n".join(value.rstrip().splitlines()[-lines:])


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "pigsty_tui"

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._pt_task_start = {}
        self._pt_host_start = {}

    # -- emitting ---------------------------------------------------------
    def _pt_emit(self, event, **fields):
        fields["event"] = event
        fields["ts"] = round(time.time(), 3)
        line = MARKER + json.dumps(fields, sort_keys=True, default=str)
        self._display.display(line)

    def _pt_result(self, status, result, ignore_errors=False):
        host = result._host.get_name()
        task = result._task
        uuid = getattr(task, "_uuid", None)
        now = time.time()
        start = self._pt_host_start.pop((host, uuid), None) or self._pt_task_start.get(uuid)
        res = result._result if isinstance(result._result, dict) else {}
        fields = dict(
            host=host,
            task=task.get_name(),
            uuid=uuid,
            status=status,
            duration=round(now - start, 3) if start else None,
        )
        delegated = res.get("_ansible_delegated_vars") or {}
        if delegated.get("ansible_host"):
            fields["delegated_to"] = delegated.get("ansible_host")
        if status in ("failed", "unreachable"):
            fields["msg"] = _text(res.get("msg"))
            fields["stderr"] = _tail(res.get("stderr") or res.get("module_stderr"))
            fields["stdout"] = _tail(res.get("stdout") or res.get("module_stdout"))
            fields["rc"] = res.get("rc")
            fields["ignore_errors"] = bool(ignore_errors)
        elif status == "skipped":
            fields["msg"] = _text(res.get("skip_reason"))
        self._pt_emit("result", **fields)

    # -- playbook, plays, tasks ---------------------------------------------
    def v2_playbook_on_start(self, playbook):
        super(CallbackModule, self).v2_playbook_on_start(playbook)
        self._pt_emit("playbook_start", playbook=os.path.basename(playbook._file_name))

    def v2_playbook_on_play_start(self, play):
        super(CallbackModule, self).v2_playbook_on_play_start(play)
        hosts = play.hosts if isinstance(play.hosts, list) else [play.hosts]
        self._pt_emit("play_start", name=play.get_name().strip(), hosts=[str(h) for h in hosts])

    def v2_playbook_on_no_hosts_matched(self):
        super(CallbackModule, self).v2_playbook_on_no_hosts_matched()
        self._pt_emit("no_hosts_matched")

    def _pt_task(self, task, handler):
        uuid = getattr(task, "_uuid", None)
        self._pt_task_start[uuid] = time.time()
        self._pt_emit("task_start", name=task.get_name().strip(), uuid=uuid,
                      action=getattr(task, "action", None), handler=handler)

    def v2_playbook_on_task_start(self, task, is_conditional):
        super(CallbackModule, self).v2_playbook_on_task_start(task, is_conditional)
        self._pt_task(task, False)

    def v2_playbook_on_handler_task_start(self, task):
        super(CallbackModule, self).v2_playbook_on_handler_task_start(task)
        self._pt_task(task, True)

    def v2_runner_on_start(self, host, task):
        self._pt_host_start[(host.get_name(), getattr(task, "_uuid", None))] = time.time()
        parent = super(CallbackModule, self)
        if hasattr(parent, "v2_runner_on_start"):
            parent.v2_runner_on_start(host, task)

    # -- results --------------------------------------------------------------
    def v2_runner_on_ok(self, result):
        super(CallbackModule, self).v2_runner_on_ok(result)
        changed = isinstance(result._result, dict) and result._result.get("changed", False)
        self._pt_result("changed" if changed else "ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        super(CallbackModule, self).v2_runner_on_failed(result, ignore_errors=ignore_errors)
        self._pt_result("failed", result, ignore_errors=ignore_errors)

    def v2_runner_on_unreachable(self, result):
        super(CallbackModule, self).v2_runner_on_unreachable(result)
        self._pt_result("unreachable", result)

    def v2_runner_on_skipped(self, result):
        super(CallbackModule, self).v2_runner_on_skipped(result)
        self._pt_result("skipped", result)

    def v2_playbook_on_stats(self, stats):
        super(CallbackModule, self).v2_playbook_on_stats(stats)
        hosts = {}
        for h in sorted(stats.processed.keys()):
            s = stats.summarize(h)
            hosts[h] = dict(
                ok=s.get("ok", 0),
                changed=s.get("changed", 0),
                failed=s.get("failures", 0),
                unreachable=s.get("unreachable", 0),
                skipped=s.get("skipped", 0),
                rescued=s.get("rescued", 0),
                ignored=s.get("ignored", 0),
            )
        self._pt_emit("stats", hosts=hosts)
