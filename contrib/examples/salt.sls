# SPDX-License-Identifier: MIT
# Salt: cmd.run with stateful reads the --json object's "changed" member.
tproxy-firewalld:
  cmd.run:
    - name: /usr/sbin/tproxy-firewalld --json install --config /etc/kuma/transparent-proxy.yaml
    - stateful: True
