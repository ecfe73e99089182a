#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A long-lived D-Bus client of firewalld for the tests: the calls firewall-cmd makes, without
its start-up (~0.4 s a call), so that a test can make hundreds of them or race one against the
tool at a chosen moment.

Runs under the system python (dbus-python, as firewall-cmd does) with DBUS_SYSTEM_BUS_ADDRESS
pointing at the sandbox's bus. Protocol: one JSON object a line on stdin,
{"path": ..., "iface": ..., "method": ..., "args": [...], "sig": "..."}; one JSON line back,
{"ok": true, "result": ...} or {"ok": false, "error": "name: message"}.
"""
import json
import sys

import dbus

BUS = "org.fedoraproject.FirewallD1"


def plain(v):
    """dbus-python values as JSON-able Python values."""
    if isinstance(v, (dbus.Array, list, dbus.Struct, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (dbus.Dictionary, dict)):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (dbus.Boolean, bool)):
        return bool(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath, str)):
        return str(v)
    if isinstance(v, (dbus.Double, float)):
        return float(v)
    return int(v)


def main():
    bus = dbus.SystemBus()
    print(json.dumps({"ok": True, "result": "ready"}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            # looked up for each call: a restarted firewalld has a new unique name
            obj = bus.get_object(BUS, req["path"], introspect=False)
            method = obj.get_dbus_method(req["method"], req["iface"])
            res = method(*req.get("args", []), signature=req.get("sig", ""), timeout=60)
            out = {"ok": True, "result": plain(res) if res is not None else None}
        except dbus.exceptions.DBusException as e:
            out = {"ok": False, "error": "%s: %s" % (e.get_dbus_name(), e.get_dbus_message())}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
